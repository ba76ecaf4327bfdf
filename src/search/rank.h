/*
 * rank — chirp_rank(), an FTS5 ranking function: BM25 with the document
 * frequencies supplied by the caller.
 *
 * FTS5's own bm25() counts, for every query, how many rows hold each
 * phrase: a walk of each posting list, so a common word costs milliseconds
 * before the first row is scored. chirp knows those counts already (the
 * index's vocabulary, fts5vocab), so it passes them in:
 *
 *   SELECT rowid, chirp_rank(tweets_fts, ?) FROM tweets_fts WHERE ...
 *
 * with ? a blob of doubles, the document frequency of each phrase in the
 * order the MATCH expression names them (negative: unknown, weight 1).
 * Term frequency counts only the first column. Tweets are short, so there
 * is no length normalisation (BM25 with b = 0). Lower is better, as with
 * bm25().
 */
#ifndef CHIRP_SEARCH_RANK_H
#define CHIRP_SEARCH_RANK_H

#include <sqlite3.h>

#define SEARCH_RANK_PHRASES_MAX 96 /* phrases scored; later ones count 0 */

/* Registers chirp_rank on a connection; SQLITE_OK or an error code. */
int search_rank_register(sqlite3 *db);

#endif
