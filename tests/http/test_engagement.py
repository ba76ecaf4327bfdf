"""Conversations and engagement (issue 15, first part): replies and a
tweet's context, likes, reply/like counts with the reader's "liked", and
profile edits (PATCH /v1/users/me). docs/api.md is the contract."""

import secrets

from chirp_client import (assert_error, assert_tweet_shape, assert_user_shape,
                          create_user, eventually, follow, get_user, list_ids,
                          post_tweet)


def reply(api, user, to_id, text=None, **kw):
    r = api.post("/v1/tweets", {"text": text or "re " + secrets.token_hex(4),
                                "in_reply_to_id": to_id}, token=user.token, **kw)
    assert r.status == 201, r
    assert_tweet_shape(r.json)
    return r.json


def get_tweet(api, tweet_id, token=None):
    r = api.get(f"/v1/tweets/{tweet_id}", token=token)
    assert r.status == 200, r
    assert_tweet_shape(r.json)
    return r.json


def context(api, tweet_id, token=None):
    r = api.get(f"/v1/tweets/{tweet_id}/context", token=token)
    assert r.status == 200, r
    assert set(r.json) == {"ancestors", "descendants"}, r
    for t in r.json["ancestors"] + r.json["descendants"]:
        assert_tweet_shape(t)
    return ([t["id"] for t in r.json["ancestors"]],
            [t["id"] for t in r.json["descendants"]])


def like(api, user, tweet_id, expect=(200, 201), **kw):
    r = api.post(f"/v1/tweets/{tweet_id}/likes", token=user.token, **kw)
    assert r.status in expect, r
    return r


# --------------------------------------------------------------- replies

def test_a_tweet_that_is_no_reply_says_so_with_nulls_and_zero_counts(api, make_user):
    u = make_user()
    t = post_tweet(api, u)
    assert t["in_reply_to_id"] is None and t["in_reply_to_user_id"] is None, t
    assert t["reply_count"] == 0 and t["like_count"] == 0 and t["liked"] is False, t


def test_a_reply_names_its_target_and_its_author_and_counts_on_it(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a, "the question")
    r = reply(api, b, t["id"], "the answer")
    assert r["in_reply_to_id"] == t["id"]
    assert r["in_reply_to_user_id"] == a.id
    assert get_tweet(api, r["id"])["in_reply_to_id"] == t["id"]
    assert get_tweet(api, t["id"])["reply_count"] == 1
    reply(api, a, t["id"])
    assert get_tweet(api, t["id"])["reply_count"] == 2
    # Deleting a reply takes it off the count.
    assert api.delete(f"/v1/tweets/{r['id']}", token=b.token).status == 204
    assert get_tweet(api, t["id"])["reply_count"] == 1


def test_a_reply_to_a_missing_or_deleted_tweet_is_422(api, make_user):
    u = make_user()
    t = post_tweet(api, u)
    assert api.delete(f"/v1/tweets/{t['id']}", token=u.token).status == 204
    for target in (t["id"], "1", "18446744073709551615"):
        r = api.post("/v1/tweets", {"text": "hello?", "in_reply_to_id": target},
                     token=u.token)
        assert_error(r, 422, "invalid_reply")
    assert get_user(api, u.id)["tweets_count"] == 0  # nothing half-written


def test_bad_in_reply_to_id_values(api, make_user):
    u = make_user()
    for bad in (12, 1.5, True, ["1"], {"id": "1"}):
        r = api.post("/v1/tweets", {"text": "x", "in_reply_to_id": bad}, token=u.token)
        assert_error(r, 400, "wrong_type")
    for bad in ("", "abc", "-1", "0x10", " 1", "99999999999999999999999"):
        r = api.post("/v1/tweets", {"text": "x", "in_reply_to_id": bad}, token=u.token)
        assert_error(r, 422, "invalid_reply")
    # null is the same as no reply
    r = api.post("/v1/tweets", {"text": "x", "in_reply_to_id": None}, token=u.token)
    assert r.status == 201 and r.json["in_reply_to_id"] is None, r


def test_context_is_ancestors_and_descendants_oldest_first(api, make_user):
    a, b = make_user(), make_user()
    root = post_tweet(api, a, "root")
    r1 = reply(api, b, root["id"])
    r2 = reply(api, a, r1["id"])
    r3 = reply(api, b, r2["id"])
    side = reply(api, a, root["id"])
    assert context(api, root["id"]) == ([], [r1["id"], r2["id"], r3["id"], side["id"]])
    assert context(api, r2["id"]) == ([root["id"], r1["id"]], [r3["id"]])
    assert context(api, r3["id"]) == ([root["id"], r1["id"], r2["id"]], [])
    assert_error(api.get("/v1/tweets/1/context"), 404, "not_found")
    assert_error(api.get("/v1/tweets/abc/context"), 400, "invalid_id")


def test_context_is_bounded(api, make_user):
    u = make_user()
    root = post_tweet(api, u, "popular")
    ids = [reply(api, u, root["id"])["id"] for _ in range(45)]
    up, down = context(api, root["id"])
    assert down == ids[:40]  # the first 40 replies, oldest first
    # 41 deep: the ancestors stop at 40, the nearest ones
    chain = [root["id"]]
    for _ in range(41):
        chain.append(reply(api, u, chain[-1])["id"])
    up, down = context(api, chain[-1])
    assert up == chain[-41:-1]


def test_replies_to_a_deleted_tweet_stay_readable(api, make_user):
    a, b = make_user(), make_user()
    root = post_tweet(api, a)
    r1 = reply(api, b, root["id"])
    r2 = reply(api, a, r1["id"])
    assert api.delete(f"/v1/tweets/{root['id']}", token=a.token).status == 204
    t = get_tweet(api, r1["id"])
    assert t["in_reply_to_id"] == root["id"]  # it still says what it answered
    assert context(api, r1["id"]) == ([], [r2["id"]])
    assert context(api, r2["id"]) == ([r1["id"]], [])
    assert_error(api.get(f"/v1/tweets/{root['id']}/context"), 404, "not_found")
    assert r1["id"] in list_ids(api, f"/v1/users/{b.id}/tweets")


# ------------------------------------------------------------------ likes

def test_like_twice_is_one_like_and_unlike_is_idempotent(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    r = like(api, b, t["id"], expect=(201,))
    assert_tweet_shape(r.json)
    assert r.json["id"] == t["id"] and r.json["like_count"] == 1 and r.json["liked"] is True
    r = like(api, b, t["id"], expect=(200,))
    assert r.json["like_count"] == 1 and r.json["liked"] is True
    assert get_tweet(api, t["id"], b.token)["liked"] is True
    assert get_tweet(api, t["id"], a.token)["liked"] is False
    anon = get_tweet(api, t["id"])
    assert anon["liked"] is False and anon["like_count"] == 1
    for _ in range(2):
        r = api.delete(f"/v1/tweets/{t['id']}/likes", token=b.token)
        assert r.status == 204 and r.body == b"", r
    t2 = get_tweet(api, t["id"], b.token)
    assert t2["liked"] is False and t2["like_count"] == 0
    assert list_ids(api, f"/v1/tweets/{t['id']}/liked_by") == []


def test_liked_shows_on_every_read_path_for_the_liker_only(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    follow(api, b, a.id)
    follow(api, c, a.id)
    word = "engage" + secrets.token_hex(4)
    t = post_tweet(api, a, f"likeable {word}")
    other = post_tweet(api, a, f"not liked {word}")
    like(api, b, t["id"], expect=(201,))

    def by_id(items):
        return {x["id"]: x for x in items}

    for reader, liked in ((b, True), (c, False)):
        feed = by_id(api.get("/v1/feed", token=reader.token).json)
        assert feed[t["id"]]["liked"] is liked and feed[t["id"]]["like_count"] == 1
        assert feed[other["id"]]["liked"] is False
        mine = by_id(api.get(f"/v1/users/{a.id}/tweets", token=reader.token).json)
        assert mine[t["id"]]["liked"] is liked and mine[t["id"]]["like_count"] == 1
        assert mine[other["id"]]["liked"] is False
        found = eventually(lambda: by_id(api.get(f"/v1/search/tweets?q={word}",
                                                 token=reader.token).json).get(t["id"]),
                           what="the tweet in search")
        assert found["liked"] is liked and found["like_count"] == 1
    root = post_tweet(api, b)
    r = reply(api, a, root["id"])
    like(api, b, r["id"], expect=(201,))
    r2 = api.get(f"/v1/tweets/{root['id']}/context", token=b.token).json
    assert r2["descendants"][0]["liked"] is True
    r2 = api.get(f"/v1/tweets/{root['id']}/context", token=c.token).json
    assert r2["descendants"][0]["liked"] is False
    # Anonymous readers see counts and liked false.
    anon = by_id(api.get(f"/v1/users/{a.id}/tweets").json)
    assert anon[t["id"]]["liked"] is False and anon[t["id"]]["like_count"] == 1


def test_counts_reach_a_cached_tweet_in_the_feed(api, make_user):
    a, b = make_user(), make_user()
    follow(api, b, a.id)
    t = post_tweet(api, a)
    assert api.get("/v1/feed", token=b.token).json[0]["like_count"] == 0  # now cached
    like(api, a, t["id"], expect=(201,))
    reply(api, b, t["id"])

    def counts():
        first = [x for x in api.get("/v1/feed", token=b.token).json if x["id"] == t["id"]][0]
        return (first["like_count"], first["reply_count"]) == (1, 1)
    eventually(counts, timeout=2, what="fresh counts in the feed")


def test_liked_by_pages_with_link(api, make_user):
    a = make_user()
    t = post_tweet(api, a)
    likers = [make_user() for _ in range(3)]
    for u in likers:
        like(api, u, t["id"], expect=(201,))
    r = api.get(f"/v1/tweets/{t['id']}/liked_by?limit=2")
    assert r.status == 200, r
    for u in r.json:
        assert_user_shape(u)
    assert [u["id"] for u in r.json] == [likers[2].id, likers[1].id]  # newest like first
    link = r.header("Link")
    assert link and 'rel="next"' in link, r
    nxt = link.split(">")[0].lstrip("<")
    nxt = nxt[nxt.index("/v1/"):]
    r2 = api.get(nxt)
    assert [u["id"] for u in r2.json] == [likers[0].id], r2
    assert_error(api.get("/v1/tweets/1/liked_by"), 404, "not_found")
    assert_error(api.get("/v1/tweets/x/liked_by"), 400, "invalid_id")
    assert_error(api.get(f"/v1/tweets/{t['id']}/liked_by?limit=0"), 422, "invalid_limit")


def test_likes_of_a_missing_or_deleted_tweet(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    like(api, b, t["id"], expect=(201,))
    assert api.delete(f"/v1/tweets/{t['id']}", token=a.token).status == 204
    for tid in (t["id"], "1"):
        assert_error(api.post(f"/v1/tweets/{tid}/likes", token=b.token), 404, "not_found")
        assert_error(api.delete(f"/v1/tweets/{tid}/likes", token=b.token), 404, "not_found")
        assert_error(api.get(f"/v1/tweets/{tid}/liked_by"), 404, "not_found")
    for bad in ("abc", "0", "-5", "1.5"):
        assert_error(api.post(f"/v1/tweets/{bad}/likes", token=b.token), 400, "invalid_id")
        assert_error(api.delete(f"/v1/tweets/{bad}/likes", token=b.token), 400, "invalid_id")
    assert_error(api.request("POST", f"/v1/tweets/{t['id']}/likes", body="{nope",
                             token=b.token), 400)


def test_like_honours_idempotency_key(api, make_user):
    a, b = make_user(), make_user()
    t = post_tweet(api, a)
    k = {"Idempotency-Key": "like-" + secrets.token_hex(8)}
    first = like(api, b, t["id"], expect=(201,), headers=k)
    second = like(api, b, t["id"], expect=(201,), headers=k)  # a replay: the same answer
    assert second.json == first.json
    assert get_tweet(api, t["id"])["like_count"] == 1
    other = api.post(f"/v1/tweets/{t['id']}/likes", {"x": 1}, token=b.token, headers=k)
    assert_error(other, 422)  # the key reused with another request


# ---------------------------------------------------------- authorisation

def test_new_endpoints_need_a_token(api, make_user):
    a = make_user()
    t = post_tweet(api, a)
    for method, path, body in (("POST", f"/v1/tweets/{t['id']}/likes", None),
                               ("DELETE", f"/v1/tweets/{t['id']}/likes", None),
                               ("PATCH", "/v1/users/me", {"bio": "x"})):
        kw = {} if body is None else {"json_body": body}
        assert_error(api.request(method, path, **kw), 401)
        assert_error(api.request(method, path, token="not-a-token", **kw), 401)
    # The reads are public.
    assert api.get(f"/v1/tweets/{t['id']}/liked_by").status == 200
    assert api.get(f"/v1/tweets/{t['id']}/context").status == 200


def test_nobody_likes_or_unlikes_for_someone_else(api, make_user):
    a, b, c = make_user(), make_user(), make_user()
    t = post_tweet(api, a)
    like(api, b, t["id"], expect=(201,))
    # c's unlike is c's own: b's like stays; a body naming b changes nothing.
    r = api.request("DELETE", f"/v1/tweets/{t['id']}/likes", token=c.token)
    assert r.status == 204
    r = api.post(f"/v1/tweets/{t['id']}/likes", {"user_id": b.id}, token=c.token)
    assert r.status == 201
    assert sorted(list_ids(api, f"/v1/tweets/{t['id']}/liked_by")) == sorted([b.id, c.id])
    assert get_tweet(api, t["id"], b.token)["liked"] is True


def test_patch_me_changes_only_the_caller(api, make_user):
    a, b = make_user(), make_user()
    r = api.request("PATCH", "/v1/users/me", json_body={"bio": "mine", "id": b.id,
                                                         "handle": b.handle},
                    token=a.token)
    assert r.status == 200, r
    assert r.json["id"] == a.id and r.json["bio"] == "mine" and r.json["handle"] == a.handle
    assert get_user(api, b.id)["bio"] == ""
    assert_error(api.request("PATCH", f"/v1/users/{b.id}", json_body={"bio": "x"},
                             token=a.token), 405)


# ---------------------------------------------------------------- profiles

def test_profile_edit(api, make_user):
    u = make_user()
    assert get_user(api, u.id)["bio"] == ""  # unset is the empty string
    r = api.request("PATCH", "/v1/users/me", json_body={"bio": "Writes C. 🐦"},
                    token=u.token)
    assert r.status == 200, r
    assert_user_shape(r.json)
    assert r.json["bio"] == "Writes C. 🐦" and r.json["display_name"] == u.data["display_name"]
    r = api.request("PATCH", "/v1/users/me", json_body={"display_name": "New Name"},
                    token=u.token)
    assert r.json["display_name"] == "New Name" and r.json["bio"] == "Writes C. 🐦"
    got = get_user(api, u.id)
    assert got["display_name"] == "New Name" and got["bio"] == "Writes C. 🐦"
    assert api.get(f"/v1/users/by-handle/{u.handle}").json["bio"] == "Writes C. 🐦"
    r = api.request("PATCH", "/v1/users/me", json_body={"bio": "b" * 160}, token=u.token)
    assert r.status == 200 and r.json["bio"] == "b" * 160
    r = api.request("PATCH", "/v1/users/me", json_body={"bio": ""}, token=u.token)
    assert r.status == 200 and r.json["bio"] == ""
    r = api.request("PATCH", "/v1/users/me", json_body={}, token=u.token)
    assert r.status == 200 and r.json["display_name"] == "New Name"


def test_a_new_display_name_reaches_the_authors_tweets(api, make_user):
    u, reader = make_user(), make_user()
    follow(api, reader, u.id)
    t = post_tweet(api, u)
    assert get_tweet(api, t["id"])["author"]["display_name"] == u.data["display_name"]
    r = api.request("PATCH", "/v1/users/me", json_body={"display_name": "Renamed"},
                    token=u.token)
    assert r.status == 200, r

    def renamed():
        feed = api.get("/v1/feed", token=reader.token).json
        return (get_tweet(api, t["id"])["author"]["display_name"] == "Renamed" and
                feed[0]["author"]["display_name"] == "Renamed")
    eventually(renamed, timeout=2, what="the new name on the author's tweets")


def test_profile_bad_input(api, make_user):
    u = make_user()
    before = get_user(api, u.id)

    def patch(body, **kw):
        return api.request("PATCH", "/v1/users/me", token=u.token, **body, **kw)

    for bio in ("é" * 161, "a\nb", "tab\there", "nul\x00", "del\x7f"):
        assert_error(patch({"json_body": {"bio": bio}}), 422, "invalid_bio")
    for name in ("", "x" * 51, "a\x01b"):
        assert_error(patch({"json_body": {"display_name": name}}), 422, "invalid_display_name")
    for bad in (5, None, ["x"], {"a": 1}, False):
        assert_error(patch({"json_body": {"bio": bad}}), 400, "wrong_type")
        assert_error(patch({"json_body": {"display_name": bad}}), 400, "wrong_type")
    # a valid field beside a bad one: nothing changes
    assert_error(patch({"json_body": {"display_name": "ok", "bio": "x" * 200}}), 422)
    assert_error(patch({"body": "{not json"}), 400)
    assert_error(patch({"json_body": ["bio"]}), 400)
    assert get_user(api, u.id) == before


# ------------------------------------------------------------ live stream

def test_stream_events_carry_counts_and_reply_fields_and_liked_false(api, make_user):
    from test_stream import Stream, tweet_of  # the SSE client of the stream tests
    reader, author = make_user(), make_user()
    follow(api, reader, author.id)
    t = post_tweet(api, author)
    like(api, reader, t["id"], expect=(201,))
    s = Stream(api, token=reader.token)
    try:
        assert s.status == 200
        r = reply(api, author, t["id"], "a reply, live")
        ev = tweet_of(s.next_tweet())
        assert ev["id"] == r["id"] and ev["in_reply_to_id"] == t["id"]
        assert ev["in_reply_to_user_id"] == author.id
        assert ev["reply_count"] == 0 and ev["like_count"] == 0
        # A stream has no reader at hand when it hydrates: liked is
        # always false there (docs/api.md).
        assert ev["liked"] is False
    finally:
        s.close()


# ------------------------------------------------------------- durability

def test_a_like_survives_kill_9(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    a, b = create_user(api, "ka"), create_user(api, "kb")
    t = post_tweet(api, a)
    like(api, b, t["id"], expect=(201,))
    r = api.request("PATCH", "/v1/users/me", json_body={"bio": "durable"}, token=b.token)
    assert r.status == 200
    srv.kill9()
    srv.start()
    api = srv.client()
    got = get_tweet(api, t["id"], b.token)
    assert got["like_count"] == 1 and got["liked"] is True
    assert list_ids(api, f"/v1/tweets/{t['id']}/liked_by") == [b.id]
    assert get_user(api, b.id)["bio"] == "durable"
    assert srv.stop() == 0, srv.log_tail()
