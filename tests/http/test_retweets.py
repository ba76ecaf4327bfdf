"""Retweets (issue 15): POST/DELETE /v1/tweets/{id}/retweets, the retweet
item {"id", "author", "created_at", "retweet_of": Tweet} on every read
path, retweet_count and the reader's "retweeted", hybrid fanout by the
retweeter's rules, one item per tweet on a feed page, and a deleted
original taking every retweet with it. docs/api.md is the contract."""

import secrets

import pytest

from chirp_client import (assert_error, assert_tweet_shape, create_user, eventually,
                          follow, get_user, list_ids, post_tweet, start_server)


def assert_retweet_shape(item, retweeter, original_id):
    assert {"id", "author_id", "author", "created_at", "retweet_of"} <= item.keys(), item
    assert item["author"]["id"] == retweeter.id and item["author_id"] == retweeter.id, item
    assert item["author"]["handle"] == retweeter.handle, item
    assert item["retweet_of_id"] == original_id, item
    assert_tweet_shape(item["retweet_of"])
    assert item["retweet_of"]["id"] == original_id, item
    assert "text" not in item, item  # a retweet has no text of its own


def retweet(api, user, tweet_id, expect=(200, 201), **kw):
    r = api.post(f"/v1/tweets/{tweet_id}/retweets", token=user.token, **kw)
    assert r.status in expect, r
    return r


def unretweet(api, user, tweet_id, expect=204):
    r = api.delete(f"/v1/tweets/{tweet_id}/retweets", token=user.token)
    assert r.status == expect, r
    return r


def get_item(api, item_id, token=None):
    r = api.get(f"/v1/tweets/{item_id}", token=token)
    assert r.status == 200, r
    return r.json


def feed(api, user, query="limit=100"):
    r = api.get(f"/v1/feed?{query}", token=user.token)
    assert r.status == 200, r
    return r.json


def carried(item):
    """The tweet an item shows: itself, or a retweet's original."""
    return item["retweet_of"]["id"] if "retweet_of" in item else item["id"]


# ------------------------------------------------------------- the write

def test_retweet_answers_the_retweet_once_and_counts_once(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    assert t["retweet_count"] == 0 and t["retweeted"] is False, t
    first = retweet(api, b, t["id"], expect=(201,)).json
    assert_retweet_shape(first, b, t["id"])
    assert first["retweet_of"]["retweet_count"] == 1
    assert first["retweet_of"]["retweeted"] is True
    assert first["retweet_of"]["author"]["id"] == a.id
    again = retweet(api, b, t["id"], expect=(200,)).json  # twice is one retweet
    assert again["id"] == first["id"] and again["retweet_of"]["retweet_count"] == 1
    assert get_item(api, t["id"])["retweet_count"] == 1
    assert get_item(api, first["id"], b.token) == again
    # A retweet of a retweet retweets the original.
    c = make_user()
    third = retweet(api, c, first["id"], expect=(201,)).json
    assert_retweet_shape(third, c, t["id"])
    assert get_item(api, t["id"])["retweet_count"] == 2
    # Retweets do not count as the retweeter's tweets.
    assert get_user(api, b.id)["tweets_count"] == 0


def test_retweeted_is_the_readers_own_and_false_for_anonymous(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    rt = retweet(api, b, t["id"], expect=(201,)).json
    assert get_item(api, t["id"], b.token)["retweeted"] is True
    assert get_item(api, t["id"], c.token)["retweeted"] is False
    assert get_item(api, t["id"])["retweeted"] is False
    inner = get_item(api, rt["id"], c.token)["retweet_of"]
    assert inner["retweeted"] is False and inner["liked"] is False
    # A like of the retweet is a like of its original, seen in both.
    assert api.post(f"/v1/tweets/{rt['id']}/likes", token=c.token).status == 201
    assert get_item(api, t["id"], c.token)["liked"] is True
    assert get_item(api, rt["id"], c.token)["retweet_of"]["liked"] is True
    assert get_item(api, rt["id"], c.token)["retweet_of"]["like_count"] == 1


def test_unretweet_is_idempotent_and_only_the_retweeters_own(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    rt = retweet(api, b, t["id"], expect=(201,)).json
    # c undoes c's own retweet (none): b's stays; a body naming b changes nothing.
    unretweet(api, c, t["id"])
    r = api.request("DELETE", f"/v1/tweets/{t['id']}/retweets", token=c.token,
                    json_body={"user_id": b.id})
    assert r.status == 204
    assert get_item(api, t["id"])["retweet_count"] == 1
    # Nor can anyone but b delete the retweet item itself.
    for who in (a, c):
        assert_error(api.delete(f"/v1/tweets/{rt['id']}", token=who.token), 404, "not_found")
    assert get_item(api, rt["id"])["id"] == rt["id"]
    unretweet(api, b, t["id"])
    unretweet(api, b, t["id"])  # twice: still 204
    assert get_item(api, t["id"], b.token)["retweet_count"] == 0
    assert get_item(api, t["id"], b.token)["retweeted"] is False
    assert_error(api.get(f"/v1/tweets/{rt['id']}"), 404, "not_found")
    # Deleting the retweet item as a tweet undoes it too.
    rt2 = retweet(api, b, t["id"], expect=(201,)).json
    assert rt2["id"] != rt["id"]
    assert api.delete(f"/v1/tweets/{rt2['id']}", token=b.token).status == 204
    assert get_item(api, t["id"], b.token)["retweet_count"] == 0


def test_retweeted_by_pages_newest_first_with_link(api, make_user):
    a = make_user()
    t = post_tweet(api, a)
    fans = [make_user() for _ in range(3)]
    for u in fans:
        retweet(api, u, t["id"], expect=(201,))
    r = api.get(f"/v1/tweets/{t['id']}/retweeted_by?limit=2")
    assert r.status == 200, r
    assert [u["id"] for u in r.json] == [fans[2].id, fans[1].id], r
    link = r.header("Link")
    assert link and 'rel="next"' in link, r
    nxt = link.split(">")[0].lstrip("<")
    r2 = api.get(nxt[nxt.index("/v1/"):])
    assert [u["id"] for u in r2.json] == [fans[0].id], r2
    unretweet(api, fans[2], t["id"])
    assert list_ids(api, f"/v1/tweets/{t['id']}/retweeted_by") == [fans[1].id, fans[0].id]
    # Likes are another list.
    assert list_ids(api, f"/v1/tweets/{t['id']}/liked_by") == []
    assert_error(api.get("/v1/tweets/1/retweeted_by"), 404, "not_found")
    assert_error(api.get("/v1/tweets/x/retweeted_by"), 400, "invalid_id")
    assert_error(api.get(f"/v1/tweets/{t['id']}/retweeted_by?limit=0"), 422, "invalid_limit")


def test_retweet_bad_input_and_missing_tweets(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    for bad in ("abc", "0", "-5", "1.5", "99999999999999999999999"):
        assert_error(api.post(f"/v1/tweets/{bad}/retweets", token=b.token), 400, "invalid_id")
        assert_error(api.delete(f"/v1/tweets/{bad}/retweets", token=b.token), 400, "invalid_id")
    for missing in ("1", "9223372036854775807"):
        assert_error(api.post(f"/v1/tweets/{missing}/retweets", token=b.token), 404,
                     "not_found")
        assert_error(api.delete(f"/v1/tweets/{missing}/retweets", token=b.token), 404,
                     "not_found")
    assert_error(api.request("POST", f"/v1/tweets/{t['id']}/retweets", body="{nope",
                             token=b.token), 400)
    for method in ("POST", "DELETE"):
        assert_error(api.request(method, f"/v1/tweets/{t['id']}/retweets"), 401)
        assert_error(api.request(method, f"/v1/tweets/{t['id']}/retweets",
                                 token="not-a-token"), 401)
    assert get_item(api, t["id"])["retweet_count"] == 0  # nothing changed


def test_retweet_honours_idempotency_key(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    k = {"Idempotency-Key": "rt-" + secrets.token_hex(8)}
    first = retweet(api, b, t["id"], expect=(201,), headers=k)
    second = retweet(api, b, t["id"], expect=(201,), headers=k)  # a replay
    assert second.json == first.json
    assert get_item(api, t["id"])["retweet_count"] == 1


# ------------------------------------------------------------ read paths

def test_a_retweet_reaches_the_retweeters_followers_and_profile(api, make_user):
    a, b, reader = make_user(), make_user(), make_user()
    follow(api, reader, b.id)  # the reader follows the retweeter, not the author
    t = post_tweet(api, a, "worth passing on")
    rt = retweet(api, b, t["id"], expect=(201,)).json
    items = eventually(lambda: [x for x in feed(api, reader) if x["id"] == rt["id"]],
                       what="the retweet in the follower's feed")
    assert_retweet_shape(items[0], b, t["id"])
    assert items[0]["retweet_of"]["text"] == "worth passing on"
    assert items[0]["retweet_of"]["retweeted"] is False  # the reader's own state
    assert feed(api, b)[0]["id"] == rt["id"]  # the retweeter's own feed at once
    # The profile page lists the user's retweets with their tweets, newest first.
    own = post_tweet(api, b)
    page = api.get(f"/v1/users/{b.id}/tweets", token=b.token).json
    assert [x["id"] for x in page] == [own["id"], rt["id"]]
    assert page[1]["retweet_of"]["retweeted"] is True
    anon = api.get(f"/v1/users/{b.id}/tweets?limit=1").json
    assert [x["id"] for x in anon] == [own["id"]]


def test_a_tweet_shows_once_per_page_however_many_retweet_it(api, make_user):
    a, b, c, reader = make_user(), make_user(), make_user(), make_user()
    for who in (a, b, c):
        follow(api, reader, who.id)
    t = post_tweet(api, a)
    retweet(api, b, t["id"], expect=(201,))
    newest = retweet(api, c, t["id"], expect=(201,)).json
    other = post_tweet(api, a)

    def page():
        items = feed(api, reader)
        return items if any(x["id"] == newest["id"] for x in items) else None
    items = eventually(page, what="the retweets in the feed")
    shown = [carried(x) for x in items]
    assert shown.count(t["id"]) == 1, items
    # The newest item that carries the tweet is the one shown.
    assert [x["id"] for x in items][:2] == [other["id"], newest["id"]]
    # A small page is refilled rather than shortened by the duplicates.
    assert len(feed(api, reader, "limit=2")) == 2


def test_a_page_is_full_past_more_duplicates_than_it_has_refills(api, make_user):
    """Five followees retweet one tweet: below its newest carrier, a page of
    two finds four duplicates and then the original before the older
    tweet it should end with. Refilled one id at a time, its four reads of
    the timeline ran out on the duplicates and it ended short (the crash
    harness saw 99 items of 100 this way)."""
    a, reader = make_user(), make_user()
    fans = [make_user() for _ in range(5)]
    for who in [a] + fans:
        follow(api, reader, who.id)
    older = post_tweet(api, a)
    t = post_tweet(api, a)
    rts = [retweet(api, u, t["id"], expect=(201,)).json for u in fans]
    eventually(lambda: rts[-1]["id"] in [x["id"] for x in feed(api, reader)],
               what="the newest retweet in the feed")
    assert [x["id"] for x in feed(api, reader, "limit=2")] == [rts[-1]["id"], older["id"]]


def test_no_one_sees_their_own_tweet_twice_through_a_retweet(api, make_user):
    me, friend = make_user(), make_user()
    follow(api, me, friend.id)
    mine = post_tweet(api, me)
    rt = retweet(api, friend, mine["id"], expect=(201,)).json
    later = post_tweet(api, friend)
    eventually(lambda: any(x["id"] == later["id"] for x in feed(api, me)),
               what="the friend's tweet in the feed")
    items = feed(api, me)
    assert [carried(x) for x in items].count(mine["id"]) == 1, items
    assert rt["id"] not in [x["id"] for x in items]
    # Others see it as a retweet.
    other = make_user()
    follow(api, other, friend.id)
    assert rt["id"] in [x["id"] for x in feed(api, other)]


def test_deleting_the_original_removes_every_retweet_everywhere(api, make_user):
    a, b, c, reader = make_user(), make_user(), make_user(), make_user()
    follow(api, reader, b.id)
    follow(api, reader, c.id)
    t = post_tweet(api, a)
    rts = [retweet(api, u, t["id"], expect=(201,)).json for u in (b, c)]
    eventually(lambda: rts[1]["id"] in [x["id"] for x in feed(api, reader)],
               what="the newest retweet in the feed")  # once: the tweet is the same
    for r in rts:
        get_item(api, r["id"], reader.token)  # cached now
    assert api.delete(f"/v1/tweets/{t['id']}", token=a.token).status == 204
    # Gone at once from every read path.
    for r in rts:
        assert_error(api.get(f"/v1/tweets/{r['id']}"), 404, "not_found")
        assert_error(api.get(f"/v1/tweets/{r['id']}", token=reader.token), 404, "not_found")
    assert not {x["id"] for x in feed(api, reader)} & {r["id"] for r in rts}
    for u in (b, c):
        assert list_ids(api, f"/v1/users/{u.id}/tweets") == []
        assert feed(api, u) == []
    assert_error(api.post(f"/v1/tweets/{t['id']}/retweets", token=b.token), 404, "not_found")


def test_the_stream_sends_a_retweet_to_the_retweeters_followers(api, make_user):
    import json
    from test_stream import Stream  # the SSE client of the stream tests
    a, b, reader = make_user(), make_user(), make_user()
    follow(api, reader, b.id)
    t = post_tweet(api, a)
    s = Stream(api, token=reader.token)
    try:
        assert s.status == 200
        rt = retweet(api, b, t["id"], expect=(201,)).json
        ev = s.next_tweet()
        item = json.loads(ev["data"])
        assert ev["id"] == rt["id"], ev
        assert_retweet_shape(item, b, t["id"])
        assert item["retweet_of"]["retweeted"] is False  # a stream has no reader's state
    finally:
        s.close()


def test_the_stream_leaves_out_retweets_of_the_readers_own_tweets(api, make_user):
    import json
    from test_stream import Stream
    me, friend = make_user(), make_user()
    follow(api, me, friend.id)
    mine = post_tweet(api, me)
    s = Stream(api, token=me.token)
    try:
        assert s.status == 200
        rt = retweet(api, friend, mine["id"], expect=(201,)).json
        later = post_tweet(api, friend)
        # Up to the friend's tweet, posted after it, the retweet never comes
        # as a tweet: only as the notification that it was retweeted.
        seen, notified = [], []
        while not seen or seen[-1] != later["id"]:
            ev = s.next()
            if ev.get("event") == "notification":
                notified.append(json.loads(ev["data"])["type"])
                continue
            assert ev.get("event") == "tweet", ev
            assert ev["id"] != rt["id"], "the retweet of the reader's own tweet was sent"
            seen.append(ev["id"])
        assert json.loads(ev["data"])["text"] == later["text"]
        assert notified == ["retweet"]
    finally:
        s.close()


# ------------------------------------------------- fanout and durability

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A server where more than 3 followers make a celebrity."""
    srv = start_server(tmp_path_factory.mktemp("retweets"), "small",
                       "--celebrity-threshold", "3")
    yield srv
    assert srv.stop() == 0, srv.log_tail()


def test_a_celebritys_retweet_is_merged_at_read_time(small):
    api = small.live_client()
    celeb, author = create_user(api, "rc"), create_user(api, "ra")
    fans = [create_user(api, "rf") for _ in range(4)]
    for f in fans:
        follow(api, f, celeb.id)
    assert get_user(api, celeb.id)["followers_count"] > 3
    t = post_tweet(api, author)
    rt = retweet(api, celeb, t["id"], expect=(201,)).json
    for f in fans:  # not fanned out, yet there at once
        items = feed(api, f)
        assert items and items[0]["id"] == rt["id"], items
        assert_retweet_shape(items[0], celeb, t["id"])
    assert api.delete(f"/v1/tweets/{t['id']}", token=author.token).status == 204
    for f in fans:
        assert feed(api, f) == []


def test_a_retweet_survives_kill_9(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    a, b = create_user(api, "ka"), create_user(api, "kb")
    t = post_tweet(api, a)
    rt = retweet(api, b, t["id"], expect=(201,)).json
    srv.kill9()
    srv.start()
    api = srv.client()
    got = get_item(api, t["id"], b.token)
    assert got["retweet_count"] == 1 and got["retweeted"] is True
    assert get_item(api, rt["id"])["retweet_of"]["id"] == t["id"]
    assert list_ids(api, f"/v1/users/{b.id}/tweets") == [rt["id"]]
    assert srv.stop() == 0, srv.log_tail()
