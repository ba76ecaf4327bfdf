/*
 * rank — see rank.h. The auxiliary-function interface is documented at
 * https://sqlite.org/fts5.html#custom_auxiliary_functions.
 */
#include "search/rank.h"

#include <math.h>
#include <string.h>

#include "search/tokenizer.h"

#define K1 1.2 /* how fast repeated words stop adding to the score */

static void chirp_rank(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx,
		       int nargs, sqlite3_value **args)
{
	const unsigned char *blob = NULL;
	int nfreq = 0;
	if (nargs >= 1 && sqlite3_value_type(args[0]) == SQLITE_BLOB) {
		blob = sqlite3_value_blob(args[0]);
		nfreq = sqlite3_value_bytes(args[0]) / (int)sizeof(double);
	}
	sqlite3_int64 rows = 0;
	int ninst = 0;
	if (api->xRowCount(fts, &rows) != SQLITE_OK || api->xInstCount(fts, &ninst) != SQLITE_OK) {
		sqlite3_result_error(ctx, "chirp_rank: cannot read the match", -1);
		return;
	}
	int tf[SEARCH_RANK_PHRASES_MAX] = {0};
	for (int i = 0; i < ninst; i++) {
		int phrase, col, off;
		if (api->xInst(fts, i, &phrase, &col, &off) == SQLITE_OK && col == 0 &&
		    phrase < SEARCH_RANK_PHRASES_MAX)
			tf[phrase]++;
	}
	int nphrases = api->xPhraseCount(fts);
	if (nphrases > SEARCH_RANK_PHRASES_MAX)
		nphrases = SEARCH_RANK_PHRASES_MAX;
	double score = 0;
	for (int p = 0; p < nphrases; p++) {
		if (!tf[p])
			continue;
		double df = -1, idf = 1.0;
		if (p < nfreq)
			memcpy(&df, blob + (size_t)p * sizeof(double), sizeof(double));
		if (df >= 0 && rows > 0) {
			double odds = ((double)rows - df + 0.5) / (df + 0.5);
			idf = log1p(odds > 0 ? odds : 0);
		}
		score += idf * tf[p] * (K1 + 1) / (tf[p] + K1);
	}
	sqlite3_result_double(ctx, -score);
}

int search_rank_register(sqlite3 *db)
{
	fts5_api *api = search_fts5_api(db);
	if (!api)
		return SQLITE_ERROR;
	return api->xCreateFunction(api, "chirp_rank", NULL, chirp_rank, NULL);
}
