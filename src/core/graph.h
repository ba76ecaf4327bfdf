/*
 * graph — the follow graph service: follow, unfollow, and the lists of
 * followers and following.
 *
 * Both writes are idempotent: following twice is one follow (200 the
 * second time, 201 the first), unfollowing someone not followed is a 204.
 * The answer of a follow is the followee's User, counts included. The feed
 * registers what a changed follow means for timelines (timeline/feed.h).
 */
#ifndef CHIRP_CORE_GRAPH_H
#define CHIRP_CORE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/write.h"
#include "store/store.h"

struct graph;

struct graph *graph_new(struct writes *ws);
void graph_free(struct graph *g); /* NULL is a no-op */

/* `follow` true: 201/200 User of the followee; false: 204. 404 if the
 * followee does not exist. The caller has refused follower == followee. */
void graph_follow(struct graph *g, uint64_t follower_id, uint64_t followee_id, bool follow,
		  const struct store_idem *idem, write_done_fn done, void *arg);

/* Blocks and mutes: `kind` is STORE_W_BLOCK, _UNBLOCK, _MUTE or _UNMUTE,
 * of other_id by user_id (the caller has refused them being one). Block
 * and mute answer 201 (new) or 200 (already) with the other's User, the
 * others 204; 404 if the other does not exist. A block ends the follows
 * between the two, both ways, and a follow between them is then 403
 * "blocked" (either way); a mute changes nothing but what the muter
 * reads. */
void graph_relation(struct graph *g, enum store_write_kind kind, uint64_t user_id,
		    uint64_t other_id, const struct store_idem *idem, write_done_fn done, void *arg);

/* Pages of the users `user_id` blocks or mutes, newest first. */
int graph_blocks(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		 struct follow_entry *out, size_t *n);
int graph_mutes(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		struct follow_entry *out, size_t *n);

/* Pages of a user's followers or followees, newest follow first;
 * STORE_NOT_FOUND if the user does not exist. */
int graph_followers(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n);
int graph_following(struct store_reader *r, uint64_t user_id, const struct store_page *page,
		    struct follow_entry *out, size_t *n);

/* Whether `viewer` follows each of targets[0..n) (following[i]) and each
 * follows `viewer` (followed_by[i]): two reads of the viewer's own edges,
 * whatever n is (the Mastodon façade's relationships). */
int graph_relations(struct store_reader *r, uint64_t viewer, const uint64_t *targets, size_t n,
		    bool *following, bool *followed_by);

#endif
