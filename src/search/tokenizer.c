/*
 * tokenizer — see tokenizer.h. The FTS5 tokenizer interface is documented
 * at https://sqlite.org/fts5.html#custom_tokenizers.
 */
#include "search/tokenizer.h"

#include <libstemmer.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define STEM_MAX 64 /* longer tokens are kept as they are */

struct chirp_tokenizer {
	fts5_tokenizer base_api; /* unicode61's functions */
	Fts5Tokenizer *base;
	struct sb_stemmer *stemmer;
};

/* One xTokenize call in progress. */
struct tokenize_call {
	struct chirp_tokenizer *t;
	int flags;
	void *ctx;
	int (*emit)(void *ctx, int tflags, const char *token, int n, int start, int end);
	int start, end;
	bool first; /* the next token is the first at this position */
};

static int put(struct tokenize_call *c, const char *s, int n)
{
	int tflags = c->first ? 0 : FTS5_TOKEN_COLOCATED;
	c->first = false;
	return c->emit(c->ctx, tflags, s, n, c->start, c->end);
}

static bool has_digit(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] >= '0' && s[i] <= '9')
			return true;
	return false;
}

/* A plain word: its stem, and in documents the word itself beside it. */
static int put_word(struct tokenize_call *c, const char *w, int n)
{
	bool query = c->flags & FTS5_TOKENIZE_QUERY;
	if ((query && (c->flags & FTS5_TOKENIZE_PREFIX)) || n > STEM_MAX || has_digit(w, n))
		return put(c, w, n);
	const sb_symbol *stem = sb_stemmer_stem(c->t->stemmer, (const sb_symbol *)w, n);
	if (!stem)
		return SQLITE_NOMEM;
	int sn = sb_stemmer_length(c->t->stemmer);
	int rc = put(c, (const char *)stem, sn);
	if (rc == SQLITE_OK && !query && (sn != n || memcmp(stem, w, (size_t)n) != 0))
		rc = put(c, w, n);
	return rc;
}

static bool is_sigil(char ch)
{
	return ch == '#' || ch == '@';
}

/* unicode61 hands over folded tokens in which '#', '@' and '_' are word
 * characters; decide what each one means. */
static int on_token(void *arg, int tflags, const char *tok, int n, int start, int end)
{
	(void)tflags;
	struct tokenize_call *c = arg;
	c->start = start;
	c->end = end;
	c->first = true;
	char buf[256];
	if (n > (int)sizeof(buf) - 1)
		return put(c, tok, n); /* an absurdly long token: keep it as is */

	/* Sigils past the first character are punctuation ("a#b", "x@y"). */
	int lead = 0;
	while (lead < n && is_sigil(tok[lead]))
		lead++;
	int len = 0;
	for (int i = lead; i < n; i++)
		if (!is_sigil(tok[i]))
			buf[1 + len++] = tok[i];
	if (len == 0)
		return SQLITE_OK; /* nothing but sigils */
	const char *word = buf + 1;
	if (lead == 1 && len == n - 1) {
		buf[0] = tok[0]; /* #tag or @mention, whole */
		int rc = put(c, buf, len + 1);
		if (rc != SQLITE_OK || (c->flags & FTS5_TOKENIZE_QUERY))
			return rc;
	}
	return put_word(c, word, len);
}

static int tok_tokenize(Fts5Tokenizer *p, void *ctx, int flags, const char *text, int n,
			int (*emit)(void *, int, const char *, int, int, int))
{
	struct chirp_tokenizer *t = (struct chirp_tokenizer *)p;
	struct tokenize_call c = {.t = t, .flags = flags, .ctx = ctx, .emit = emit};
	return t->base_api.xTokenize(t->base, &c, flags, text, n, on_token);
}

static void tok_delete(Fts5Tokenizer *p)
{
	struct chirp_tokenizer *t = (struct chirp_tokenizer *)p;
	if (!t)
		return;
	if (t->base)
		t->base_api.xDelete(t->base);
	if (t->stemmer)
		sb_stemmer_delete(t->stemmer);
	free(t);
}

static int tok_create(void *api_ptr, const char **args, int nargs, Fts5Tokenizer **out)
{
	(void)args;
	(void)nargs;
	fts5_api *api = api_ptr;
	struct chirp_tokenizer *t = calloc(1, sizeof(*t));
	if (!t)
		return SQLITE_NOMEM;
	void *ud = NULL;
	static const char *base_args[] = {"remove_diacritics", "2", "tokenchars", "#@_"};
	int rc = api->xFindTokenizer(api, "unicode61", &ud, &t->base_api);
	if (rc == SQLITE_OK)
		rc = t->base_api.xCreate(ud, base_args, 4, &t->base);
	if (rc == SQLITE_OK) {
		t->stemmer = sb_stemmer_new("english", "UTF_8");
		if (!t->stemmer)
			rc = SQLITE_NOMEM;
	}
	if (rc != SQLITE_OK) {
		tok_delete((Fts5Tokenizer *)t);
		return rc;
	}
	*out = (Fts5Tokenizer *)t;
	return SQLITE_OK;
}

fts5_api *search_fts5_api(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(st);
	sqlite3_finalize(st);
	return api;
}

int search_tokenizer_register(sqlite3 *db)
{
	fts5_api *api = search_fts5_api(db);
	if (!api)
		return SQLITE_ERROR;
	fts5_tokenizer fns = {tok_create, tok_delete, tok_tokenize};
	return api->xCreateTokenizer(api, SEARCH_TOKENIZER, api, &fns, NULL);
}

/* ---- the tokenizer outside SQL ------------------------------------------- */

struct search_words {
	Fts5Tokenizer *tok;
};

struct words_call {
	void (*emit)(void *arg, const char *word, size_t len);
	void *arg;
};

static int on_word(void *arg, int tflags, const char *tok, int n, int start, int end)
{
	(void)start;
	(void)end;
	struct words_call *w = arg;
	if (!(tflags & FTS5_TOKEN_COLOCATED))
		w->emit(w->arg, tok, (size_t)n);
	return SQLITE_OK;
}

struct search_words *search_words_new(sqlite3 *db)
{
	fts5_api *api = search_fts5_api(db);
	Fts5Tokenizer *tok = NULL;
	if (!api || tok_create(api, NULL, 0, &tok) != SQLITE_OK)
		return NULL;
	struct search_words *w = xmalloc(sizeof(*w));
	w->tok = tok;
	return w;
}

void search_words_free(struct search_words *w)
{
	if (!w)
		return;
	tok_delete(w->tok);
	free(w);
}

void search_words(struct search_words *w, const char *text, size_t len, bool stems,
		  void (*emit)(void *arg, const char *word, size_t len), void *arg)
{
	struct words_call c = {emit, arg};
	if (len > INT32_MAX)
		return;
	int flags = FTS5_TOKENIZE_QUERY | (stems ? 0 : FTS5_TOKENIZE_PREFIX);
	tok_tokenize(w->tok, &c, flags, text, (int)len, on_word);
}

struct terms_call {
	void (*emit)(void *arg, const char *term, size_t len, unsigned pos);
	void *arg;
	unsigned pos; /* of the next word; the current one is pos - 1 */
};

static int on_term(void *arg, int tflags, const char *tok, int n, int start, int end)
{
	(void)start;
	(void)end;
	struct terms_call *c = arg;
	if (!(tflags & FTS5_TOKEN_COLOCATED) || c->pos == 0)
		c->pos++;
	c->emit(c->arg, tok, (size_t)n, c->pos - 1);
	return SQLITE_OK;
}

void search_terms(struct search_words *w, const char *text, size_t len,
		  void (*emit)(void *arg, const char *term, size_t len, unsigned pos), void *arg)
{
	struct terms_call c = {emit, arg, 0};
	if (len > INT32_MAX)
		return;
	tok_tokenize(w->tok, &c, FTS5_TOKENIZE_DOCUMENT, text, (int)len, on_term);
}
