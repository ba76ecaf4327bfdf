/*
 * accesslog — see accesslog.h.
 */
#include "gateway/accesslog.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/jsonw.h"
#include "util/log.h"
#include "util/strbuf.h"
#include "util/timeutil.h"

struct accesslog {
	int fd;
	bool own_fd;
	enum accesslog_format format;
};

struct accesslog *accesslog_open(const char *path, enum accesslog_format format, int *failed)
{
	*failed = 0;
	if (!path)
		return NULL;
	int fd = STDOUT_FILENO;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (fd < 0) {
			log_error("--access-log %s: %s", path, strerror(errno));
			*failed = 1;
			return NULL;
		}
	}
	struct accesslog *log = xcalloc(1, sizeof(*log));
	log->fd = fd;
	log->own_fd = fd != STDOUT_FILENO;
	log->format = format;
	return log;
}

void accesslog_close(struct accesslog *log)
{
	if (!log)
		return;
	if (log->own_fd)
		close(log->fd);
	free(log);
}

void accesslog_write(struct accesslog *log, const struct access_entry *e)
{
	if (!log)
		return;
	char ts[RFC3339_LEN + 1];
	time_format_rfc3339(time_now_ms(), ts);
	struct strbuf sb = STRBUF_INIT;
	if (log->format == ACCESSLOG_JSON) {
		strbuf_append_char(&sb, '{');
		jsonw_field_str(&sb, "time", ts, 1);
		strbuf_append_char(&sb, ',');
		jsonw_key(&sb, "request_id");
		jsonw_string(&sb, e->request_id, e->request_id_len);
		strbuf_append_char(&sb, ',');
		jsonw_key(&sb, "method");
		jsonw_string(&sb, e->method, e->method_len);
		jsonw_field_str(&sb, "route", e->route, 0);
		jsonw_field_u64(&sb, "status", (uint64_t)e->status, 0);
		jsonw_field_u64(&sb, "bytes", e->bytes, 0);
		jsonw_field_u64(&sb, "duration_us", e->duration_us, 0);
		if (e->user_id)
			jsonw_field_id(&sb, "user_id", e->user_id, 0);
		else
			strbuf_append_str(&sb, ",\"user_id\":null");
		jsonw_field_str(&sb, "ip", e->client_ip, 0);
		strbuf_append(&sb, "}\n", 2);
	} else {
		strbuf_appendf(&sb, "%s %.*s %.*s %s %d %llu %lluus user=%llu ip=%s\n", ts,
			       (int)e->request_id_len, e->request_id, (int)e->method_len, e->method,
			       e->route, e->status, (unsigned long long)e->bytes,
			       (unsigned long long)e->duration_us, (unsigned long long)e->user_id,
			       e->client_ip);
	}
	ssize_t rc = write(log->fd, sb.data, sb.len);
	(void)rc; /* logging never fails a request */
	strbuf_deinit(&sb);
}
