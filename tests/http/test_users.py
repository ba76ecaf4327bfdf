"""Sign-up and profiles: POST /v1/users, GET /v1/users/{id},
GET /v1/users/by-handle/{handle}."""

import datetime
import secrets

import pytest

from chirp_client import (assert_error, assert_user_shape, random_handle,
                          random_password, signup)


def _assert_absent(api, handle):
    r = api.get(f"/v1/users/by-handle/{handle}")
    assert_error(r, 404, "not_found")


def test_signup_returns_user(api):
    handle = random_handle("Sign")
    r = signup(api, handle, random_password(), display_name="Sign Up")
    assert r.status == 201, r
    u = r.json
    assert_user_shape(u)
    assert u["handle"] == handle
    assert u["display_name"] == "Sign Up"
    assert (u["followers_count"], u["following_count"], u["tweets_count"]) == (0, 0, 0)
    created = datetime.datetime.strptime(u["created_at"][:19], "%Y-%m-%dT%H:%M:%S")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - created).total_seconds()) < 300, u["created_at"]


def test_display_name_defaults_to_handle(api):
    handle = random_handle("dn")
    r = signup(api, handle, random_password())
    assert r.status == 201, r
    assert r.json["display_name"] == handle


def test_get_user_by_id_and_handle(api, make_user):
    u = make_user("Prof")
    r = api.get(f"/v1/users/{u.id}")
    assert r.status == 200, r
    assert_user_shape(r.json)
    assert r.json["id"] == u.id and r.json["handle"] == u.handle
    for variant in (u.handle, u.handle.lower(), u.handle.upper()):
        r = api.get(f"/v1/users/by-handle/{variant}")
        assert r.status == 200, r
        assert r.json["id"] == u.id, r


def test_user_ids_are_time_ordered(make_user):
    a = make_user()
    b = make_user()
    assert int(b.id) > int(a.id)


def test_unknown_user_is_404(api):
    assert_error(api.get("/v1/users/1"), 404, "not_found")
    assert_error(api.get("/v1/users/9223372036854775807"), 404, "not_found")
    assert_error(api.get(f"/v1/users/by-handle/{random_handle('nobody')}"),
                 404, "not_found")


@pytest.mark.parametrize("bad", ["abc", "-1", "12x", "1.5", "0x10",
                                 "18446744073709551616",
                                 "99999999999999999999999"])
def test_non_decimal_user_id_is_400(api, bad):
    assert_error(api.get(f"/v1/users/{bad}"), 400, "invalid_id")


@pytest.mark.parametrize("handle", [
    "", "a" * 31, "has space", "dash-ed", "dot.ted", "caf\u00e9", "emoji\U0001F600",
    "semi;colon", "slash/x", "tab\tx",
])
def test_invalid_handle_is_422(api, handle):
    r = signup(api, handle, random_password())
    assert_error(r, 422, "invalid_handle")


def test_handle_length_bounds(api):
    h30 = "H_" + secrets.token_hex(14)
    assert len(h30) == 30
    r = signup(api, h30, random_password())
    assert r.status == 201, r
    assert r.json["handle"] == h30


@pytest.mark.parametrize("password", [
    "",
    "1234567",
    "\u00e9\u00e9\u00e9a",  # 4 code points, 7 bytes
    "x" * 1025,
])
def test_invalid_password_is_422(api, password):
    handle = random_handle("pw")
    r = signup(api, handle, password)
    assert_error(r, 422, "invalid_password")
    _assert_absent(api, handle)


@pytest.mark.parametrize("password", [
    "12345678",
    "\u00e9\u00e9\u00e9\u00e9",  # 4 code points, 8 bytes
    "y" * 1024,
])
def test_password_length_bounds_in_bytes(api, password):
    handle = random_handle("pw")
    r = signup(api, handle, password)
    assert r.status == 201, r
    r = api.post("/v1/sessions", {"handle": handle, "password": password})
    assert r.status == 201, r


@pytest.mark.parametrize("name", [
    "", "n" * 51, "\u00e9" * 51, "line\nbreak", "bell\u0007", "del\u007f",
    "nul\u0000", "tab\there", "esc\u001b[0m",
])
def test_invalid_display_name_is_422(api, name):
    handle = random_handle("dn")
    r = signup(api, handle, random_password(), display_name=name)
    assert_error(r, 422, "invalid_display_name")
    _assert_absent(api, handle)


@pytest.mark.parametrize("name", ["n" * 50, "\u00e9" * 50, "\U0001F426" * 50,
                                  "Ann O'Neil \u2014 \u65e5\u672c"])
def test_display_name_bounds_in_code_points(api, name):
    r = signup(api, random_handle("dn"), random_password(), display_name=name)
    assert r.status == 201, r
    assert r.json["display_name"] == name


def test_handle_taken_case_insensitively(api):
    base = random_handle("Dup")
    first = signup(api, base, random_password(), display_name="First")
    assert first.status == 201, first
    for variant in (base, base.lower(), base.upper()):
        r = signup(api, variant, random_password(), display_name="Second")
        assert_error(r, 409, "handle_taken")
    r = api.get(f"/v1/users/by-handle/{base.lower()}")
    assert r.status == 200, r
    assert r.json["id"] == first.json["id"]
    assert r.json["display_name"] == "First"


def test_concurrent_signups_same_handle_one_wins(api):
    import threading
    handle = random_handle("race")
    results = []
    barrier = threading.Barrier(6)

    def go(i):
        barrier.wait()
        variant = handle.upper() if i % 2 else handle.lower()
        results.append(signup(api, variant, random_password()).status)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 5, results
