/*
 * fuzzy — typo tolerance on an index's vocabulary, by deletion neighbours
 * (the idea behind SymSpell).
 *
 * Two words within k edits share a string reachable from each by at most
 * k deletions. So the index stores, for every word it has seen, the word
 * and its deletion variants; a query word's variants are looked up there,
 * and each candidate found is confirmed with a real edit distance. Lookups
 * are a handful of exact key probes, never a scan of the vocabulary.
 *
 * Words are UTF-8; edits count code points. Distance is optimal string
 * alignment: insert, delete, substitute, or swap two neighbours, each 1.
 */
#ifndef CHIRP_SEARCH_FUZZY_H
#define CHIRP_SEARCH_FUZZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUZZY_MIN_CHARS 3   /* shorter words must match exactly */
#define FUZZY_TWO_EDITS 8   /* words this long tolerate two edits */
#define FUZZY_MAX_CHARS 20  /* longer words are not indexed for typos */
#define FUZZY_HANDLE_MAX_CHARS 30 /* HANDLE_MAX: every handle may be, whole */

/* How many edits a word of `chars` code points tolerates: 0, 1 or 2. */
unsigned fuzzy_max_edits(size_t chars);

/* How many edits a whole handle of `chars` characters tolerates: as a word
 * of its length (digits and '_' count as letters), up to
 * FUZZY_HANDLE_MAX_CHARS, so that every valid handle can be found with a
 * typo. A handle is one person, not a word people repeat, so its variants
 * are kept in a vocabulary of their own, searched only for people. */
unsigned fuzzy_handle_edits(size_t chars);

/* A handle as the handles' vocabulary keeps it, and as the tokenizer makes
 * it one term ('_' joins, digits stay): lowercased into out, which holds
 * FUZZY_HANDLE_MAX_CHARS + 1 bytes. false if h[0..len) is no valid handle
 * (core/validate.h). */
bool fuzzy_handle_fold(const char *h, size_t len, char *out);

/* Code points in valid UTF-8 s[0..len). */
size_t fuzzy_chars(const char *s, size_t len);

/* Calls emit(arg, v, vlen) for the word itself and every string made by
 * deleting up to `edits` code points (some more than once). */
void fuzzy_variants(const char *s, size_t len, unsigned edits,
		    void (*emit)(void *arg, const char *v, size_t vlen), void *arg);

/* The edit distance between a and b if it is at most `max`, else max + 1. */
unsigned fuzzy_distance(const char *a, size_t alen, const char *b, size_t blen, unsigned max);

#endif
