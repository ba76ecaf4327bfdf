"""Notifications, blocks and mutes, avatars (issue 15, second part).
docs/api.md is the contract."""

import io
import secrets
import urllib.parse

from PIL import Image

from chirp_client import (assert_error, assert_tweet_shape, assert_user_shape,
                          eventually, follow, get_user, list_ids, post_tweet)

TYPES = {"follow", "mention", "reply", "like", "retweet"}


def notifications(api, user, query=""):
    r = api.get("/v1/notifications" + query, token=user.token)
    assert r.status == 200, r
    assert r.header("Link"), r
    for n in r.json:
        assert set(n) >= {"id", "type", "created_at", "actor", "tweet", "count"}, n
        assert n["type"] in TYPES, n
        assert_user_shape(n["actor"])
        if n["tweet"] is not None:
            assert_tweet_shape(n["tweet"])
    return r.json


def unread(api, user):
    r = api.get("/v1/notifications/unread_count", token=user.token)
    assert r.status == 200, r
    assert set(r.json) == {"count"}, r
    return r.json["count"]


def like(api, user, tweet_id, expect=(200, 201)):
    r = api.post(f"/v1/tweets/{tweet_id}/likes", token=user.token)
    assert r.status in expect, r
    return r


def unlike(api, user, tweet_id):
    r = api.delete(f"/v1/tweets/{tweet_id}/likes", token=user.token)
    assert r.status == 204, r


def block(api, user, other_id, expect=(200, 201)):
    r = api.post(f"/v1/users/{other_id}/blocks", token=user.token)
    assert r.status in expect, r
    return r


def mute(api, user, other_id, expect=(200, 201)):
    r = api.post(f"/v1/users/{other_id}/mutes", token=user.token)
    assert r.status in expect, r
    return r


def feed_ids(api, user):
    return list_ids(api, "/v1/feed?limit=100", token=user.token)


# --------------------------------------------------------- notifications

def test_follow_reply_like_and_mention_notify_their_target(api, make_user):
    a, b = make_user(), make_user()
    follow(api, b, a.id)
    t = post_tweet(api, a, "hello")
    r = api.post("/v1/tweets", {"text": "answer", "in_reply_to_id": t["id"]}, token=b.token)
    assert r.status == 201, r
    reply_id = r.json["id"]
    like(api, b, t["id"])
    m = post_tweet(api, b, f"hey @{a.handle.upper()} and @{a.handle}, and @nobody_{secrets.token_hex(3)}")
    got = notifications(api, a)
    assert [n["type"] for n in got] == ["mention", "like", "reply", "follow"], got
    assert all(n["actor"]["id"] == b.id for n in got)
    assert got[0]["tweet"]["id"] == m["id"]  # mentioned twice: one notification
    assert got[1]["tweet"]["id"] == t["id"] and got[1]["count"] == 1
    assert got[2]["tweet"]["id"] == reply_id
    assert got[3]["tweet"] is None
    # Newest first, ids as strings, and the reader's own state spliced in.
    assert [n["id"] for n in got] == sorted((n["id"] for n in got), key=int, reverse=True)
    assert got[1]["tweet"]["liked"] is False
    # b got nothing: nobody acted on b.
    assert notifications(api, b) == []


def test_acting_on_ones_own_tweet_notifies_nobody(api, make_user):
    a = make_user()
    t = post_tweet(api, a)
    like(api, a, t["id"])
    r = api.post("/v1/tweets", {"text": f"me again @{a.handle}", "in_reply_to_id": t["id"]},
                 token=a.token)
    assert r.status == 201, r
    assert notifications(api, a) == []
    assert unread(api, a) == 0


def test_likes_group_per_tweet_with_a_count_and_the_latest_actor(api, make_user):
    a = make_user()
    likers = [make_user() for _ in range(3)]
    t = post_tweet(api, a)
    for u in likers:
        like(api, u, t["id"])
    like(api, likers[0], t["id"])  # twice is one like, and one notification
    got = notifications(api, a)
    assert len(got) == 1, got
    assert got[0]["type"] == "like" and got[0]["count"] == 3
    assert got[0]["actor"]["id"] == likers[-1].id
    assert got[0]["tweet"]["like_count"] == 3


def test_an_unlike_within_the_minute_takes_the_notification_back(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    like(api, b, t["id"])
    unlike(api, b, t["id"])
    assert notifications(api, a, "?types=like") == []
    like(api, b, t["id"])
    like(api, c, t["id"])
    unlike(api, c, t["id"])
    got = notifications(api, a, "?types=like")
    assert len(got) == 1 and got[0]["count"] == 1 and got[0]["actor"]["id"] == b.id, got


def test_a_deleted_tweet_takes_its_notifications_with_it(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    like(api, b, t["id"])
    m = post_tweet(api, b, f"@{a.handle} look")
    assert len(notifications(api, a)) == 2
    assert api.delete(f"/v1/tweets/{m['id']}", token=b.token).status == 204
    assert api.delete(f"/v1/tweets/{t['id']}", token=a.token).status == 204
    assert notifications(api, a) == []


def test_types_filter_paging_and_link(api, make_user):
    a = make_user()
    fans = [make_user() for _ in range(3)]
    t = post_tweet(api, a)
    for u in fans:
        follow(api, u, a.id)
    like(api, fans[0], t["id"])
    follows = notifications(api, a, "?types=follow")
    assert [n["actor"]["id"] for n in follows] == [u.id for u in reversed(fans)]
    both = notifications(api, a, "?types=like%2Cfollow")
    assert len(both) == 4
    r = api.get("/v1/notifications?types=follow&limit=2", token=a.token)
    assert r.status == 200 and len(r.json) == 2, r
    link = r.header("Link")
    assert "types=follow" in link and 'rel="next"' in link, link
    nxt = link.split(";")[0].strip("<>")
    r2 = api.get(nxt, token=a.token)
    assert [n["actor"]["id"] for n in r2.json] == [fans[0].id], r2
    older = notifications(api, a, f"?max_id={r.json[1]['id']}")
    assert {n["type"] for n in older} <= {"follow", "like"}


def test_bad_notification_queries_are_422(api, make_user):
    a = make_user()
    for q in ("?types=", "?types=likes", "?types=like,", "?types=like,,follow",
              "?types=LIKE", "?limit=0", "?limit=101", "?max_id=abc"):
        r = api.get("/v1/notifications" + q, token=a.token)
        assert r.status in (400, 422), (q, r)
        assert r.json["code"], r


def test_unread_count_and_the_read_marker(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    follow(api, b, a.id)
    follow(api, c, a.id)
    assert unread(api, a) == 2
    newest = notifications(api, a)[0]["id"]
    older = notifications(api, a)[1]["id"]
    r = api.post("/v1/notifications/read", {"up_to_id": older}, token=a.token)
    assert r.status == 204, r
    assert unread(api, a) == 1
    r = api.post("/v1/notifications/read", {"up_to_id": newest}, token=a.token)
    assert r.status == 204, r
    assert unread(api, a) == 0
    t = post_tweet(api, a)
    like(api, b, t["id"])
    assert unread(api, a) == 1
    # Others' markers are their own.
    assert unread(api, b) == 0


def test_bad_read_markers_change_nothing(api, make_user):
    a, b = make_user(), make_user()
    follow(api, b, a.id)
    for body, status, code in (({}, 422, "invalid_up_to_id"),
                               ({"up_to_id": None}, 422, "invalid_up_to_id"),
                               ({"up_to_id": 12}, 400, "wrong_type"),
                               ({"up_to_id": ["1"]}, 400, "wrong_type"),
                               ({"up_to_id": "x1"}, 422, "invalid_up_to_id"),
                               ({"up_to_id": "0"}, 422, "invalid_up_to_id"),
                               ({"up_to_id": "99999999999999999999999"}, 422,
                                "invalid_up_to_id")):
        r = api.post("/v1/notifications/read", body, token=a.token)
        assert_error(r, status, code)
    r = api.request("POST", "/v1/notifications/read", body=b"{not json",
                    content_type="application/json", token=a.token)
    assert r.status == 400, r
    assert unread(api, a) == 1


def test_notifications_are_the_token_users_only(api, make_user):
    a, b = make_user(), make_user()
    follow(api, b, a.id)
    for method, path, body in (("GET", "/v1/notifications", None),
                               ("GET", "/v1/notifications/unread_count", None),
                               ("POST", "/v1/notifications/read", {"up_to_id": "1"})):
        r = api.request(method, path, json_body=body) if body else api.request(method, path)
        assert_error(r, 401)
    # A body naming another user changes the caller's marker, not theirs.
    newest = notifications(api, a)[0]["id"]
    r = api.post("/v1/notifications/read", {"up_to_id": newest, "user_id": a.id},
                 token=b.token)
    assert r.status == 204, r
    assert unread(api, a) == 1
    assert notifications(api, b) == []


def test_one_notification_by_id_dismissed_and_all_cleared(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a, "notice this")
    follow(api, b, a.id)
    like(api, c, t["id"])
    ns = notifications(api, a)
    assert [n["type"] for n in ns] == ["like", "follow"], ns
    liked, followed = ns
    # One by id: the list's own rendering of it.
    r = api.get(f"/v1/notifications/{liked['id']}", token=a.token)
    assert r.status == 200 and r.json == liked, r
    # Another user's id is as missing as one that never was.
    assert_error(api.get(f"/v1/notifications/{liked['id']}", token=b.token), 404, "not_found")
    assert_error(api.delete(f"/v1/notifications/{liked['id']}", token=b.token), 404,
                 "not_found")
    assert_error(api.get("/v1/notifications/12", token=a.token), 404, "not_found")
    assert_error(api.get("/v1/notifications/x", token=a.token), 400, "invalid_id")
    assert_error(api.delete("/v1/notifications/x", token=a.token), 400, "invalid_id")
    assert_error(api.delete(f"/v1/notifications/{liked['id']}"), 401)
    assert_error(api.delete("/v1/notifications"), 401)
    assert [n["id"] for n in notifications(api, a)] == [liked["id"], followed["id"]]
    # Dismissed: gone from the list, the unread count and by id; twice is 404.
    assert unread(api, a) == 2
    r = api.delete(f"/v1/notifications/{liked['id']}", token=a.token)
    assert r.status == 204, r
    assert [n["id"] for n in notifications(api, a)] == [followed["id"]]
    assert unread(api, a) == 1
    assert_error(api.get(f"/v1/notifications/{liked['id']}", token=a.token), 404, "not_found")
    assert_error(api.delete(f"/v1/notifications/{liked['id']}", token=a.token), 404,
                 "not_found")
    # A new like after the dismissal starts a new group.
    like(api, b, t["id"])
    ns = notifications(api, a)
    assert [(n["type"], n["count"]) for n in ns] == [("like", 1), ("follow", 1)], ns
    assert ns[0]["id"] != liked["id"] and ns[0]["actor"]["id"] == b.id
    # Cleared: every one of the user's, and only the user's.
    follow(api, a, b.id)
    assert len(notifications(api, b)) == 1
    r = api.delete("/v1/notifications", token=a.token)
    assert r.status == 204, r
    assert notifications(api, a) == [] and unread(api, a) == 0
    assert len(notifications(api, b)) == 1
    r = api.delete("/v1/notifications", token=a.token)
    assert r.status == 204, r


# -------------------------------------------------------------- blocks

def test_a_block_ends_follows_both_ways_and_refuses_new_ones(api, make_user):
    a, b = make_user(), make_user()
    follow(api, a, b.id)
    follow(api, b, a.id)
    r = block(api, a, b.id, expect=(201,))
    assert_user_shape(r.json)
    assert r.json["id"] == b.id
    assert block(api, a, b.id, expect=(200,)).json["id"] == b.id  # twice is one block
    assert get_user(api, a.id)["followers_count"] == 0
    assert get_user(api, a.id)["following_count"] == 0
    assert get_user(api, b.id)["followers_count"] == 0
    assert list_ids(api, f"/v1/users/{a.id}/followers") == []
    r = api.post(f"/v1/users/{a.id}/follows", token=b.token)
    assert_error(r, 403, "blocked")
    r = api.post(f"/v1/users/{b.id}/follows", token=a.token)
    assert_error(r, 403, "blocked")
    assert list_ids(api, "/v1/blocks", token=a.token) == [b.id]
    assert list_ids(api, "/v1/blocks", token=b.token) == []
    assert api.delete(f"/v1/users/{b.id}/blocks", token=a.token).status == 204
    assert api.delete(f"/v1/users/{b.id}/blocks", token=a.token).status == 204
    assert list_ids(api, "/v1/blocks", token=a.token) == []
    follow(api, b, a.id, expect=(201,))


def test_the_blockers_tweets_profile_and_threads_are_404_to_the_blocked(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    r = api.post("/v1/tweets", {"text": "reply", "in_reply_to_id": t["id"]}, token=c.token)
    assert r.status == 201
    reply_id = r.json["id"]
    block(api, a, b.id)
    for path in (f"/v1/tweets/{t['id']}", f"/v1/tweets/{t['id']}/context",
                 f"/v1/users/{a.id}", f"/v1/users/by-handle/{a.handle}",
                 f"/v1/users/{a.id}/tweets"):
        assert_error(api.get(path, token=b.token), 404)
        assert api.get(path, token=c.token).status == 200, path
        assert api.get(path).status == 200, path
    # A reply under the blocker's tweet is there, its thread without the blocker.
    r = api.get(f"/v1/tweets/{reply_id}/context", token=b.token)
    assert r.status == 200 and r.json["ancestors"] == [], r
    # Nor can the blocked like or answer the blocker's tweets.
    assert_error(api.post(f"/v1/tweets/{t['id']}/likes", token=b.token), 404)
    r = api.post("/v1/tweets", {"text": "hi", "in_reply_to_id": t["id"]}, token=b.token)
    assert_error(r, 422, "invalid_reply")
    assert get_user(api, a.id)["tweets_count"] == 1


def test_a_block_hides_tweets_both_ways_in_feeds_and_search(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    word = "blk" + secrets.token_hex(4)
    follow(api, a, c.id)
    follow(api, b, c.id)
    tb = post_tweet(api, b, f"{word} from b")
    ta = post_tweet(api, a, f"{word} from a")
    tc = post_tweet(api, c, f"{word} from c @{a.handle}")
    eventually(lambda: len(list_ids(api, f"/v1/search/tweets?q={word}&sort=recent")) == 3,
               what="indexed")
    follow(api, a, b.id)
    follow(api, b, a.id)
    assert tb["id"] in feed_ids(api, a) and ta["id"] in feed_ids(api, b)
    block(api, a, b.id)
    assert tb["id"] not in feed_ids(api, a)
    assert ta["id"] not in feed_ids(api, b)
    assert tc["id"] in feed_ids(api, a) and tc["id"] in feed_ids(api, b)
    search = f"/v1/search/tweets?q={word}&sort=recent"
    assert set(list_ids(api, search, token=a.token)) == {ta["id"], tc["id"]}
    assert set(list_ids(api, search, token=b.token)) == {tb["id"], tc["id"]}
    assert len(list_ids(api, search)) == 3


def test_a_block_and_a_mute_hide_their_notifications(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    like(api, b, t["id"])
    post_tweet(api, b, f"@{a.handle} hi")
    follow(api, c, a.id)
    assert unread(api, a) == 3
    block(api, a, b.id)
    assert [n["actor"]["id"] for n in notifications(api, a)] == [c.id]
    assert unread(api, a) == 1
    mute(api, a, c.id)
    assert notifications(api, a) == [] and unread(api, a) == 0
    assert api.delete(f"/v1/users/{c.id}/mutes", token=a.token).status == 204
    assert api.delete(f"/v1/users/{b.id}/blocks", token=a.token).status == 204
    assert len(notifications(api, a)) == 3


def test_a_mute_hides_the_muted_from_the_feed_only(api, make_user):
    a, b = make_user(), make_user()
    follow(api, a, b.id)
    word = "mut" + secrets.token_hex(4)
    tb = post_tweet(api, b, f"{word} muted")
    assert tb["id"] in feed_ids(api, a)
    r = mute(api, a, b.id, expect=(201,))
    assert r.json["id"] == b.id
    mute(api, a, b.id, expect=(200,))
    assert tb["id"] not in feed_ids(api, a)
    # Nothing else changes: the follow, the profile, the tweet, search.
    assert get_user(api, b.id)["followers_count"] == 1
    assert api.get(f"/v1/tweets/{tb['id']}", token=a.token).status == 200
    eventually(lambda: list_ids(api, f"/v1/search/tweets?q={word}&sort=recent",
                                token=a.token) == [tb["id"]], what="muted in search")
    assert list_ids(api, "/v1/mutes", token=a.token) == [b.id]
    assert api.delete(f"/v1/users/{b.id}/mutes", token=a.token).status == 204
    assert tb["id"] in feed_ids(api, a)
    assert list_ids(api, "/v1/mutes", token=a.token) == []


def test_muted_and_blocked_tweets_leave_pages_past_the_cap_and_celebrities(api, make_user):
    """The filter is at hydration, after every source of ids: a store page
    below the timeline (max_id far back) is filtered like the first."""
    a, b, c = make_user(), make_user(), make_user()
    follow(api, a, b.id)
    follow(api, a, c.id)
    tb = post_tweet(api, b, "old b")
    tc = post_tweet(api, c, "old c")
    for _ in range(3):
        post_tweet(api, a)
    mute(api, a, b.id)
    r = api.get(f"/v1/feed?limit=100&max_id={tc['id']}", token=a.token)
    assert r.status == 200 and tb["id"] not in [t["id"] for t in r.json], r
    r = api.get(f"/v1/feed?limit=100&max_id={int(tc['id']) + 1}", token=a.token)
    assert [t["id"] for t in r.json][:1] == [tc["id"]], r


def test_block_and_mute_lists_page_newest_first(api, make_user):
    a = make_user()
    others = [make_user() for _ in range(3)]
    for u in others:
        block(api, a, u.id)
        mute(api, a, u.id)
    want = [u.id for u in reversed(others)]
    assert list_ids(api, "/v1/blocks", token=a.token) == want
    assert list_ids(api, "/v1/mutes", token=a.token) == want
    r = api.get("/v1/blocks?limit=2", token=a.token)
    assert [u["id"] for u in r.json] == want[:2]
    nxt = r.header("Link").split(";")[0].strip("<>")
    assert [u["id"] for u in api.get(nxt, token=a.token).json] == want[2:]


def test_blocks_and_mutes_authorisation_and_bad_input(api, make_user):
    a, b = make_user(), make_user()
    for method in ("POST", "DELETE"):
        for kind in ("blocks", "mutes"):
            assert_error(api.request(method, f"/v1/users/{b.id}/{kind}"), 401)
            assert_error(api.request(method, f"/v1/users/{a.id}/{kind}", token=a.token), 422,
                         "cannot_target_self")
            for bad in ("abc", "0", "-1", "1.5", "99999999999999999999999"):
                r = api.request(method, f"/v1/users/{bad}/{kind}", token=a.token)
                assert r.status in (400, 404), (bad, r)
    for kind in ("blocks", "mutes"):
        assert_error(api.post(f"/v1/users/1/{kind}", token=a.token), 404)
        assert_error(api.get(f"/v1/{kind}"), 401)
        r = api.request("POST", f"/v1/users/{b.id}/{kind}", body=b"{nope",
                        content_type="application/json", token=a.token)
        assert r.status == 400, r
    # b cannot undo or see a's blocks and mutes: b's deletes are of b's own.
    block(api, a, b.id)
    mute(api, a, b.id)
    assert api.delete(f"/v1/users/{a.id}/blocks", token=b.token).status == 204
    assert api.delete(f"/v1/users/{a.id}/mutes", token=b.token).status == 204
    assert list_ids(api, "/v1/blocks", token=a.token) == [b.id]
    assert list_ids(api, "/v1/mutes", token=a.token) == [b.id]
    assert list_ids(api, "/v1/blocks", token=b.token) == []


# -------------------------------------------------------------- avatars

def png(w=64, h=64):
    img = Image.new("RGB", (w, h), (10, 120, 200))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def upload_ready(api, user):
    r = api.post("/v1/media", {"content_type": "image/png", "size": len(data := png())},
                 token=user.token)
    assert r.status == 201, r
    m = r.json
    if m.get("parts"):
        raise AssertionError("a small image is one PUT")
    put = api.request("PUT", m["upload"]["url"], body=data,
                      content_type="application/octet-stream")
    assert put.status == 200, put
    r = api.post(f"/v1/media/{m['id']}/complete", {}, token=user.token)
    assert r.status == 202, r
    eventually(lambda: api.get(f"/v1/media/{m['id']}", token=user.token).json["status"]
               == "ready", what="processed")
    return m["id"]


def test_avatar_set_shown_and_cleared(api, make_user):
    a, fan = make_user(), make_user()
    follow(api, fan, a.id)
    assert get_user(api, a.id)["avatar_url"] is None
    t = post_tweet(api, a, "before the picture")
    assert t["author"]["avatar_url"] is None, t
    assert feed_ids(api, fan) == [t["id"]]  # its JSON is cached now
    mid = upload_ready(api, a)
    r = api.request("PATCH", "/v1/users/me", json_body={"avatar_media_id": mid,
                                                        "display_name": "Pic"},
                    token=a.token)
    assert r.status == 200, r
    url = r.json["avatar_url"]
    assert url and mid in url and r.json["display_name"] == "Pic", r
    assert get_user(api, a.id)["avatar_url"] == url
    # Tweets carry their author's avatar, the cached ones too (re-rendered
    # by the author's fanout job, as for a new display name), and retweets.
    eventually(lambda: api.get(f"/v1/tweets/{t['id']}").json["author"]["avatar_url"] == url,
               timeout=5, what="the cached tweet re-rendered with the avatar")
    eventually(lambda: api.get("/v1/feed", token=fan.token).json[0]["author"]["avatar_url"]
               == url, timeout=5, what="the feed's copy re-rendered with the avatar")
    rt = api.post(f"/v1/tweets/{t['id']}/retweets", token=a.token)
    assert rt.status == 201 and rt.json["author"]["avatar_url"] == url, rt
    assert rt.json["retweet_of"]["author"]["avatar_url"] == url, rt
    img = api.fetch(url)
    assert img.status == 200 and img.body[:8] == b"\x89PNG\r\n\x1a\n", img
    # The avatar media is held: it cannot go on a tweet too.
    r = api.post("/v1/tweets", {"text": "pic", "media_ids": [mid]}, token=a.token)
    assert_error(r, 422, "invalid_media")
    r = api.request("PATCH", "/v1/users/me", json_body={"avatar_media_id": None},
                    token=a.token)
    assert r.status == 200 and r.json["avatar_url"] is None, r
    assert get_user(api, a.id)["display_name"] == "Pic"


def test_bad_avatars_are_refused_and_change_nothing(api, make_user):
    a, b = make_user(), make_user()
    theirs = upload_ready(api, b)
    on_tweet = upload_ready(api, a)
    r = api.post("/v1/tweets", {"text": "with media", "media_ids": [on_tweet]}, token=a.token)
    assert r.status == 201, r
    for body, status, code in (({"avatar_media_id": 5}, 400, "wrong_type"),
                               ({"avatar_media_id": ["1"]}, 400, "wrong_type"),
                               ({"avatar_media_id": "zz"}, 422, "invalid_avatar"),
                               ({"avatar_media_id": "1"}, 422, "invalid_avatar"),
                               ({"avatar_media_id": theirs}, 422, "invalid_avatar"),
                               ({"avatar_media_id": on_tweet}, 422, "invalid_avatar"),
                               ({"avatar_media_id": theirs, "bio": "new"}, 422,
                                "invalid_avatar")):
        r = api.request("PATCH", "/v1/users/me", json_body=body, token=a.token)
        assert_error(r, status, code)
    u = get_user(api, a.id)
    assert u["avatar_url"] is None and u["bio"] == "", u
    assert_error(api.request("PATCH", "/v1/users/me", json_body={"avatar_media_id": None}),
                 401)


# ------------------------------------------------------------- durability

def test_blocks_mutes_follows_and_notifications_survive_kill_9(server_factory):
    from chirp_client import create_user
    srv = server_factory()
    srv.start()
    api = srv.client()
    a, b, c = (create_user(api, p) for p in ("ka", "kb", "kc"))
    follow(api, c, a.id)
    follow(api, a, b.id)
    block(api, a, b.id, expect=(201,))
    mute(api, a, c.id, expect=(201,))
    follow(api, b, c.id)
    srv.kill9()
    srv.start()
    api = srv.client()
    assert list_ids(api, "/v1/blocks", token=a.token) == [b.id]
    assert list_ids(api, "/v1/mutes", token=a.token) == [c.id]
    assert list_ids(api, f"/v1/users/{c.id}/followers") == [b.id]
    assert list_ids(api, f"/v1/users/{a.id}/followers") == [c.id]
    assert list_ids(api, f"/v1/users/{a.id}/following") == []  # the block ended it
    assert_error(api.post(f"/v1/users/{a.id}/follows", token=b.token), 403, "blocked")
    got = notifications(api, c)
    assert [(n["type"], n["actor"]["id"]) for n in got] == [("follow", b.id)]
    api.delete(f"/v1/users/{c.id}/mutes", token=a.token)
    assert [n["actor"]["id"] for n in notifications(api, a)] == [c.id]
    assert srv.stop() == 0, srv.log_tail()


def test_a_page_of_only_muted_tweets_still_leads_on(api, make_user):
    """More muted tweets in a row than a page looks at: the page may come
    back short or empty, but its Link goes on below them to the rest."""
    a, friend, noisy = make_user(), make_user(), make_user()
    follow(api, a, friend.id)
    follow(api, a, noisy.id)
    old = post_tweet(api, friend, "under the noise")
    for i in range(10):
        post_tweet(api, noisy, f"noise {i}")
    mute(api, a, noisy.id)
    path, seen = "/v1/feed?limit=2", []
    for _ in range(10):
        r = api.get(path, token=a.token)
        assert r.status == 200, r
        seen += [t["id"] for t in r.json]
        if old["id"] in seen:
            break
        nxt = [p for p in r.header("Link").split(", ") if 'rel="next"' in p]
        assert nxt, r.header("Link")
        path = nxt[0].split(";")[0].strip("<>")
    assert seen == [old["id"]], seen


# ------------------------------------------- retweets, with notifications and blocks

def retweet(api, user, tweet_id, expect=(200, 201)):
    r = api.post(f"/v1/tweets/{tweet_id}/retweets", token=user.token)
    assert r.status in expect, r
    return r


def test_retweets_notify_the_author_grouped_and_an_undo_takes_it_back(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    retweet(api, b, t["id"])
    retweet(api, b, t["id"])  # twice is one retweet: one notification
    retweet(api, c, t["id"])
    got = notifications(api, a)
    assert [(n["type"], n["actor"]["id"], n["count"]) for n in got] == [("retweet", c.id, 2)], got
    assert got[0]["tweet"]["id"] == t["id"] and got[0]["tweet"]["retweet_count"] == 2
    # Undone within the minute: the group counts one fewer, its latest
    # retweeter is the one left; then it goes.
    assert api.delete(f"/v1/tweets/{t['id']}/retweets", token=c.token).status == 204
    got = notifications(api, a)
    assert [(n["type"], n["actor"]["id"], n["count"]) for n in got] == [("retweet", b.id, 1)], got
    assert api.delete(f"/v1/tweets/{t['id']}/retweets", token=b.token).status == 204
    assert notifications(api, a) == []
    # Retweeting one's own tweet notifies nobody.
    retweet(api, a, t["id"])
    assert notifications(api, a) == []


def test_a_block_hides_retweets_by_either_author_and_refuses_new_ones(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    follow(api, a, c.id)
    tb = post_tweet(api, b, "from b")
    rt = retweet(api, c, tb["id"]).json  # c retweets b; a follows c
    assert rt["id"] in feed_ids(api, a)
    block(api, a, b.id)  # a blocks the original's author
    assert rt["id"] not in feed_ids(api, a)
    # A single GET is 404 only to the blocked, not to the blocker.
    assert api.get(f"/v1/tweets/{rt['id']}", token=a.token).status == 200
    # The blocked user cannot retweet (or like) the blocker's tweets.
    ta = post_tweet(api, a, "from a")
    r = api.post(f"/v1/tweets/{ta['id']}/retweets", token=b.token)
    assert_error(r, 404)
    assert api.get(f"/v1/tweets/{ta['id']}", token=a.token).json["retweet_count"] == 0
    # A retweet of the blocker's tweet, made by someone else, is 404 to the blocked.
    rta = retweet(api, c, ta["id"]).json
    assert api.get(f"/v1/tweets/{rta['id']}", token=b.token).status == 404
    assert api.get(f"/v1/tweets/{rta['id']}", token=c.token).status == 200
    # A mute of the retweeter hides the retweet from the muter's feed.
    d = make_user()
    follow(api, d, c.id)
    assert rta["id"] in feed_ids(api, d)
    mute(api, d, c.id)
    assert rta["id"] not in feed_ids(api, d)
