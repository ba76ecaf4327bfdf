"""E-mail addresses on accounts (docs/api.md): optional at sign-up,
validated, unique case-insensitively, a way to log in, changeable and
removable with PATCH /v1/users/me, and private: only the owner's own
answers (sign-up, GET and PATCH /v1/users/me) show one, never another
user's view of the account, native or Mastodon, nor the server's log."""

import secrets
import urllib.parse

import pytest

from chirp_client import (TRAFFIC, ServerProc, User, assert_error, follow, login, new_token,
                          post_tweet, random_handle, random_password, start_server)


def signup_email(api, email, handle=None, password=None):
    handle = handle or random_handle("em")
    password = password or random_password()
    TRAFFIC.add_password(password)
    body = {"handle": handle, "password": password}
    if email is not None:
        body["email"] = email
    return api.post("/v1/users", body), handle, password


def user_with_email(api, email=None):
    email = email or f"{random_handle('box')}@example.org"
    r, handle, password = signup_email(api, email)
    assert r.status == 201, r
    u = User(handle, password, r.json)
    u.token = new_token(api, u)
    u.email = email.lower()
    return u


def test_sign_up_with_an_address_only_the_owner_sees(api):
    email = f"Ann.{secrets.token_hex(4)}@Example.ORG"
    r, handle, password = signup_email(api, email)
    assert r.status == 201, r
    assert r.json["email"] == email.lower()  # kept folded
    u = User(handle, password, r.json)
    u.token = new_token(api, u)
    me = api.get("/v1/users/me", token=u.token)
    assert me.status == 200, me
    assert me.json["id"] == u.id and me.json["email"] == email.lower()
    assert "no-store" in (me.header("Cache-Control") or "")
    for path in (f"/v1/users/{u.id}", f"/v1/users/by-handle/{handle}"):
        got = api.get(path, token=u.token)  # even to the owner: a public view
        assert got.status == 200 and "email" not in got.json, got
    assert api.get("/v1/users/me").status == 401


def test_no_address_is_fine(api):
    r, handle, password = signup_email(api, None)
    assert r.status == 201 and r.json["email"] is None, r
    r = api.post("/v1/users", {"handle": random_handle("nul"), "password": random_password(),
                               "email": None})
    assert r.status == 201 and r.json["email"] is None, r


def test_an_address_is_one_account_s(api):
    a = user_with_email(api)
    r, handle, _ = signup_email(api, a.email.upper())
    assert_error(r, 409, "email_taken")
    assert api.get(f"/v1/users/by-handle/{handle}").status == 404  # nothing made
    # a taken handle is still that
    r, _, _ = signup_email(api, f"{random_handle('x')}@example.org", handle=a.handle)
    assert_error(r, 409, "handle_taken")


@pytest.mark.parametrize("email,status,code", [
    ("", 422, "invalid_email"),
    ("no-at-sign", 422, "invalid_email"),
    ("two@@example.org", 422, "invalid_email"),
    ("a@localhost", 422, "invalid_email"),
    ("a b@example.org", 422, "invalid_email"),
    ("a@example.org\n", 422, "invalid_email"),
    ("\u00e9l\u00e8ve@example.org", 422, "invalid_email"),
    ("x" * 243 + "@example.org", 422, "invalid_email"),  # 255 bytes
    (42, 400, "wrong_type"),
    (["a@example.org"], 400, "wrong_type"),
])
def test_bad_addresses_are_refused_and_make_nothing(api, email, status, code):
    handle = random_handle("bad")
    r = api.post("/v1/users", {"handle": handle, "password": random_password(),
                               "email": email})
    assert_error(r, status, code)
    assert api.get(f"/v1/users/by-handle/{handle}").status == 404


def test_log_in_with_the_address(api):
    u = user_with_email(api)
    for body in ({"handle": u.email.upper(), "password": u.password},
                 {"email": u.email, "password": u.password}):
        TRAFFIC.add_password(u.password)
        r = api.post("/v1/sessions", body)
        assert r.status == 201, r
        TRAFFIC.add_token(r.json["token"])
        assert r.json["user"]["id"] == u.id
        assert "email" not in r.json["user"]
    assert_error(login(api, u.email, u.password + "x"), 401, "invalid_credentials")
    assert_error(login(api, "nobody." + u.email, u.password), 401, "invalid_credentials")
    assert_error(api.post("/v1/sessions", {"email": "no-at-sign", "password": u.password}),
                 422, "invalid_email")
    assert_error(api.post("/v1/sessions", {"password": u.password}), 422, "invalid_handle")
    # the handle still works
    assert login(api, u.handle, u.password).status == 201


def test_change_and_remove_the_address(api):
    u = user_with_email(api)
    other = user_with_email(api)
    new = f"{random_handle('new')}@example.net"
    r = api.request("PATCH", "/v1/users/me", {"email": new.upper()}, token=u.token)
    assert r.status == 200 and r.json["email"] == new, r
    assert login(api, new, u.password).status == 201
    assert_error(login(api, u.email, u.password), 401, "invalid_credentials")
    # another's address: refused, and the rest of the change is not made
    r = api.request("PATCH", "/v1/users/me", {"email": other.email, "display_name": "Changed"},
                    token=u.token)
    assert_error(r, 409, "email_taken")
    me = api.get("/v1/users/me", token=u.token).json
    assert me["email"] == new and me["display_name"] != "Changed"
    # a bad one likewise
    r = api.request("PATCH", "/v1/users/me", {"email": "nope", "bio": "changed"},
                    token=u.token)
    assert_error(r, 422, "invalid_email")
    assert api.get("/v1/users/me", token=u.token).json["bio"] == ""
    # a change without the address keeps it
    r = api.request("PATCH", "/v1/users/me", {"bio": "hi"}, token=u.token)
    assert r.status == 200 and r.json["email"] == new, r
    # null removes it, and frees it for anyone
    r = api.request("PATCH", "/v1/users/me", {"email": None}, token=u.token)
    assert r.status == 200 and r.json["email"] is None, r
    assert_error(login(api, new, u.password), 401, "invalid_credentials")
    r = api.request("PATCH", "/v1/users/me", {"email": new}, token=other.token)
    assert r.status == 200 and r.json["email"] == new, r


def test_an_address_never_reaches_another_user(api):
    """Everywhere another user (or nobody) meets the account: none of it
    carries the address, native or Mastodon."""
    a = user_with_email(api)
    b = user_with_email(api)
    needle = a.email.split("@")[0]
    follow(api, a, b.id)
    follow(api, b, a.id)
    t = post_tweet(api, a, f"hello @{b.handle} #mail{secrets.token_hex(3)}")
    mine = post_tweet(api, b)
    assert api.post(f"/v1/tweets/{mine['id']}/likes", token=a.token).status in (200, 201)
    app = api.post("/api/v1/apps", {"client_name": "leak", "redirect_uris":
                                    "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}).json
    r = api.post("/oauth/token", {"grant_type": "password", "client_id": app["client_id"],
                                  "client_secret": app["client_secret"],
                                  "username": b.email, "password": b.password,
                                  "scope": "read"})
    assert r.status == 200, r
    mb = r.json["access_token"]
    TRAFFIC.add_token(mb)
    paths = [f"/v1/users/{a.id}", f"/v1/users/by-handle/{a.handle}",
             f"/v1/users/{a.id}/tweets", f"/v1/users/{b.id}/followers",
             f"/v1/users/{b.id}/following", f"/v1/tweets/{t['id']}",
             f"/v1/tweets/{mine['id']}/liked_by", "/v1/feed", "/v1/notifications",
             "/v1/search/users?q=" + urllib.parse.quote(a.handle),
             f"/api/v1/accounts/{a.id}", f"/api/v1/accounts/lookup?acct={a.handle}",
             f"/api/v1/accounts/{a.id}/statuses", f"/api/v1/accounts/{b.id}/followers",
             f"/api/v1/statuses/{t['id']}", "/api/v1/timelines/home",
             "/api/v1/notifications", f"/api/v1/statuses/{mine['id']}/favourited_by",
             "/api/v2/search?q=" + urllib.parse.quote(a.handle),
             "/api/v1/accounts/verify_credentials"]
    for path in paths:
        for token in ((mb,) if path.startswith("/api/") else (b.token, None)):
            r = api.get(path, token=token)
            assert r.status in (200, 401), r
            assert needle.encode() not in r.body.lower(), (path, r)


def test_addresses_stay_out_of_the_log(tmp_path):
    srv = start_server(tmp_path, "emaillog")
    try:
        api = srv.client()
        email = f"Secret.{secrets.token_hex(6)}@Example.org"
        r, handle, password = signup_email(api, email)
        assert r.status == 201, r
        assert login(api, email, password).status == 201
        assert login(api, email, password + "x").status == 401
        u = User(handle, password, r.json)
        u.token = new_token(api, u)
        api.request("PATCH", "/v1/users/me", {"email": "other." + email}, token=u.token)
        api.get("/v1/users/me", token=u.token)
    finally:
        srv.stop()
    log = (tmp_path / "emaillog.log").read_bytes().lower()
    assert b"secret." not in log and email.split("@")[0].lower().encode() not in log


def test_guesses_through_the_address_spend_the_account_s_budget(tmp_path):
    """Failed log-ins by address are counted against the account's handle
    too: switching between the two names buys no extra guesses."""
    srv = ServerProc(tmp_path / "budget-data", tmp_path / "budget.log", rate_limits=True,
                     extra_args=["--rate-limit", "login-handle=3/300"])
    srv.start()
    try:
        api = srv.client()
        email = f"{random_handle('b')}@example.org"
        r, handle, password = signup_email(api, email)
        assert r.status == 201, r
        for _ in range(3):
            assert login(api, email, "wrong-" + password).status == 401
        r = login(api, handle, "wrong-" + password)
        assert_error(r, 429, "rate_limited")
    finally:
        srv.stop()
