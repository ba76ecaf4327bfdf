"""GET /v1/feed: own tweets plus the tweets of followed users, newest first.

Fanout may lag a little (availability over consistency for feeds),
so arrivals are polled; a deleted tweet must be gone as soon as the DELETE
returns, so deletions are checked at once.
"""

import threading

from chirp_client import (assert_error, assert_newest_first, assert_tweet_shape,
                          eventually, follow, parse_links, post_tweet, walk)


def feed(api, user, query=""):
    r = api.get("/v1/feed" + query, token=user.token)
    assert r.status == 200, r
    assert isinstance(r.json, list), r
    assert parse_links(r) is not None, f"feed without Link header: {r!r}"
    assert_newest_first(r.json)
    return r.json


def feed_ids(api, user, query="?limit=100"):
    return [t["id"] for t in feed(api, user, query)]


def test_feed_requires_auth(api):
    assert_error(api.get("/v1/feed"), 401, "unauthorized")


def test_empty_feed(api, make_user):
    u = make_user()
    assert feed(api, u) == []


def test_feed_has_own_and_followed_tweets_only(api, make_user):
    me = make_user("me")
    friend = make_user("friend")
    stranger = make_user("stranger")
    old = post_tweet(api, friend, "before the follow")
    follow(api, me, friend.id, expect=(201,))
    mine = post_tweet(api, me, "my own")
    theirs = post_tweet(api, friend, "after the follow")
    noise = post_tweet(api, stranger, "not followed")

    want = [theirs["id"], mine["id"], old["id"]]
    eventually(lambda: feed_ids(api, me) == want, what=f"feed == {want}")
    items = feed(api, me)
    for t in items:
        assert_tweet_shape(t)
    assert noise["id"] not in [t["id"] for t in items]
    by_id = {t["id"]: t for t in items}
    assert by_id[theirs["id"]] == theirs
    # The friend's feed does not include me (following is one-way).
    eventually(lambda: feed_ids(api, friend) == [theirs["id"], old["id"]],
               what="friend's feed holds only the friend's tweets")


def test_unfollow_removes_tweets_from_feed(api, make_user):
    me = make_user()
    friend = make_user()
    follow(api, me, friend.id, expect=(201,))
    t1 = post_tweet(api, friend)
    mine = post_tweet(api, me)
    eventually(lambda: feed_ids(api, me) == [mine["id"], t1["id"]],
               what="followed tweet arrives")
    assert api.delete(f"/v1/users/{friend.id}/follows", token=me.token).status == 204
    eventually(lambda: feed_ids(api, me) == [mine["id"]],
               what="unfollowed user's tweets leave the feed")
    # Later tweets of the ex-friend do not arrive either.
    later = post_tweet(api, friend)
    mine2 = post_tweet(api, me)
    eventually(lambda: mine2["id"] in feed_ids(api, me), what="own tweet arrives")
    assert later["id"] not in feed_ids(api, me)


def test_deleted_tweet_vanishes_from_feed_at_once(api, make_user):
    me = make_user()
    friend = make_user()
    follow(api, me, friend.id, expect=(201,))
    keep = post_tweet(api, friend, "keep")
    gone = post_tweet(api, friend, "delete me")
    mine = post_tweet(api, me, "mine, deleted too")
    want = [mine["id"], gone["id"], keep["id"]]
    eventually(lambda: feed_ids(api, me) == want, what="tweets arrive")

    assert api.delete(f"/v1/tweets/{gone['id']}", token=friend.token).status == 204
    assert feed_ids(api, me) == [mine["id"], keep["id"]]
    assert feed_ids(api, friend) == [keep["id"]]
    assert api.delete(f"/v1/tweets/{mine['id']}", token=me.token).status == 204
    assert feed_ids(api, me) == [keep["id"]]
    assert_error(api.get(f"/v1/tweets/{gone['id']}"), 404, "not_found")


def test_feed_is_per_user(api, make_user):
    a = make_user()
    b = make_user()
    c = make_user()
    follow(api, a, c.id, expect=(201,))
    tc = post_tweet(api, c)
    eventually(lambda: feed_ids(api, a) == [tc["id"]], what="a sees c")
    assert feed_ids(api, b) == []


def _walk_ids(api, user, limit):
    pages = walk(api, f"/v1/feed?limit={limit}", "next", token=user.token)
    return [t["id"] for p in pages for t in p]


def test_feed_pages_past_the_timeline_cap(api, make_user):
    """Timelines keep a capped list of ids (--timeline-cap: 800); paging beyond it
    must still reach every tweet, for a follower who was fanned out to and
    for one who followed afterwards."""
    early = make_user("early")
    author = make_user("prolific")
    follow(api, early, author.id, expect=(201,))
    posted = []
    lock = threading.Lock()

    def writer(n):
        for i in range(n):
            t = post_tweet(api, author, f"bulk {i}")
            with lock:
                posted.append(t["id"])

    threads = [threading.Thread(target=writer, args=(225,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = sorted(posted, key=int, reverse=True)
    assert len(want) == 900
    late = make_user("late")
    follow(api, late, author.id, expect=(201,))
    for reader in (early, late):
        eventually(lambda: feed_ids(api, reader, "?limit=1") == want[:1],
                   what="newest bulk tweet in feed")
        assert _walk_ids(api, reader, 100) == want
    assert [t["id"] for t in feed(api, late, f"?limit=5&max_id={want[850]}")] \
        == want[851:856]


def test_deleted_tweets_do_not_end_a_walk_early(api, make_user):
    """A page whose slice was all deleted tweets must not read as the end."""
    me = make_user()
    friend = make_user()
    follow(api, me, friend.id, expect=(201,))
    ids = [post_tweet(api, friend, f"d{i}")["id"] for i in range(12)]
    eventually(lambda: feed_ids(api, me) == ids[::-1], what="tweets arrive")
    for i in range(3, 9):
        assert api.delete(f"/v1/tweets/{ids[i]}", token=friend.token).status == 204
    keep = ids[:3] + ids[9:]
    assert _walk_ids(api, me, 3) == keep[::-1]
    assert feed_ids(api, me, "?limit=4") == keep[::-1][:4]
    pages = walk(api, f"/v1/users/{friend.id}/tweets?limit=2", "next")
    assert [t["id"] for p in pages for t in p] == keep[::-1]


def test_refollow_brings_tweets_back(api, make_user):
    me = make_user()
    friend = make_user()
    follow(api, me, friend.id, expect=(201,))
    t = post_tweet(api, friend)
    eventually(lambda: feed_ids(api, me) == [t["id"]], what="arrives")
    assert api.delete(f"/v1/users/{friend.id}/follows", token=me.token).status == 204
    eventually(lambda: feed_ids(api, me) == [], what="leaves on unfollow")
    follow(api, me, friend.id, expect=(201,))
    eventually(lambda: feed_ids(api, me) == [t["id"]], what="back on refollow")
