/*
 * test_blob — the blob port's local adapter and chirp's signed URLs
 * (media/blob_sign.h): which keys exist at all (no path escapes),
 * signatures that bind method, key, expiry and size limit, expiry, URLs
 * that check, and durable puts that read back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/range.h"
#include "media/blob.h"

static const uint8_t secret[BLOB_SECRET_LEN] = "0123456789abcdef0123456789abcdef";

static bool valid(const char *k)
{
	return blob_key_valid(k, strlen(k));
}

static void test_keys(void **state)
{
	(void)state;
	assert_true(valid("914640772257546240.orig"));
	assert_true(valid("1.p1"));
	assert_true(valid("1.p99999"));
	assert_true(valid("1.jpg"));
	assert_true(valid("1_t.png"));
	const char *bad[] = {"", ".orig", "../1.orig", "1.orig/..", "1/2.jpg", "1.p0", "1.p01",
			     "1.p123456", "1.jpeg", "1.orig.tmp-ab", "123456789012345678901.jpg",
			     "1.JPG", "1_t.orig", "blob.key", "chirp.db", "1.p", "1.px"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid(bad[i]));
	/* an embedded NUL does not shorten the key */
	assert_false(blob_key_valid("1.jpg\0/../x", 11));
}

static enum blob_sig_result check(const char *method, const char *key, uint64_t expires,
				  uint64_t max, const char *sig, uint64_t now)
{
	return blob_sig_check(secret, method, key, strlen(key), expires, max, sig, strlen(sig), now);
}

static void test_signatures(void **state)
{
	(void)state;
	char sig[BLOB_SIG_HEX + 1];
	blob_sign(secret, "PUT", "7.orig", 6, 1000, 500, sig);
	assert_int_equal(strlen(sig), 64);
	assert_int_equal(check("PUT", "7.orig", 1000, 500, sig, 999), BLOB_SIG_OK);
	assert_int_equal(check("PUT", "7.orig", 1000, 500, sig, 1000), BLOB_SIG_OK);
	assert_int_equal(check("PUT", "7.orig", 1000, 500, sig, 1001), BLOB_SIG_EXPIRED);
	/* every signed field matters */
	assert_int_equal(check("GET", "7.orig", 1000, 500, sig, 0), BLOB_SIG_BAD);
	assert_int_equal(check("PUT", "8.orig", 1000, 500, sig, 0), BLOB_SIG_BAD);
	assert_int_equal(check("PUT", "7.orig", 1001, 500, sig, 0), BLOB_SIG_BAD);
	assert_int_equal(check("PUT", "7.orig", 1000, 501, sig, 0), BLOB_SIG_BAD);
	/* a forgery that is also expired is reported as a forgery */
	char forged[BLOB_SIG_HEX + 1];
	memcpy(forged, sig, sizeof(forged));
	forged[10] = forged[10] == 'a' ? 'b' : 'a';
	assert_int_equal(check("PUT", "7.orig", 1000, 500, forged, 5000), BLOB_SIG_BAD);
	/* malformed signatures */
	assert_int_equal(check("PUT", "7.orig", 1000, 500, "", 0), BLOB_SIG_BAD);
	assert_int_equal(check("PUT", "7.orig", 1000, 500, "zz", 0), BLOB_SIG_BAD);
	char upper[BLOB_SIG_HEX + 2];
	snprintf(upper, sizeof(upper), "%s0", sig);
	assert_int_equal(check("PUT", "7.orig", 1000, 500, upper, 0), BLOB_SIG_BAD);
	/* fields cannot be shifted into each other: key "7.orig" expiring at
	 * 1000 is not key "7.orig\n1" expiring at 000 */
	char other[BLOB_SIG_HEX + 1];
	blob_sign(secret, "PUT", "7.orig", 6, 10, 0, other);
	assert_string_not_equal(other, sig);
	/* another secret, another signature */
	uint8_t s2[BLOB_SECRET_LEN];
	memcpy(s2, secret, sizeof(s2));
	s2[0] ^= 1;
	assert_int_equal(blob_sig_check(s2, "PUT", "7.orig", 6, 1000, 500, sig, 64, 0), BLOB_SIG_BAD);
}

/* The URLs blob_sign_url builds are the ones blob_sig_check accepts: what
 * api/blobs.c reads back from their query is what was signed. */
static void test_signed_urls_check(void **state)
{
	(void)state;
	struct strbuf url = STRBUF_INIT;
	unsigned long long expires, max;
	char sig[BLOB_SIG_HEX + 1];
	blob_sign_url(&url, secret, "", "GET", "9_t.png", 3000, 0);
	assert_int_equal(sscanf(url.data, "/blobs/9_t.png?expires=%llu&sig=%64s", &expires, sig), 2);
	assert_int_equal(expires, 3000);
	assert_int_equal(check("GET", "9_t.png", expires, 0, sig, 2999), BLOB_SIG_OK);
	assert_int_equal(check("GET", "9_t.png", expires, 0, sig, 3001), BLOB_SIG_EXPIRED);
	strbuf_reset(&url);
	blob_sign_url(&url, secret, "https://cdn.example", "PUT", "9.p2", 3000, 1234);
	assert_int_equal(sscanf(url.data, "https://cdn.example/blobs/9.p2?expires=%llu&max=%llu&sig=%64s",
				&expires, &max, sig),
			 3);
	assert_int_equal(max, 1234);
	assert_int_equal(check("PUT", "9.p2", expires, max, sig, 0), BLOB_SIG_OK);
	/* the URL's size limit is signed: a bigger one is a forgery */
	assert_int_equal(check("PUT", "9.p2", expires, max + 1, sig, 0), BLOB_SIG_BAD);
	strbuf_deinit(&url);
}

/* A signed URL's query counts in one spelling only: the one blob_sign_url
 * writes. Every other spelling of the same values is refused, so an edge
 * cache keyed on the URI cannot be walked around (issue 19, item 12). */
static void test_query_canonical_form_only(void **state)
{
	(void)state;
	const char *h = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char good_get[128], good_put[160];
	snprintf(good_get, sizeof good_get, "expires=3000&sig=%s", h);
	snprintf(good_put, sizeof good_put, "expires=3000&max=1234&sig=%s", h);
	uint64_t e, m;
	const char *sig;
	assert_true(blob_query_parse("GET", good_get, strlen(good_get), &e, &m, &sig));
	assert_int_equal(e, 3000);
	assert_int_equal(m, 0);
	assert_ptr_equal(sig, good_get + strlen(good_get) - 64);
	assert_true(blob_query_parse("PUT", good_put, strlen(good_put), &e, &m, &sig));
	assert_int_equal(e, 3000);
	assert_int_equal(m, 1234);
	/* what blob_sign_url writes is read back */
	struct strbuf url = STRBUF_INIT;
	blob_sign_url(&url, secret, "", "PUT", "9.p2", 3000, 1234);
	const char *q = strchr(url.data, '?') + 1;
	assert_true(blob_query_parse("PUT", q, strlen(q), &e, &m, &sig));
	assert_int_equal(check("PUT", "9.p2", e, m, sig, 0), BLOB_SIG_OK);
	strbuf_deinit(&url);

	char upper[128];
	snprintf(upper, sizeof upper, "expires=3000&sig=%s", h);
	for (char *c = upper + 17; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	char bad[12][200];
	int n = 0;
	snprintf(bad[n++], 200, "%s", upper);                          /* upper-case hex */
	snprintf(bad[n++], 200, "expires=03000&sig=%s", h);            /* leading zero */
	snprintf(bad[n++], 200, "sig=%s&expires=3000", h);            /* reordered */
	snprintf(bad[n++], 200, "expires=3000&sig=%s&x=1", h);        /* unknown, after */
	snprintf(bad[n++], 200, "x=1&expires=3000&sig=%s", h);        /* unknown, before */
	snprintf(bad[n++], 200, "expires=3000&expires=3000&sig=%s", h); /* repeated */
	snprintf(bad[n++], 200, "expires=3000&sig=%s&sig=%s", h, h);  /* repeated */
	snprintf(bad[n++], 200, "expires=3000&sig=%s&", h);           /* a trailing & */
	snprintf(bad[n++], 200, "expires=3000&sig=%.63s", h);         /* short */
	snprintf(bad[n++], 200, "expires=3000&max=0&sig=%s", h);      /* max on a GET */
	snprintf(bad[n++], 200, "expires=%%33000&sig=%s", h);         /* percent-encoded */
	snprintf(bad[n++], 200, "expires=99999999999999999999&sig=%s", h); /* overflow */
	for (int i = 0; i < n; i++)
		assert_false(blob_query_parse("GET", bad[i], strlen(bad[i]), &e, &m, &sig));
	/* a PUT needs max, in its place */
	assert_false(blob_query_parse("PUT", good_get, strlen(good_get), &e, &m, &sig));
	char swapped[160];
	snprintf(swapped, sizeof swapped, "max=1234&expires=3000&sig=%s", h);
	assert_false(blob_query_parse("PUT", swapped, strlen(swapped), &e, &m, &sig));
	assert_false(blob_query_parse("GET", "", 0, &e, &m, &sig));
}

static void test_dir_put_read_stat_remove(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-blob-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/blobs", dir);
	struct strbuf err = STRBUF_INIT;
	struct blob_options opt = {.dir = sub, .secret = secret, .base_url = "http://edge"};
	struct blob *b = blob_dir_ops.open(&opt, &err);
	assert_non_null(b);

	char etag[BLOB_ETAG_LEN + 1], etag2[BLOB_ETAG_LEN + 1];
	assert_int_equal(b->ops->put(b, "5.orig", "hello", 5, etag), BLOB_OK);
	assert_int_equal(strlen(etag), BLOB_ETAG_LEN);
	uint64_t size;
	assert_int_equal(b->ops->stat(b, "5.orig", &size, etag2), BLOB_OK);
	assert_int_equal(size, 5);
	assert_string_equal(etag, etag2);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(b->ops->read(b, "5.orig", 100, &out), BLOB_OK);
	assert_int_equal(out.len, 5);
	assert_memory_equal(out.data, "hello", 5);
	strbuf_reset(&out);
	assert_int_equal(b->ops->read(b, "5.orig", 4, &out), BLOB_TOO_LARGE);
	/* overwrite is whole */
	assert_int_equal(b->ops->put(b, "5.orig", "bye", 3, etag2), BLOB_OK);
	assert_string_not_equal(etag, etag2);
	strbuf_reset(&out);
	assert_int_equal(b->ops->read(b, "5.orig", 100, &out), BLOB_OK);
	assert_int_equal(out.len, 3);
	/* no temporary files left behind */
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/5.orig", sub);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	/* keys that are not keys never touch the disk */
	assert_int_equal(b->ops->put(b, "../escape", "x", 1, NULL), BLOB_BAD_KEY);
	snprintf(path, sizeof(path), "%s/escape", dir);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(b->ops->read(b, "../blobs/5.orig", 100, &out), BLOB_BAD_KEY);

	assert_int_equal(b->ops->remove(b, "5.orig"), BLOB_OK);
	assert_int_equal(b->ops->remove(b, "5.orig"), BLOB_OK); /* missing: fine */
	assert_int_equal(b->ops->stat(b, "5.orig", &size, NULL), BLOB_NOT_FOUND);

	/* presigned URLs carry what the checker needs */
	struct strbuf url = STRBUF_INIT;
	b->ops->presign(b, "PUT", "5.orig", 2000, 77, &url);
	char sig[BLOB_SIG_HEX + 1];
	blob_sign(secret, "PUT", "5.orig", 6, 2000, 77, sig);
	char want[256];
	snprintf(want, sizeof(want), "http://edge/blobs/5.orig?expires=2000&max=77&sig=%s", sig);
	assert_string_equal(url.data, want);
	strbuf_reset(&url);
	b->ops->presign(b, "GET", "5.jpg", 2000, 0, &url);
	assert_null(strstr(url.data, "max="));

	strbuf_deinit(&url);
	strbuf_deinit(&out);
	strbuf_deinit(&err);
	b->ops->close(b);
	rmdir(sub);
	rmdir(dir);
}

static void test_dir_multipart(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-mp-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct strbuf err = STRBUF_INIT;
	struct blob_options opt = {.dir = dir, .secret = secret, .base_url = ""};
	struct blob *b = blob_dir_ops.open(&opt, &err);
	char upload[BLOB_UPLOAD_ID_MAX + 1];
	assert_int_equal(b->ops->multipart_begin(b, "9.orig", upload), BLOB_OK);
	assert_string_equal(upload, "");
	assert_int_equal(b->ops->multipart_begin(b, "9.jpg", upload), BLOB_BAD_KEY);
	struct strbuf url = STRBUF_INIT;
	b->ops->presign_part(b, "9.orig", upload, 2, 100, 5, &url);
	assert_non_null(strstr(url.data, "/blobs/9.p2?expires=100&max=5&sig="));

	char etags[2][BLOB_ETAG_LEN + 1];
	uint64_t sizes[2] = {3, 2};
	unsigned bad;
	assert_int_equal(b->ops->put(b, "9.p1", "abc", 3, etags[0]), BLOB_OK);
	/* part 2 missing */
	strcpy(etags[1], etags[0]);
	assert_int_equal(b->ops->multipart_complete(b, "9.orig", "", 2, etags, sizes, &bad),
			 BLOB_NOT_FOUND);
	assert_int_equal(bad, 2);
	assert_int_equal(b->ops->put(b, "9.p2", "de", 2, etags[1]), BLOB_OK);
	/* a wrong ETag, a wrong size: nothing joined, nothing removed */
	char wrong[2][BLOB_ETAG_LEN + 1];
	memcpy(wrong, etags, sizeof(wrong));
	wrong[1][0] = wrong[1][0] == 'a' ? 'b' : 'a';
	assert_int_equal(b->ops->multipart_complete(b, "9.orig", "", 2, wrong, sizes, &bad),
			 BLOB_MISMATCH);
	assert_int_equal(bad, 2);
	uint64_t bad_sizes[2] = {3, 3};
	assert_int_equal(b->ops->multipart_complete(b, "9.orig", "", 2, etags, bad_sizes, &bad),
			 BLOB_SIZE);
	uint64_t size;
	assert_int_equal(b->ops->stat(b, "9.orig", &size, NULL), BLOB_NOT_FOUND);
	/* right: joined, and the parts are gone */
	assert_int_equal(b->ops->multipart_complete(b, "9.orig", "", 2, etags, sizes, &bad), BLOB_OK);
	struct strbuf out = STRBUF_INIT;
	assert_int_equal(b->ops->read(b, "9.orig", 100, &out), BLOB_OK);
	assert_string_equal(out.data, "abcde");
	assert_int_equal(b->ops->stat(b, "9.p1", &size, NULL), BLOB_NOT_FOUND);
	char path[PATH_MAX];
	assert_int_equal(b->ops->locate(b, "9.jpg", "image/jpeg", path, &url), 0);
	assert_non_null(strstr(path, "/9.jpg"));
	assert_int_equal(b->ops->locate(b, "../x", "image/jpeg", path, &url), -1);
	b->ops->remove(b, "9.orig");
	strbuf_deinit(&out);
	strbuf_deinit(&url);
	strbuf_deinit(&err);
	b->ops->close(b);
	rmdir(dir);
}

static void test_secret_persists(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-key-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/blob.key", dir);
	uint8_t a[BLOB_SECRET_LEN], b[BLOB_SECRET_LEN];
	struct strbuf err = STRBUF_INIT;
	assert_int_equal(blob_secret_load(path, a, &err), 0);
	assert_int_equal(blob_secret_load(path, b, &err), 0);
	assert_memory_equal(a, b, sizeof(a));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	strbuf_deinit(&err);
	unlink(path);
	rmdir(dir);
}

/* A cluster's shared key: hex (with or without a newline) or a blob.key
 * chirp made, the same bytes either way; anything else refused, and a
 * missing file is an error rather than a key made for one node alone. */
static void test_shared_secret_forms(void **state)
{
	(void)state;
	char dir[] = "/tmp/chirp-key-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char made[PATH_MAX], hex_path[PATH_MAX];
	snprintf(made, sizeof(made), "%s/blob.key", dir);
	snprintf(hex_path, sizeof(hex_path), "%s/shared.hex", dir);
	struct strbuf err = STRBUF_INIT;
	uint8_t key[BLOB_SECRET_LEN], got[BLOB_SECRET_LEN];
	assert_int_equal(blob_secret_read(made, got, &err), -1); /* never made */
	assert_non_null(strstr(err.data, "cannot read"));
	assert_int_equal(blob_secret_load(made, key, &err), 0);
	assert_int_equal(blob_secret_read(made, got, &err), 0);
	assert_memory_equal(key, got, sizeof(key));

	char hex[2 * BLOB_SECRET_LEN + 1];
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	FILE *f = fopen(hex_path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", hex);
	fclose(f);
	memset(got, 0, sizeof(got));
	assert_int_equal(blob_secret_read(hex_path, got, &err), 0);
	assert_memory_equal(key, got, sizeof(key));
	assert_int_equal(blob_secret_parse(hex, strlen(hex), false, got, "x", &err), 0);
	assert_memory_equal(key, got, sizeof(key));

	strbuf_reset(&err);
	assert_int_equal(blob_secret_parse(hex, strlen(hex) - 1, false, got, "x", &err), -1);
	assert_non_null(strstr(err.data, "64 hex digits"));
	hex[5] = 'g';
	assert_int_equal(blob_secret_parse(hex, strlen(hex), false, got, "x", &err), -1);
	/* 32 characters are raw bytes only from a file, never from a flag */
	assert_int_equal(blob_secret_parse(hex, BLOB_SECRET_LEN, false, got, "x", &err), -1);
	assert_int_equal(blob_secret_parse(hex, BLOB_SECRET_LEN, true, got, "x", &err), 0);
	strbuf_deinit(&err);
	unlink(made);
	unlink(hex_path);
	rmdir(dir);
}

static int range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
	return http_range_parse(h, strlen(h), size, from, to);
}

static void test_ranges(void **state)
{
	(void)state;
	uint64_t f, t;
	assert_int_equal(range("bytes=0-9", 100, &f, &t), 1);
	assert_true(f == 0 && t == 9);
	assert_int_equal(range("bytes=90-200", 100, &f, &t), 1); /* clipped to the end */
	assert_true(f == 90 && t == 99);
	assert_int_equal(range("bytes=95-", 100, &f, &t), 1);
	assert_true(f == 95 && t == 99);
	assert_int_equal(range("bytes=-5", 100, &f, &t), 1);
	assert_true(f == 95 && t == 99);
	assert_int_equal(range("bytes=-500", 100, &f, &t), 1); /* the whole body */
	assert_true(f == 0 && t == 99);
	assert_int_equal(range("bytes=100-", 100, &f, &t), 0); /* 416 */
	assert_int_equal(range("bytes=-0", 100, &f, &t), 0);
	assert_int_equal(range("bytes=0-0", 0, &f, &t), 0);
	const char *ignored[] = {"bytes=5-1", "bytes=0-1,4-5", "bytes= 1-2", "bytes=+1-2",
				 "bytes=1--2", "bytes=-", "items=0-1", "bytes=a-b", "bytes=1-2 "};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		assert_int_equal(range(ignored[i], 100, &f, &t), -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_signatures),
	    cmocka_unit_test(test_signed_urls_check),
	    cmocka_unit_test(test_query_canonical_form_only),
	    cmocka_unit_test(test_dir_put_read_stat_remove),
	    cmocka_unit_test(test_dir_multipart),
	    cmocka_unit_test(test_secret_persists),
	    cmocka_unit_test(test_shared_secret_forms),
	    cmocka_unit_test(test_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
