"""Log in, log out and bearer-token authentication."""

import secrets

import pytest

from chirp_client import (assert_error, assert_user_shape, create_user, login,
                          new_token, random_handle)


def test_login_returns_token_and_user(api, make_user):
    u = make_user(with_token=False)
    r = login(api, u.handle, u.password)
    assert r.status == 201, r
    body = r.json
    assert isinstance(body["token"], str) and len(body["token"]) >= 32, body
    assert_user_shape(body["user"])
    assert body["user"]["id"] == u.id
    # The token works.
    assert api.get("/v1/feed", token=body["token"]).status == 200


def test_login_handle_is_case_insensitive(api, make_user):
    u = make_user("CaSe", with_token=False)
    for variant in (u.handle.lower(), u.handle.upper()):
        r = login(api, variant, u.password)
        assert r.status == 201, r
        assert r.json["user"]["id"] == u.id


def test_login_password_is_case_sensitive(api, make_user):
    u = make_user(with_token=False)
    r = login(api, u.handle, u.password.swapcase())
    assert_error(r, 401, "invalid_credentials")


def test_invalid_credentials_do_not_reveal_which(api, make_user):
    u = make_user(with_token=False)
    wrong_pw = login(api, u.handle, u.password + "x")
    unknown = login(api, random_handle("ghost"), u.password)
    assert_error(wrong_pw, 401, "invalid_credentials")
    assert_error(unknown, 401, "invalid_credentials")
    assert wrong_pw.body == unknown.body
    assert wrong_pw.header("Content-Type") == unknown.header("Content-Type")


def test_each_login_mints_a_new_token(api, make_user):
    u = make_user()
    t2 = new_token(api, u)
    assert t2 != u.token
    assert api.get("/v1/feed", token=u.token).status == 200
    assert api.get("/v1/feed", token=t2).status == 200


def test_login_ignores_idempotency_key(api, make_user):
    """Documented exception: replaying a log-in would mean storing the token
    in clear, so every call mints a fresh token."""
    u = make_user(with_token=False)
    key = "login-" + secrets.token_hex(8)
    r1 = login(api, u.handle, u.password, headers={"Idempotency-Key": key})
    r2 = login(api, u.handle, u.password, headers={"Idempotency-Key": key})
    assert r1.status == 201 and r2.status == 201, (r1, r2)
    assert r1.json["token"] != r2.json["token"]
    assert (r2.header("Idempotent-Replayed") or "").lower() != "true"
    for r in (r1, r2):
        assert api.get("/v1/feed", token=r.json["token"]).status == 200


def test_logout_revokes_only_that_token(api, make_user):
    u = make_user()
    other = new_token(api, u)
    r = api.delete("/v1/sessions/current", token=u.token)
    assert r.status == 204, r
    assert r.body == b""
    # The revoked token is dead everywhere.
    assert_error(api.get("/v1/feed", token=u.token), 401, "unauthorized")
    assert_error(api.post("/v1/tweets", {"text": "zombie"}, token=u.token),
                 401, "unauthorized")
    assert_error(api.delete("/v1/sessions/current", token=u.token),
                 401, "unauthorized")
    assert api.get(f"/v1/users/{u.id}").json["tweets_count"] == 0
    # The other session of the same user still works.
    assert api.get("/v1/feed", token=other).status == 200
    r = api.post("/v1/tweets", {"text": "still here"}, token=other)
    assert r.status == 201, r


def test_logout_requires_auth(api):
    assert_error(api.delete("/v1/sessions/current"), 401, "unauthorized")


def _auth_requests(api, user, tweet_id, headers):
    """Every auth-only endpoint, called with the given raw headers."""
    return [
        api.get("/v1/feed", headers=headers),
        api.post("/v1/tweets", {"text": "anon"}, headers=headers),
        api.delete(f"/v1/tweets/{tweet_id}", headers=headers),
        api.post(f"/v1/users/{user.id}/follows", headers=headers),
        api.delete(f"/v1/users/{user.id}/follows", headers=headers),
        api.delete("/v1/sessions/current", headers=headers),
    ]


@pytest.fixture(scope="module")
def protected(chirp_server):
    """A user with one tweet, shared by the bad-token cases."""
    api = chirp_server.live_client()
    owner = create_user(api, "owner")
    r = api.post("/v1/tweets", {"text": "protected"}, token=owner.token)
    assert r.status == 201, r
    return owner, r.json


@pytest.mark.parametrize("auth", [
    None, "", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer",
    "Bearer not-a-real-token", "Bearer " + "A" * 64, "Token abc",
    "Bearer a b",
])
def test_bad_authorization_is_401(api, protected, auth):
    owner, tweet = protected
    headers = {} if auth is None else {"Authorization": auth}
    for r in _auth_requests(api, owner, tweet["id"], headers):
        assert_error(r, 401, "unauthorized")
    # Nothing changed.
    prof = api.get(f"/v1/users/{owner.id}").json
    assert prof["tweets_count"] == 1 and prof["followers_count"] == 0
    assert api.get(f"/v1/tweets/{tweet['id']}").status == 200
    assert api.get("/v1/feed", token=owner.token).status == 200


def test_tampered_token_is_401(api, make_user):
    u = make_user()
    tampered = u.token[:-1] + ("A" if u.token[-1] != "A" else "B")
    assert_error(api.get("/v1/feed", token=tampered), 401, "unauthorized")
    assert api.get("/v1/feed", token=u.token).status == 200
