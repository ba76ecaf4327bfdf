/*
 * sigv4 — AWS Signature Version 4 presigned URLs (query authentication),
 * the way S3 and S3-compatible stores (MinIO, Ceph RGW, R2...) accept
 * uploads and downloads straight from clients.
 *
 * This is the signing half of an S3 blob adapter: given the same inputs
 * and clock it produces the URL the AWS SDKs produce (tests/unit/
 * test_sigv4.c checks the example in AWS's documentation, and
 * tests/s3/ compares with @aws-sdk/s3-request-presigner). The payload is
 * not signed (UNSIGNED-PAYLOAD), as in every presigned URL.
 */
#ifndef CHIRP_MEDIA_SIGV4_H
#define CHIRP_MEDIA_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

struct sigv4_param {
	const char *name, *value; /* raw; encoded by sigv4_presign */
};

struct sigv4_request {
	const char *scheme;      /* "https" or "http" */
	const char *host;        /* "examplebucket.s3.amazonaws.com" or "127.0.0.1:9000" */
	const char *path;        /* raw object path, "/test.txt" or "/bucket/key"; encoded here */
	const char *method;      /* "GET", "PUT" */
	const char *region;      /* "us-east-1" */
	const char *service;     /* "s3" */
	const char *access_key;
	const char *secret_key;
	uint64_t now;            /* unix seconds */
	unsigned expires;        /* seconds, 1..604800 */
	const struct sigv4_param *params; /* more query parameters (partNumber, uploadId, x-id) */
	size_t nparams;
};

/* Appends the presigned URL to `url`. */
void sigv4_presign(const struct sigv4_request *r, struct strbuf *url);

/* RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~
 * is %XX (upper-case hex); '/' too unless keep_slash. */
void sigv4_uri_encode(struct strbuf *sb, const char *s, size_t len, int keep_slash);

#endif
