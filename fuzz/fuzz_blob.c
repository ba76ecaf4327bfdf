/*
 * fuzz_blob — blob keys and Range headers, the two pieces of a blob URL
 * request chirp parses before touching the disk.
 *
 * Invariants: a key blob_key_valid accepts names a file inside the blob
 * directory (no '/', no "..", no NUL, starts with a digit, short), and
 * blob_dir_path agrees with it; a satisfiable range lies inside the body.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "http/range.h"
#include "media/blob.h"

static struct blob *dir;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir) {
		static const uint8_t secret[BLOB_SECRET_LEN];
		struct blob_options opt = {.dir = "/tmp/chirp-fuzz-blobs", .secret = secret, .base_url = ""};
		struct strbuf err = STRBUF_INIT;
		dir = blob_dir_ops.open(&opt, &err);
		assert(dir);
	}
	const char *key = (const char *)data;
	if (blob_key_valid(key, size)) {
		assert(size >= 2 && size < BLOB_KEY_MAX);
		assert(key[0] >= '0' && key[0] <= '9');
		assert(!memchr(key, '/', size) && !memchr(key, '\0', size));
		assert(!memmem(key, size, "..", 2));
		char path[PATH_MAX];
		assert(blob_dir_path(dir, key, size, path) == 0);
		assert(strncmp(path, "/tmp/chirp-fuzz-blobs/", 22) == 0);
		assert(strlen(path) == 22 + size);
	} else {
		char path[PATH_MAX];
		assert(blob_dir_path(dir, key, size, path) != 0);
	}
	/* the same bytes as a Range header, against a few body sizes */
	static const uint64_t sizes[] = {0, 1, 10, 1000, UINT64_MAX};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t from = 0, to = 0;
		int r = http_range_parse(key, size, sizes[i], &from, &to);
		assert(r >= -1 && r <= 1);
		if (r == 1)
			assert(from <= to && to < sizes[i]);
	}
	return 0;
}
