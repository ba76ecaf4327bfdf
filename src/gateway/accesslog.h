/*
 * accesslog — one line per request: what happened, to whom, how fast.
 *
 * JSON lines by default (machine-readable; one object per line), or a
 * plain text line. Each line is written with one write(2), so lines from
 * different event loops never interleave. Failures to write are ignored:
 * logging never fails a request.
 */
#ifndef CHIRP_GATEWAY_ACCESSLOG_H
#define CHIRP_GATEWAY_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

enum accesslog_format { ACCESSLOG_JSON, ACCESSLOG_TEXT };

/* What is logged of a request. Strings need not be NUL-terminated where
 * a length is given. */
struct access_entry {
	const char *request_id;
	size_t request_id_len;
	const char *method;
	size_t method_len;
	const char *route; /* the template, or "unmatched" */
	int status;
	uint64_t bytes;
	uint64_t duration_us;
	uint64_t user_id; /* 0: anonymous */
	const char *client_ip;
};

struct accesslog;

/* path: a file (appended to), "-" for stdout, or NULL for no log at all.
 * Returns NULL and prints why if the file cannot be opened. */
struct accesslog *accesslog_open(const char *path, enum accesslog_format format, int *failed);
void accesslog_close(struct accesslog *log);

void accesslog_write(struct accesslog *log, const struct access_entry *e);

#endif
