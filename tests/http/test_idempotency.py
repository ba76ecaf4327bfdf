"""Idempotency-Key on POST /v1/users, /v1/tweets and /v1/users/{id}/follows.
(POST /v1/sessions deliberately ignores it: see test_sessions.py.)"""

import json
import secrets
import threading

import pytest

from chirp_client import (assert_error, create_user, get_user, is_http_parser_refusal, list_ids,
                          random_handle, random_password, signup)


def key():
    return "k-" + secrets.token_hex(12)


def replayed(r):
    return (r.header("Idempotent-Replayed") or "").strip().lower() == "true"


@pytest.fixture(scope="module")
def author(chirp_server):
    return create_user(chirp_server.live_client(), "idem")


def test_tweet_replay(api, make_user):
    u = make_user()
    k = key()
    body = {"text": "exactly once"}
    first = api.post("/v1/tweets", body, token=u.token, headers={"Idempotency-Key": k})
    assert first.status == 201, first
    assert not replayed(first), "first response marked as replayed"
    second = api.post("/v1/tweets", body, token=u.token, headers={"Idempotency-Key": k})
    assert second.status == 201, second
    assert replayed(second), f"no Idempotent-Replayed: true on {second.headers}"
    assert second.body == first.body
    assert list_ids(api, f"/v1/users/{u.id}/tweets") == [first.json["id"]]
    assert get_user(api, u.id)["tweets_count"] == 1

    # A different key is a different request.
    third = api.post("/v1/tweets", body, token=u.token, headers={"Idempotency-Key": key()})
    assert third.status == 201 and not replayed(third), third
    assert third.json["id"] != first.json["id"]
    # So is no key at all.
    fourth = api.post("/v1/tweets", body, token=u.token)
    assert fourth.status == 201 and not replayed(fourth), fourth
    assert get_user(api, u.id)["tweets_count"] == 3


def test_replay_survives_delete_of_the_tweet(api, make_user):
    """The replay is of the first response, not a fresh post."""
    u = make_user()
    k = key()
    first = api.post("/v1/tweets", {"text": "short-lived"}, token=u.token,
                     headers={"Idempotency-Key": k})
    assert first.status == 201, first
    assert api.delete(f"/v1/tweets/{first.json['id']}", token=u.token).status == 204
    again = api.post("/v1/tweets", {"text": "short-lived"}, token=u.token,
                     headers={"Idempotency-Key": k})
    assert again.status == 201 and replayed(again), again
    assert again.body == first.body
    assert list_ids(api, f"/v1/users/{u.id}/tweets") == []


def test_same_key_different_body_is_422(api, make_user):
    u = make_user()
    k = key()
    first = api.post("/v1/tweets", {"text": "one"}, token=u.token,
                     headers={"Idempotency-Key": k})
    assert first.status == 201, first
    r = api.post("/v1/tweets", {"text": "two"}, token=u.token,
                 headers={"Idempotency-Key": k})
    assert_error(r, 422, "idempotency_key_reused")
    assert list_ids(api, f"/v1/users/{u.id}/tweets") == [first.json["id"]]
    # The original is still replayable.
    r = api.post("/v1/tweets", {"text": "one"}, token=u.token,
                 headers={"Idempotency-Key": k})
    assert r.status == 201 and replayed(r) and r.body == first.body, r


def test_keys_are_scoped_per_user(api, make_user):
    a = make_user()
    b = make_user()
    k = key()
    body = {"text": "same key, two users"}
    ra = api.post("/v1/tweets", body, token=a.token, headers={"Idempotency-Key": k})
    rb = api.post("/v1/tweets", body, token=b.token, headers={"Idempotency-Key": k})
    assert ra.status == 201 and rb.status == 201, (ra, rb)
    assert not replayed(rb), rb
    assert ra.json["author_id"] == a.id and rb.json["author_id"] == b.id
    assert ra.json["id"] != rb.json["id"]
    # And with a different body the other user is not told "reused" either.
    rb2 = api.post("/v1/tweets", {"text": "other"}, token=b.token,
                   headers={"Idempotency-Key": key()})
    assert rb2.status == 201
    rc = api.post("/v1/tweets", {"text": "different"}, token=make_user().token,
                  headers={"Idempotency-Key": k})
    assert rc.status == 201 and not replayed(rc), rc


def test_signup_replay(api):
    k = key()
    handle = random_handle("idem")
    password = random_password()
    first = signup(api, handle, password, headers={"Idempotency-Key": k})
    assert first.status == 201, first
    second = signup(api, handle, password, headers={"Idempotency-Key": k})
    assert second.status == 201, f"expected a replay of the 201, got {second!r}"
    assert replayed(second)
    assert second.body == first.body
    other = signup(api, random_handle("idem"), password, headers={"Idempotency-Key": k})
    assert_error(other, 422, "idempotency_key_reused")
    # Without the key, the taken handle is a conflict as usual.
    assert_error(signup(api, handle, password), 409, "handle_taken")


def test_follow_replay(api, make_user):
    a = make_user()
    b = make_user()
    k = key()
    first = api.post(f"/v1/users/{b.id}/follows", token=a.token,
                     headers={"Idempotency-Key": k})
    assert first.status == 201, first
    second = api.post(f"/v1/users/{b.id}/follows", token=a.token,
                      headers={"Idempotency-Key": k})
    assert second.status == 201 and replayed(second), \
        f"expected the first 201 replayed, got {second!r}"
    assert second.body == first.body
    assert get_user(api, b.id)["followers_count"] == 1
    # Same key on another target is another body/path: not a replay.
    c = make_user()
    r = api.post(f"/v1/users/{c.id}/follows", token=a.token,
                 headers={"Idempotency-Key": k})
    assert not replayed(r), r
    assert r.status in (201, 422), r


@pytest.mark.parametrize("bad", ["", "x" * 256, "caf\u00e9", "tab\there",
                                 "\u00ff" * 10])
def test_invalid_key_is_400(api, author, bad):
    before = get_user(api, author.id)["tweets_count"]
    r = api.post("/v1/tweets", {"text": "bad key"}, token=author.token,
                 headers={"Idempotency-Key": bad})
    assert_error(r, 400, "invalid_idempotency_key")
    assert get_user(api, author.id)["tweets_count"] == before


@pytest.mark.parametrize("bad", ["\x01", "a\x7fb"])
def test_control_char_key_is_400(api, author, bad):
    """A control character in a header value makes the request invalid
    HTTP (RFC 9110 §5.5): the HTTP parser refuses it with its own plain 400
    before chirp sees it. Either way: 400, and nothing written."""
    before = get_user(api, author.id)["tweets_count"]
    r = api.post("/v1/tweets", {"text": "bad key"}, token=author.token,
                 headers={"Idempotency-Key": bad})
    if not is_http_parser_refusal(r):
        assert_error(r, 400)
    assert r.status == 400
    assert get_user(api, author.id)["tweets_count"] == before


@pytest.mark.parametrize("good", ["a", "~!@#$%^&*()_+{}|:\"<>?[];',./`",
                                  "with inner spaces", "-" * 200])
def test_valid_key_shapes(api, author, good):
    body = {"text": "good key"}
    first = api.post("/v1/tweets", body, token=author.token,
                     headers={"Idempotency-Key": good})
    assert first.status == 201 and not replayed(first), first
    second = api.post("/v1/tweets", body, token=author.token,
                      headers={"Idempotency-Key": good})
    assert second.status == 201 and replayed(second), second
    assert second.body == first.body


def test_valid_key_of_255_chars(api, make_user):
    u = make_user()
    k = secrets.token_hex(128)[:255]
    body = {"text": "long key"}
    first = api.post("/v1/tweets", body, token=u.token, headers={"Idempotency-Key": k})
    assert first.status == 201, first
    second = api.post("/v1/tweets", body, token=u.token, headers={"Idempotency-Key": k})
    assert second.status == 201 and replayed(second) and second.body == first.body


def test_parallel_requests_with_one_key_create_one_tweet(api, make_user):
    u = make_user()
    k = key()
    body = json.dumps({"text": "ten at once"}).encode()
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(10)

    def go():
        barrier.wait()
        r = api.post("/v1/tweets", body=body, token=u.token,
                     headers={"Idempotency-Key": k})
        with lock:
            results.append(r)

    threads = [threading.Thread(target=go) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in results] == [201] * 10, results
    assert len({r.body for r in results}) == 1, [r.body for r in results]
    assert sum(not replayed(r) for r in results) == 1, \
        "exactly one response should be the original"
    assert get_user(api, u.id)["tweets_count"] == 1
    assert len(list_ids(api, f"/v1/users/{u.id}/tweets")) == 1
