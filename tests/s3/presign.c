/*
 * presign — prints chirp's presigned S3 URL for the same arguments as
 * presign.mjs, so tests/s3/run.sh can compare the two.
 *   presign METHOD ENDPOINT BUCKET KEY REGION UNIX_SECONDS EXPIRES [PART UPLOAD_ID]
 * The parameters beyond SigV4's own (x-id, X-Amz-Content-Sha256) are the
 * ones the SDK adds for the same S3 operation.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/sigv4.h"

int main(int argc, char **argv)
{
	if (argc != 8 && argc != 10) {
		fprintf(stderr, "usage: presign METHOD ENDPOINT BUCKET KEY REGION UNIX_SECONDS EXPIRES [PART UPLOAD_ID]\n");
		return 2;
	}
	const char *endpoint = argv[2];
	const char *scheme = strncmp(endpoint, "https://", 8) == 0 ? "https" : "http";
	const char *host = strstr(endpoint, "://") + 3;
	char path[1024];
	snprintf(path, sizeof(path), "/%s/%s", argv[3], argv[4]);
	bool part = argc == 10;
	struct sigv4_param params[4] = {
		{"X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"},
		{"x-id", part ? "UploadPart" : strcmp(argv[1], "PUT") == 0 ? "PutObject" : "GetObject"},
	};
	size_t n = 2;
	if (part) {
		params[n++] = (struct sigv4_param){"partNumber", argv[8]};
		params[n++] = (struct sigv4_param){"uploadId", argv[9]};
	}
	struct sigv4_request r = {
		.scheme = scheme,
		.host = host,
		.path = path,
		.method = argv[1],
		.region = argv[5],
		.service = "s3",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		.now = strtoull(argv[6], NULL, 10),
		.expires = (unsigned)strtoul(argv[7], NULL, 10),
		.params = params,
		.nparams = n,
	};
	struct strbuf url = STRBUF_INIT;
	sigv4_presign(&r, &url);
	puts(url.data);
	strbuf_deinit(&url);
	return 0;
}
