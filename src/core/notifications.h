/*
 * notifications — what others did to a user: followed them, mentioned
 * them, replied to them, liked or retweeted their tweets.
 *
 * Made by the acts themselves: each write kind that notifies adds its
 * notification in its own SQL, in the act's transaction (the store's
 * notify(); docs/architecture.md), so a notification commits with its act
 * or not at all and a replayed outbox row never makes it twice. Nobody is
 * notified of acting on their own. Likes and retweets are grouped per
 * tweet: one notification with `count` and the latest actor, which moves
 * up with each new one, so a tweet with 10,000 likes is one row on its
 * author's page. An unlike within STORE_UNNOTIFY_MS of its like takes it
 * back out of the group (and the group goes when empty).
 *
 * Reads leave out notifications whose actor the user blocks, mutes or is
 * blocked by, in the store's query. The unread count is of those newer
 * than the user's marker (POST /v1/notifications/read).
 */
#ifndef CHIRP_CORE_NOTIFICATIONS_H
#define CHIRP_CORE_NOTIFICATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "core/write.h"
#include "store/store.h"

struct feed;
struct notifications;

struct notifications *notifications_new(struct writes *ws, struct feed *feed);
void notifications_free(struct notifications *n); /* NULL is a no-op */

/* The type named name[0..len) ("follow", "like", …): true and *type. */
bool notifications_type_parse(const char *name, size_t len, enum notification_type *type);

/* Where each Notification of a page is in its JSON (for a stream, which
 * sends them one by one): the first NOTIFICATIONS_SPANS_MAX of them. */
#define NOTIFICATIONS_SPANS_MAX 20
struct notifications_spans {
	size_t off[NOTIFICATIONS_SPANS_MAX], len[NOTIFICATIONS_SPANS_MAX];
};

/* A page of `user_id`'s notifications of the types in `types` (bits 1 <<
 * NOTIF_*), appended to `out` as a JSON array of Notification; *n, and
 * *newest and *oldest their ids (for Link); `spans` (may be NULL) where
 * each one is. The tweet of each is hydrated as the user sees it (liked
 * included). */
int notifications_page(struct notifications *ns, struct store_reader *r, uint64_t user_id,
		       const struct store_page *page, unsigned types, struct strbuf *out,
		       size_t *n, uint64_t *newest, uint64_t *oldest,
		       struct notifications_spans *spans);

/* How many notifications are newer than the user's marker (at most
 * NOTIF_UNREAD_MAX). */
int notifications_unread(struct store_reader *r, uint64_t user_id, uint64_t *count);

/* Sets the user's marker to up_to_id: 204. */
void notifications_mark_read(struct notifications *ns, uint64_t user_id, uint64_t up_to_id,
			     const struct store_idem *idem, write_done_fn done, void *arg);

/* Puts away the user's notification `id` (204; 404 if the user has none
 * such), or with id 0 all of the user's notifications (204). A like or
 * retweet after a dismissed group starts a new group. */
void notifications_dismiss(struct notifications *ns, uint64_t user_id, uint64_t id,
			   const struct store_idem *idem, write_done_fn done, void *arg);

#endif
