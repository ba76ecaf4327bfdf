"""GET /v1/feed: own tweets plus the tweets of followed users, newest first.

Fanout may lag a little (DESIGN.md: availability over consistency for feeds),
so arrivals are polled; a deleted tweet must be gone as soon as the DELETE
returns, so deletions are checked at once.
"""

from chirp_client import (assert_error, assert_newest_first, assert_tweet_shape,
                          eventually, follow, parse_links, post_tweet)


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
