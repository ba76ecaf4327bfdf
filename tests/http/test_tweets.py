"""Posting, reading and deleting tweets; tweet text rules; tweets_count."""

import json

import pytest

from chirp_client import (assert_error, assert_newest_first, assert_tweet_shape,
                          create_user, get_user, list_ids, post_tweet)


@pytest.fixture(scope="module")
def poster(chirp_server):
    """A user whose tweets_count the invalid-input cases check is unchanged."""
    return create_user(chirp_server.live_client(), "poster")


def _post_raw(api, user, body, **kw):
    return api.post("/v1/tweets", body=body, token=user.token, **kw)


def test_post_and_get_tweet(api, make_user):
    u = make_user("Author", display_name="The Author")
    r = api.post("/v1/tweets", {"text": "hello, world"}, token=u.token)
    assert r.status == 201, r
    t = r.json
    assert_tweet_shape(t)
    assert t["text"] == "hello, world"
    assert t["author_id"] == u.id
    a = t["author"]
    assert (a["id"], a["handle"], a["display_name"]) == (u.id, u.handle,
                                                         "The Author"), t
    assert t["media"] == []
    g = api.get(f"/v1/tweets/{t['id']}")
    assert g.status == 200, g
    assert g.json == t


def test_tweet_ids_are_time_ordered(api, make_user):
    u = make_user()
    ids = [int(post_tweet(api, u)["id"]) for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_user_tweets_newest_first_and_count(api, make_user):
    u = make_user()
    posted = [post_tweet(api, u, f"n{i}")["id"] for i in range(4)]
    r = api.get(f"/v1/users/{u.id}/tweets")
    assert r.status == 200, r
    for t in r.json:
        assert_tweet_shape(t)
    assert_newest_first(r.json)
    assert [t["id"] for t in r.json] == posted[::-1]
    assert get_user(api, u.id)["tweets_count"] == 4


def test_user_tweets_unknown_user_is_404(api):
    assert_error(api.get("/v1/users/1/tweets"), 404, "not_found")
    assert_error(api.get("/v1/users/abc/tweets"), 400, "invalid_id")


def test_unknown_tweet_is_404(api):
    assert_error(api.get("/v1/tweets/1"), 404, "not_found")


@pytest.mark.parametrize("bad", ["abc", "-1", "12x", "18446744073709551616", "1e5"])
def test_non_decimal_tweet_id_is_400(api, poster, bad):
    assert_error(api.get(f"/v1/tweets/{bad}"), 400, "invalid_id")
    assert_error(api.delete(f"/v1/tweets/{bad}", token=poster.token),
                 400, "invalid_id")


def test_delete_own_tweet(api, make_user):
    u = make_user()
    keep = post_tweet(api, u, "keep")
    gone = post_tweet(api, u, "gone")
    assert get_user(api, u.id)["tweets_count"] == 2
    r = api.delete(f"/v1/tweets/{gone['id']}", token=u.token)
    assert r.status == 204, r
    assert_error(api.get(f"/v1/tweets/{gone['id']}"), 404, "not_found")
    assert list_ids(api, f"/v1/users/{u.id}/tweets") == [keep["id"]]
    assert get_user(api, u.id)["tweets_count"] == 1
    # Deleting again: it is missing now.
    assert_error(api.delete(f"/v1/tweets/{gone['id']}", token=u.token),
                 404, "not_found")
    assert get_user(api, u.id)["tweets_count"] == 1


def test_delete_someone_elses_tweet_looks_missing(api, make_user):
    owner = make_user()
    other = make_user()
    t = post_tweet(api, owner, "mine")
    gone = post_tweet(api, other, "deleted")
    assert api.delete(f"/v1/tweets/{gone['id']}", token=other.token).status == 204

    foreign = api.delete(f"/v1/tweets/{t['id']}", token=other.token)
    deleted = api.delete(f"/v1/tweets/{gone['id']}", token=other.token)
    never = api.delete("/v1/tweets/1", token=other.token)
    for r in (foreign, deleted, never):
        assert_error(r, 404, "not_found")
    assert foreign.body == never.body == deleted.body
    # The tweet is untouched.
    assert api.get(f"/v1/tweets/{t['id']}").json == t
    assert get_user(api, owner.id)["tweets_count"] == 1


# ------------------------------------------------------------- text rules

@pytest.mark.parametrize("text", [
    "a" * 280,
    "\u00e9" * 280,            # 2 bytes each
    "\u65e5" * 280,            # 3 bytes each
    "\U0001F426" * 280,        # 4 bytes each (outside the BMP)
    "x" + "\U0001F469\u200D\U0001F4BB" * 93,  # 1 + 93*3 = 280 code points
])
@pytest.mark.parametrize("encoding", ["escaped", "raw"])
def test_280_code_points_accepted(api, poster, text, encoding):
    assert len(text) == 280
    body = json.dumps({"text": text}, ensure_ascii=(encoding == "escaped"))
    r = _post_raw(api, poster, body.encode("utf-8"))
    assert r.status == 201, r
    assert r.json["text"] == text
    assert api.get(f"/v1/tweets/{r.json['id']}").json["text"] == text


@pytest.mark.parametrize("text", [
    "", " ", "   \t\n\r ", "a" * 281, "\u00e9" * 281, "\U0001F426" * 281,
    "nul\u0000inside", "\u0000",
])
def test_invalid_text_is_422(api, poster, text):
    before = get_user(api, poster.id)["tweets_count"]
    r = api.post("/v1/tweets", {"text": text}, token=poster.token)
    assert_error(r, 422, "invalid_text")
    assert get_user(api, poster.id)["tweets_count"] == before


def test_text_is_stored_verbatim(api, poster):
    text = "  <b>&amp;</b> \"quoted\" \\ back\\slash \u2028 tab\there \U0001F426  "
    t = post_tweet(api, poster, text)
    assert t["text"] == text
    assert api.get(f"/v1/tweets/{t['id']}").json["text"] == text


def test_media_ids_empty_is_fine(api, poster):
    r = api.post("/v1/tweets", {"text": "no media", "media_ids": []},
                 token=poster.token)
    assert r.status == 201, r
    assert r.json["media"] == []


@pytest.mark.parametrize("media", [["1"], ["123", "456"]])
def test_media_ids_non_empty_is_422(api, poster, media):
    before = get_user(api, poster.id)["tweets_count"]
    r = api.post("/v1/tweets", {"text": "with media", "media_ids": media},
                 token=poster.token)
    assert_error(r, 422, "invalid_media")
    assert get_user(api, poster.id)["tweets_count"] == before


def test_author_comes_from_token_not_body(api, make_user):
    me = make_user()
    victim = make_user()
    r = api.post("/v1/tweets", {"text": "who am i", "author_id": victim.id,
                                "user_id": victim.id,
                                "author": {"id": victim.id}},
                 token=me.token)
    assert r.status == 201, r
    assert r.json["author_id"] == me.id
    assert get_user(api, victim.id)["tweets_count"] == 0
    assert list_ids(api, f"/v1/users/{victim.id}/tweets") == []
