"""Media descriptions (alt text, docs/media.md): given when the upload is
made or with PATCH /v1/media/{id}, by the owner, until the media is on a
tweet; a tweet shows each media's description as it was when posted,
everywhere the tweet is read."""

import pytest

from chirp_client import assert_error, follow
from test_media import jpeg, put, settled


def create(api, user, data, **extra):
    body = {"content_type": "image/jpeg", "size": len(data)}
    body.update(extra)
    return api.post("/v1/media", body, token=user.token)


def upload(api, user, data, description=None):
    extra = {} if description is None else {"description": description}
    r = create(api, user, data, **extra)
    assert r.status == 201, r
    m = r.json
    assert put(api, m["upload"]["url"], data).status == 200
    r = api.post(f"/v1/media/{m['id']}/complete", {}, token=user.token)
    assert r.status == 202, r
    return m["id"]


def describe(api, user, mid, description):
    return api.request("PATCH", f"/v1/media/{mid}", {"description": description},
                       token=user.token)


def test_description_at_creation_and_changed_later(api, make_user):
    u = make_user()
    r = create(api, u, jpeg(20, 20), description="A red square, \"quoted\"\non two lines")
    assert r.status == 201, r
    assert r.json["description"] == "A red square, \"quoted\"\non two lines"
    mid = r.json["id"]
    assert api.get(f"/v1/media/{mid}", token=u.token).json["description"] == \
        "A red square, \"quoted\"\non two lines"
    r = describe(api, u, mid, "日本語の説明")
    assert r.status == 200 and r.json["description"] == "日本語の説明", r
    assert r.json["id"] == mid and r.json["status"] == "awaiting_upload"
    r = describe(api, u, mid, None)  # null clears it
    assert r.status == 200 and r.json["description"] is None, r
    r = create(api, u, jpeg(20, 20))
    assert r.status == 201 and r.json["description"] is None, r


@pytest.mark.parametrize("description,status,code", [
    ("x" * 1501, 422, "invalid_description"),
    ("bell\u0007", 422, "invalid_description"),
    ("c1 \u0085", 422, "invalid_description"),
    (42, 400, "wrong_type"),
])
def test_bad_descriptions_are_refused(api, make_user, description, status, code):
    u = make_user()
    assert_error(create(api, u, jpeg(20, 20), description=description), status, code)
    r = create(api, u, jpeg(20, 20), description="kept")
    mid = r.json["id"]
    assert_error(describe(api, u, mid, description), status, code)
    assert api.get(f"/v1/media/{mid}", token=u.token).json["description"] == "kept"


def test_the_bound_is_in_characters(api, make_user):
    u = make_user()
    r = create(api, u, jpeg(20, 20), description="é" * 1500)  # 3000 bytes
    assert r.status == 201 and len(r.json["description"]) == 1500, r


def test_only_the_owner_describes(api, make_user):
    u, other = make_user(), make_user()
    mid = create(api, u, jpeg(20, 20), description="mine").json["id"]
    assert_error(describe(api, other, mid, "theirs"), 404, "not_found")
    assert_error(describe(api, u, "123", "none"), 404, "not_found")
    assert_error(api.request("PATCH", f"/v1/media/{mid}", {"description": "x"}), 401)
    assert_error(api.request("PATCH", f"/v1/media/{mid}", {}, token=u.token), 422,
                 "invalid_description")
    assert api.get(f"/v1/media/{mid}", token=u.token).json["description"] == "mine"


def test_a_tweet_shows_its_media_s_descriptions(api, make_user):
    u, reader = make_user(), make_user()
    follow(api, reader, u.id)
    described = upload(api, u, jpeg(30, 20), description="first <b>cat</b>")
    plain = upload(api, u, jpeg(31, 20))
    for mid in (described, plain):
        assert settled(api, u, mid)["status"] == "ready"
    r = describe(api, u, described, "a sleeping cat")  # ready, not yet on a tweet
    assert r.status == 200 and r.json["status"] == "ready", r
    r = api.post("/v1/tweets", {"text": "pets", "media_ids": [described, plain]}, token=u.token)
    assert r.status == 201, r
    t = r.json
    assert [m["description"] for m in t["media"]] == ["a sleeping cat", None]
    for got in (api.get(f"/v1/tweets/{t['id']}").json,
                api.get(f"/v1/users/{u.id}/tweets").json[0],
                api.get("/v1/feed", token=reader.token).json[0]):
        assert got["id"] == t["id"] and got["media"] == t["media"]
    # on a tweet: fixed, and the tweet keeps what it was posted with
    assert_error(describe(api, u, described, "changed"), 409, "media_attached")
    assert api.get(f"/v1/tweets/{t['id']}").json["media"][0]["description"] == "a sleeping cat"


def test_a_tweet_keeps_at_most_6000_bytes_of_descriptions(api, make_user):
    """Four media of 1500 three-byte characters each are more than a tweet
    keeps (docs/media.md): refused, and nothing is attached."""
    u = make_user()
    ids = [upload(api, u, jpeg(20 + i, 20), description="日" * 1500) for i in range(4)]
    for mid in ids:
        assert settled(api, u, mid)["status"] == "ready"
    assert_error(api.post("/v1/tweets", {"text": "four", "media_ids": ids}, token=u.token),
                 422, "invalid_media")
    assert describe(api, u, ids[0], "short").status == 200  # still free to change
    r = api.post("/v1/tweets", {"text": "two", "media_ids": ids[:2]}, token=u.token)
    assert r.status == 201, r
    assert [len(m["description"]) for m in r.json["media"]] == [5, 1500]
