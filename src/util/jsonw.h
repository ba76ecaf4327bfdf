/*
 * jsonw — the small JSON *writer* chirp uses on its hot paths.
 *
 * Parsing is jansson's job (a well-kept library, and parsing is where the
 * bugs live). Writing is simple enough to do here, and doing it here lets a
 * response be built by appending to one strbuf with no intermediate tree.
 * The writer does not track nesting: callers write `{`, `,` and `}` through
 * the helpers below in the right order; unit tests check the output parses.
 */
#ifndef CHIRP_UTIL_JSONW_H
#define CHIRP_UTIL_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Appends `s` (valid UTF-8, may contain NUL when len says so) as a quoted
 * JSON string, escaping quotes, backslashes and control characters. */
void jsonw_string(struct strbuf *sb, const char *s, size_t len);
void jsonw_cstring(struct strbuf *sb, const char *s);

/* Appends `"key":` — keys are literals in chirp, so they are not escaped. */
void jsonw_key(struct strbuf *sb, const char *key);

/* Appends an id as a decimal *string* ("123"): JavaScript loses precision
 * on integers over 2^53, so ids never travel as JSON numbers. */
void jsonw_id(struct strbuf *sb, uint64_t id);

/* Appends `"key":value` pairs, preceded by a comma unless `first`. */
void jsonw_field_str(struct strbuf *sb, const char *key, const char *s, int first);
void jsonw_field_id(struct strbuf *sb, const char *key, uint64_t id, int first);
void jsonw_field_u64(struct strbuf *sb, const char *key, uint64_t v, int first);

/* Appends the error object of docs/api.md: {"error":message,"code":code}. */
void jsonw_error(struct strbuf *sb, const char *code, const char *message);

#endif
