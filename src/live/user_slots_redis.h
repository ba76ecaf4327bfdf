/*
 * user_slots_redis — cluster mode's count of a user's open streams, so the
 * per-user cap (--max-streams-per-user, live_options.max_per_user) holds
 * across nodes, not per node (docs/architecture.md, "Cluster mode: Redis").
 *
 * Each process is an instance with a random name and a lease in Redis
 * ("lsi:<instance>", LEASE_MS, renewed by a thread of its own every third
 * of it). A user's count is a hash, "ls:<user>": one field per instance,
 * "<seq>:<n>", that instance's open streams for the user as it last wrote
 * them. The process keeps the truth (live/service.c counts its own
 * sessions under its lock), and every write is that whole number, never
 * an increment, so a write that failed is healed by the next one for the
 * user from this process, and a write that arrives after a newer one (two
 * reader threads) is ignored: `seq` is taken with the number, under the
 * same lock. An instance whose lease ran out (its process died) no longer
 * counts, and its field goes at the next count of that user.
 *
 * Blocks on Redis: worker threads only. Redis unreachable: the count is
 * unknown, and the caller lets the stream open (the node's own cap still
 * holds): a user may then hold up to N times the cap across N nodes.
 */
#ifndef CHIRP_LIVE_USER_SLOTS_REDIS_H
#define CHIRP_LIVE_USER_SLOTS_REDIS_H

#include <stdint.h>

struct redis;
struct user_slots;

/* This process's instance: a new name, its lease taken and kept by a
 * thread. `r` must outlive it. */
struct user_slots *user_slots_new(struct redis *r);
/* Stops the lease thread and frees; the lease runs out by itself. NULL is
 * a no-op. */
void user_slots_free(struct user_slots *us);

/* This process now holds `n` streams of `user`, as of `seq` (greater for a
 * later count). With `count`, also the user's streams on every live
 * instance, this write included, into *total. 0, or -1 if Redis did not
 * answer (*total untouched). */
int user_slots_write(struct user_slots *us, uint64_t user, unsigned n, uint64_t seq,
		     unsigned *total);

#endif
