/*
 * pubsub — the port to a publish/subscribe bus: named channels carrying
 * messages that are plain bytes (docs/architecture.md lists the ports).
 *
 * Live feed sessions (live/service.h) subscribe to the channels of the
 * feeds they show; the feed's fanout publishes to them (timeline/live.h
 * has the channel names and the message format). The in-process adapter
 * (pubsub/memory.c) is the embedded default; a Redis adapter plugs in behind
 * the same ops for cluster mode, where the publisher and the stream may be
 * on different servers. So nothing here assumes one process: a message is
 * copied bytes, never a pointer, and a subscriber learns nothing but the
 * channel and the bytes.
 *
 * Like the other ports (store, search, blob), an adapter is chosen once
 * from configuration and made with open(options, err), ended with close.
 *
 * Delivery contract, which every adapter keeps:
 *   - A handler runs on a thread of the adapter's choosing (the publisher's
 *     own thread in memory.c; a reader thread in a networked adapter),
 *     possibly on several threads at once. It must be quick, must copy what
 *     it keeps, and must not call back into the pubsub.
 *   - Messages one publisher sends to one channel arrive in the order sent,
 *     except that a networked adapter asked to order (pubsub_options.order_*)
 *     may hold a message with an order key back past later ones.
 *   - Once unsubscribe returns, the handler of that subscription is not
 *     running and never runs again, so its `arg` may be freed.
 *   - Delivery is at most once: a subscriber that is not subscribed when a
 *     message is published never sees it (no history, no replay).
 */
#ifndef CHIRP_PUBSUB_PUBSUB_H
#define CHIRP_PUBSUB_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

struct strbuf;
struct redis;

/* Called for each message on a subscribed channel; see the contract above.
 * `channel` is NUL-terminated; `msg` is valid only during the call. */
typedef void (*pubsub_handler)(void *arg, const char *channel, const void *msg, size_t len);

struct pubsub_options {
	/* Channels expected to have subscribers at once (about one per open
	 * live stream): a sizing hint, never a limit; 0 for the default. */
	size_t expected_channels;
	struct redis *redis; /* the Redis adapter's client (redis/redis.h) */
	/* A networked adapter that lost messages (its connection broke and
	 * came back) delivers these bytes on every subscribed channel, so
	 * subscribers catch up by other means; NULL: nothing. Copied. */
	const char *gap_msg;
	size_t gap_len;
	/* Delivered the same way as soon as the connection breaks, so
	 * subscribers learn that messages may go missing (the live feed ends
	 * its streams with a hint to reconnect); NULL: nothing. Copied. */
	const char *lost_msg;
	size_t lost_len;
	/* Order across publishers (NULL: none; the memory bus, with one
	 * process's publishers, ignores it). order_key gives a message's
	 * place, 0 for none (delivered as it comes); a message with a place
	 * is held until order_bound(order_arg, &b), called on the adapter's
	 * thread after the message came, sets b at or above it (every place
	 * below b was published before the call), then delivered in place
	 * order; or after order_hold_ms, whatever the bound. The live feed's
	 * places are tweet ids (docs/architecture.md, "Live order across
	 * nodes"). */
	uint64_t (*order_key)(const void *msg, size_t len);
	int (*order_bound)(void *order_arg, uint64_t *bound);
	void *order_arg;
	unsigned order_hold_ms;
};

struct pubsub;
struct pubsub_sub;

struct pubsub_ops {
	const char *name;
	/* NULL, with the reason appended to `err`, if the bus cannot be
	 * reached. `opt` is read during the call only. */
	struct pubsub *(*open)(const struct pubsub_options *opt, struct strbuf *err);
	/* Every subscription must be gone first. NULL is a no-op. */
	void (*close)(struct pubsub *ps);

	/* Sends len bytes of msg to whoever subscribes to `channel` now (any
	 * thread). Returns 0, or a negative value if the bus failed. */
	int (*publish)(struct pubsub *ps, const char *channel, const void *msg, size_t len);

	/* Starts delivering `channel` to fn(arg, ...) (any thread). Never
	 * NULL: a subscription is local bookkeeping first. */
	struct pubsub_sub *(*subscribe)(struct pubsub *ps, const char *channel, pubsub_handler fn,
					void *arg);
	/* Stops it and frees `sub` (any thread; NULL is a no-op). */
	void (*unsubscribe)(struct pubsub *ps, struct pubsub_sub *sub);
};

/* Every adapter's struct begins with this, so callers find the ops. */
struct pubsub {
	const struct pubsub_ops *ops;
};

extern const struct pubsub_ops pubsub_memory_ops;
extern const struct pubsub_ops pubsub_redis_ops;

#endif
