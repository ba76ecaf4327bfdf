/*
 * blob_dir — the embedded blob adapter: one file per key in one directory.
 *
 * A put writes a temporary file, fsyncs it, renames it over the key and
 * fsyncs the directory, so after a crash a key holds either its old bytes
 * or all of its new ones, and a put that returned 0 survives kill -9.
 * Presigned URLs point at chirp itself (/blobs/KEY?expires=&max=&sig=,
 * media/blob_sign.h), which serves them (api/blobs.c, media/serve.c).
 *
 * ETags are the first 16 bytes of the content's SHA-256, in hex: stat
 * recomputes them by reading the file, which is cheap next to the image
 * processing that follows every stat.
 */
#include "media/blob.h"
#include "media/blob_sign.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fileio.h"
#include "util/log.h"

struct blob_dir {
	struct blob base;
	char *dir;
	char *base_url;
	uint8_t secret[BLOB_SECRET_LEN];
};

static bool all_digits(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool blob_key_valid(const char *key, size_t len)
{
	static const char *const suffixes[] = {".orig", ".jpg", ".png", "_t.jpg", "_t.png"};
	size_t d = 0;
	while (d < len && key[d] >= '0' && key[d] <= '9')
		d++;
	if (d < 1 || d > 20)
		return false;
	const char *rest = key + d;
	size_t rlen = len - d;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (rlen == strlen(suffixes[i]) && memcmp(rest, suffixes[i], rlen) == 0)
			return true;
	/* ".pN": a part of a multipart upload, N in 1..99999 without leading 0 */
	return rlen >= 3 && rlen <= 7 && rest[0] == '.' && rest[1] == 'p' && rest[2] != '0' &&
	       all_digits(rest + 2, rlen - 2);
}

int blob_dir_path(struct blob *base, const char *key, size_t key_len, char *path)
{
	struct blob_dir *b = (struct blob_dir *)base;
	if (!blob_key_valid(key, key_len))
		return -1;
	int n = snprintf(path, PATH_MAX, "%s/%.*s", b->dir, (int)key_len, key);
	return n > 0 && n < PATH_MAX ? 0 : -1;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static void etag_of(const void *data, size_t len, char *etag)
{
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(etag, BLOB_ETAG_LEN + 1, h, BLOB_ETAG_LEN / 2);
}

static void dir_presign(struct blob *base, const char *method, const char *key, uint64_t expires,
			uint64_t max_bytes, struct strbuf *url)
{
	struct blob_dir *b = (struct blob_dir *)base;
	blob_sign_url(url, b->secret, b->base_url, method, key, expires, max_bytes);
}

static int dir_put(struct blob *base, const char *key, const void *data, size_t len, char *etag)
{
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	if (blob_dir_path(base, key, strlen(key), path))
		return BLOB_BAD_KEY;
	unsigned char r[8];
	char rhex[17];
	randombytes_buf(r, sizeof(r));
	sodium_bin2hex(rhex, sizeof(rhex), r, sizeof(r));
	/* The temporary name is not a valid key, so it is never served. */
	snprintf(tmp, sizeof(tmp), "%s.tmp-%s", path, rhex);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("blob: %s: %s", tmp, strerror(errno));
		return BLOB_ERROR;
	}
	if (file_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		log_error("blob: writing %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return BLOB_ERROR;
	}
	close(fd);
	if (rename(tmp, path) != 0 || fsync_dir(((struct blob_dir *)base)->dir) != 0) {
		log_error("blob: publishing %s: %s", path, strerror(errno));
		unlink(tmp);
		return BLOB_ERROR;
	}
	if (etag)
		etag_of(data, len, etag);
	return BLOB_OK;
}

static int dir_read(struct blob *base, const char *key, size_t max, struct strbuf *out)
{
	char path[PATH_MAX];
	if (blob_dir_path(base, key, strlen(key), path))
		return BLOB_BAD_KEY;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? BLOB_NOT_FOUND : BLOB_ERROR;
	struct stat sb;
	int rc = BLOB_OK;
	if (fstat(fd, &sb) != 0) {
		rc = BLOB_ERROR;
	} else if ((uint64_t)sb.st_size > max) {
		rc = BLOB_TOO_LARGE;
	} else {
		size_t want = (size_t)sb.st_size, got = 0;
		strbuf_reserve(out, want + 1);
		while (got < want) {
			ssize_t n = read(fd, out->data + out->len + got, want - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		if (got != want)
			rc = BLOB_ERROR;
		else
			out->len += got, out->data[out->len] = '\0';
	}
	close(fd);
	return rc;
}

static int dir_stat(struct blob *base, const char *key, uint64_t *size, char *etag)
{
	struct strbuf sb = STRBUF_INIT;
	int rc = dir_read(base, key, SIZE_MAX - 1, &sb);
	if (rc == BLOB_OK) {
		*size = sb.len;
		if (etag)
			etag_of(sb.data ? sb.data : "", sb.len, etag);
	}
	strbuf_deinit(&sb);
	return rc;
}

static int dir_remove(struct blob *base, const char *key)
{
	char path[PATH_MAX];
	if (blob_dir_path(base, key, strlen(key), path))
		return BLOB_BAD_KEY;
	return unlink(path) == 0 || errno == ENOENT ? BLOB_OK : BLOB_ERROR;
}

/* Parts of "ID.orig" are "ID.pN": keys of their own, PUT like any blob. */
static int part_key(const char *key, unsigned part, char *out)
{
	const char *dot = strchr(key, '.');
	if (!dot || strcmp(dot, ".orig") != 0)
		return -1;
	snprintf(out, BLOB_KEY_MAX, "%.*s.p%u", (int)(dot - key), key, part);
	return 0;
}

static int dir_multipart_begin(struct blob *b, const char *key, char *upload_id)
{
	(void)b;
	char probe[BLOB_KEY_MAX];
	upload_id[0] = '\0'; /* parts are files of their own: nothing to open */
	return part_key(key, 1, probe) ? BLOB_BAD_KEY : BLOB_OK;
}

static void dir_presign_part(struct blob *b, const char *key, const char *upload_id,
			     unsigned part, uint64_t expires, uint64_t max_bytes, struct strbuf *url)
{
	(void)upload_id;
	char pk[BLOB_KEY_MAX];
	if (part_key(key, part, pk) == 0)
		dir_presign(b, "PUT", pk, expires, max_bytes, url);
}

/* Checks every part, then writes them joined as `key` (durably, like any
 * put) and removes them. Nothing changes unless every part is right. */
static int dir_multipart_complete(struct blob *b, const char *key, const char *upload_id,
				  unsigned nparts, const char (*etags)[BLOB_ETAG_LEN + 1],
				  const uint64_t *sizes, unsigned *bad)
{
	(void)upload_id;
	char pk[BLOB_KEY_MAX];
	struct strbuf all = STRBUF_INIT;
	int rc = BLOB_OK;
	for (unsigned n = 1; n <= nparts && rc == BLOB_OK; n++) {
		*bad = n;
		size_t before = all.len;
		char etag[BLOB_ETAG_LEN + 1];
		if (part_key(key, n, pk))
			rc = BLOB_BAD_KEY;
		else
			rc = dir_read(b, pk, SIZE_MAX - 1 - all.len, &all);
		if (rc)
			break;
		etag_of(all.data + before, all.len - before, etag);
		if (sizes && all.len - before != sizes[n - 1])
			rc = BLOB_SIZE;
		else if (strcmp(etag, etags[n - 1]) != 0)
			rc = BLOB_MISMATCH;
	}
	if (rc == BLOB_OK) {
		*bad = 0;
		rc = dir_put(b, key, all.data ? all.data : "", all.len, NULL);
	}
	for (unsigned n = 1; rc == BLOB_OK && n <= nparts; n++)
		if (part_key(key, n, pk) == 0)
			dir_remove(b, pk);
	strbuf_deinit(&all);
	return rc;
}

static int dir_locate(struct blob *b, const char *key, const char *content_type, char *path,
		      struct strbuf *redirect)
{
	(void)content_type;
	(void)redirect;
	return blob_dir_path(b, key, strlen(key), path) ? -1 : 0;
}

static void dir_close(struct blob *base)
{
	struct blob_dir *b = (struct blob_dir *)base;
	if (!b)
		return;
	sodium_memzero(b->secret, sizeof(b->secret));
	free(b->dir);
	free(b->base_url);
	free(b);
}

static struct blob *dir_open(const struct blob_options *opt, struct strbuf *err)
{
	if (mkdir(opt->dir, 0700) != 0 && errno != EEXIST) {
		strbuf_appendf(err, "cannot create %s: %s", opt->dir, strerror(errno));
		return NULL;
	}
	struct blob_dir *b = xcalloc(1, sizeof(*b));
	b->base.ops = &blob_dir_ops;
	b->dir = xstrdup(opt->dir);
	b->base_url = xstrdup(opt->base_url ? opt->base_url : "");
	memcpy(b->secret, opt->secret, BLOB_SECRET_LEN);
	return &b->base;
}

const struct blob_ops blob_dir_ops = {
	.name = "dir",
	.open = dir_open,
	.close = dir_close,
	.presign = dir_presign,
	.put = dir_put,
	.read = dir_read,
	.stat = dir_stat,
	.remove = dir_remove,
	.multipart_begin = dir_multipart_begin,
	.presign_part = dir_presign_part,
	.multipart_complete = dir_multipart_complete,
	.locate = dir_locate,
};
