/*
 * tokenizer — the "chirp" FTS5 tokenizer: how text becomes index terms.
 *
 * On top of SQLite's unicode61 (Unicode word breaks, case folding,
 * diacritics removed: "Café" is "cafe"), it
 *   - stems words with Snowball English (libstemmer): "running", "runs"
 *     and "run" are all the term "run"; the word as written stays beside
 *     its stem (a colocated token), so prefix queries match what people
 *     typed and not what the stemmer made of it;
 *   - keeps #hashtags and @mentions whole ("#rust" finds only the tag),
 *     with the bare word beside them ("rust" finds the tag too);
 *   - leaves words with digits unstemmed.
 * Queries get the same treatment, minus the colocated extras: a plain
 * query word is its stem, a prefix is the word as written.
 */
#ifndef CHIRP_SEARCH_TOKENIZER_H
#define CHIRP_SEARCH_TOKENIZER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#define SEARCH_TOKENIZER "chirp"

/* Registers the tokenizer on a connection; SQLITE_OK or an error code. */
int search_tokenizer_register(sqlite3 *db);

/* A tokenizer instance for C code (not thread-safe; one per thread). */
struct search_words;
struct search_words *search_words_new(sqlite3 *db);
void search_words_free(struct search_words *w);

/* Calls emit(arg, word, len) for each word of text as a query sees it:
 * folded, hashtag and mention sigils kept, and with `stems` the index term
 * a plain word becomes (its stem) rather than the word as written. */
void search_words(struct search_words *w, const char *text, size_t len, bool stems,
		  void (*emit)(void *arg, const char *word, size_t len), void *arg);

/* Calls emit(arg, term, len, pos) for each term a document is indexed
 * under, as the chirp tokenizer gives them to FTS5: stems, the words as
 * written beside them, tags whole and bare. pos counts words from 0;
 * colocated terms share their word's position. For an index that is not
 * FTS5 (search/postgres.c), so both index exactly the same terms. */
void search_terms(struct search_words *w, const char *text, size_t len,
		  void (*emit)(void *arg, const char *term, size_t len, unsigned pos), void *arg);

/* The FTS5 API of a connection; NULL if it has no FTS5. */
fts5_api *search_fts5_api(sqlite3 *db);

#endif
