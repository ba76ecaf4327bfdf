/*
 * httpc — see httpc.h. libcurl does the HTTP; this file only adapts it to
 * the one call chirp needs, with the ETag and Content-Length it reads.
 */
#include "util/httpc.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void init_curl(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	strbuf_append(arg, p, size * n);
	return size * n;
}

/* Keeps the ETag header's value, quotes and spaces taken off. */
static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_response *res = arg;
	size_t len = size * n;
	static const char name[] = "etag:";
	if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
		const char *v = p + sizeof(name) - 1, *end = p + len;
		while (v < end && (*v == ' ' || *v == '\t' || *v == '"'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
				   end[-1] == '"'))
			end--;
		snprintf(res->etag, sizeof(res->etag), "%.*s", (int)(end - v), v);
	}
	return len;
}

/* "Name: value\r\n" lines into a curl list; no Expect: 100-continue. */
static struct curl_slist *header_list(const char *headers)
{
	struct curl_slist *list = curl_slist_append(NULL, "Expect:");
	for (const char *p = headers; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[1024];
		if (len && len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			list = curl_slist_append(list, line);
		}
		p += len + (eol ? 2 : 0);
	}
	return list;
}

int httpc_request(const char *method, const char *url, const char *headers, const void *body,
		  size_t len, uint64_t timeout_ms, int head_only, struct httpc_response *res,
		  struct strbuf *err)
{
	memset(res, 0, sizeof(*res));
	strbuf_init(&res->body);
	pthread_once(&curl_once, init_curl);
	CURL *h = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
	if (!h) {
		strbuf_append_str(err, "libcurl failed to initialise");
		return -1;
	}
	struct curl_slist *list = header_list(headers);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* worker threads: no SIGALRM */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, res);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &res->body);
	if (head_only)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body && !head_only) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		long status = 0;
		curl_off_t length = -1;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
		res->status = (int)status;
		res->content_length = length > 0 ? (uint64_t)length : res->body.len;
	} else {
		strbuf_appendf(err, "%s", curl_easy_strerror(rc));
	}
	curl_slist_free_all(list);
	curl_easy_cleanup(h);
	return rc == CURLE_OK ? 0 : -1;
}

void httpc_response_deinit(struct httpc_response *res)
{
	strbuf_deinit(&res->body);
}
