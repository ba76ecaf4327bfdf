"""Session management (issue 19, item 6): a user lists their sessions, ends
one, ends all of them, changes their password (which ends every other one),
and a session unused for --session-idle-days ends by itself. Every way a
session ends also ends the live streams of its token at once.

The idle-expiry tests age a session by rewriting its last use in the
private server's database (chirp_client.db_query: its SQLite file, or its
PostgreSQL database with CHIRP_TEST_STORE=postgres), as the passing of days
would."""

import os
import time

import pytest

from chirp_client import (TRAFFIC, ServerProc, assert_error, create_user, db_query,
                          follow, login, new_token, post_tweet, start_server)
from test_stream import WAIT, Stream, tweet_of

IDLE_DAYS = 2
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
SESSION_FIELDS = {"id", "created_at", "last_used_at", "device", "ip", "current"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sessions")
    # shared: the idle tests age sessions in the database while it runs
    srv = start_server(tmp, "sessions", "--session-idle-days", str(IDLE_DAYS),
                       "--stream-heartbeat", "1", "--sqlite-lock", "shared")
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def api(server):
    return server.live_client()


def sessions(api, token):
    r = api.get("/v1/sessions", token=token)
    assert r.status == 200, r
    assert r.header("Cache-Control") == "no-store"
    return r.json


def current(api, token):
    [s] = [s for s in sessions(api, token) if s["current"]]
    return s


def works(api, token):
    r = api.get("/v1/feed", token=token)
    assert r.status in (200, 401), r
    return r.status == 200


def login_as(api, user, device):
    r = login(api, user.handle, user.password, headers={"User-Agent": device})
    assert r.status == 201, r
    return r.json["token"]


# ------------------------------------------------------------------ listing

def test_list_shows_my_sessions_never_a_token(api):
    u, other = create_user(api), create_user(api)
    phone = login_as(api, u, "Phone/1.0\t(tab dropped)")
    mine = sessions(api, u.token)
    assert len(mine) == 2, mine
    for s in mine:
        assert set(s) == SESSION_FIELDS, s
        assert isinstance(s["id"], str) and s["id"].isdigit(), s
        assert s["ip"] == "127.0.0.1", s
        assert s["created_at"].endswith("Z") and s["last_used_at"].endswith("Z"), s
    # newest first: the phone's log-in came last
    assert int(mine[0]["id"]) > int(mine[1]["id"])
    assert mine[0]["device"] == "Phone/1.0(tab dropped)", mine[0]
    assert not mine[0]["current"] and mine[1]["current"]
    # seen from the phone, the phone's is the current one
    assert current(api, phone)["id"] == mine[0]["id"]
    # nothing of a token, nor of another user's sessions
    r = api.get("/v1/sessions", token=u.token)
    for secret in (u.token, phone, other.token):
        assert secret.encode() not in r.body
    theirs = {s["id"] for s in sessions(api, other.token)}
    assert not theirs & {s["id"] for s in mine}
    assert_error(api.get("/v1/sessions"), 401, "unauthorized")


# ------------------------------------------------------------------- ending

def test_end_one_of_my_sessions_by_id(api):
    u = create_user(api)
    laptop = login_as(api, u, "Laptop")
    laptop_id = current(api, laptop)["id"]
    r = api.delete(f"/v1/sessions/{laptop_id}", token=u.token)
    assert r.status == 204, r
    assert not works(api, laptop)
    assert works(api, u.token)
    assert [s["id"] for s in sessions(api, u.token)] == [current(api, u.token)["id"]]
    # gone: a second time is a 404
    assert_error(api.delete(f"/v1/sessions/{laptop_id}", token=u.token), 404, "not_found")
    assert_error(api.delete("/v1/sessions/abc", token=u.token), 400)
    assert_error(api.delete(f"/v1/sessions/{laptop_id}"), 401, "unauthorized")


def test_another_users_session_is_a_404_and_stays(api):
    u, victim = create_user(api), create_user(api)
    victim_id = current(api, victim.token)["id"]
    assert_error(api.delete(f"/v1/sessions/{victim_id}", token=u.token), 404, "not_found")
    assert works(api, victim.token)


def test_ending_my_current_session_by_id_logs_me_out(api):
    u = create_user(api)
    r = api.delete(f"/v1/sessions/{current(api, u.token)['id']}", token=u.token)
    assert r.status == 204, r
    assert not works(api, u.token)


def test_log_out_everywhere(api):
    u, other = create_user(api), create_user(api)
    tokens = [u.token, new_token(api, u), new_token(api, u)]
    r = api.delete("/v1/sessions", token=tokens[1])
    assert r.status == 204, r
    for t in tokens:
        assert not works(api, t)
    assert works(api, other.token)
    # and a new log-in starts afresh
    assert len(sessions(api, new_token(api, u))) == 1


# --------------------------------------------------------- password change

def change_password(api, token, current_pw, new_pw):
    TRAFFIC.add_password(new_pw)
    return api.request("PUT", "/v1/users/me/password", token=token,
                       json_body={"current_password": current_pw, "new_password": new_pw})


def test_password_change_needs_the_current_password(api):
    u = create_user(api)
    other = new_token(api, u)
    assert_error(change_password(api, u.token, u.password + "x", "a-new-password"),
                 403, "wrong_password")
    assert_error(change_password(api, u.token, u.password, "short"), 422, "invalid_password")
    assert_error(api.request("PUT", "/v1/users/me/password", token=u.token,
                             json_body={"new_password": "a-new-password"}),
                 422, "invalid_password")
    assert_error(change_password(api, None, u.password, "a-new-password"), 401)
    # nothing changed
    assert works(api, other)
    assert login(api, u.handle, u.password).status == 201


def test_password_change_ends_every_other_session(api):
    u, bystander = create_user(api), create_user(api)
    others = [new_token(api, u), new_token(api, u)]
    r = change_password(api, u.token, u.password, "the-new-password")
    assert r.status == 204, r
    assert works(api, u.token)
    for t in others:
        assert not works(api, t)
    assert works(api, bystander.token)
    assert [s["current"] for s in sessions(api, u.token)] == [True]
    assert_error(login(api, u.handle, u.password), 401, "invalid_credentials")
    assert login(api, u.handle, "the-new-password").status == 201


def test_current_password_guesses_have_a_budget_of_the_accounts_own(tmp_path):
    """Wrong current passwords are limited per account, from any address
    (a stolen token cannot guess at will), without locking the owner's
    log-ins."""
    # a node of its own: with --store in CHIRP_SERVE_ARGS it shares the
    # module server's database
    srv = ServerProc(tmp_path / "data", tmp_path / "limits.log", rate_limits=True,
                     extra_args=["--rate-limit", "login-handle=2/3600", "--node-id", "7"])
    os.makedirs(srv.data_dir, exist_ok=True)
    srv.start()
    try:
        api = srv.client()
        u = create_user(api)
        for _ in range(2):
            assert_error(change_password(api, u.token, "not-the-password", "a-new-password"),
                         403, "wrong_password")
        r = change_password(api, u.token, u.password, "a-new-password")
        assert_error(r, 429, "rate_limited")
        assert r.header("Retry-After")
        # the owner still logs in, with the password that did not change
        assert login(api, u.handle, u.password).status == 201
    finally:
        assert srv.stop() == 0, srv.log_tail()


# ------------------------------------------------------------ live streams

def assert_ended(s):
    assert s.ended.wait(WAIT), "the stream of an ended session is still open"
    while not s.events.empty():  # heartbeats may have come before the end
        assert s.events.get().get("event") != "tweet"


def streams_of(api, friend, *tokens):
    opened = [Stream(api, token=t) for t in tokens]
    for s in opened:
        assert s.status == 200
    t = post_tweet(api, friend)
    for s in opened:
        assert tweet_of(s.next_tweet()) == t
    return opened


def test_every_way_a_session_ends_ends_its_streams(api):
    u, friend = create_user(api), create_user(api)
    follow(api, u, friend.id, expect=(201,))
    by_id, by_password, kept = u.token, new_token(api, u), new_token(api, u)
    s_id, s_pw, s_kept = streams_of(api, friend, by_id, by_password, kept)

    # one session ended by id, from another session
    gone = current(api, by_id)["id"]
    assert api.delete(f"/v1/sessions/{gone}", token=kept).status == 204
    assert_ended(s_id)
    assert not s_pw.ended.is_set() and not s_kept.ended.is_set()

    # a password change: every other session's streams end, this one's stay
    assert change_password(api, kept, u.password, "changed-password").status == 204
    assert_ended(s_pw)
    t = post_tweet(api, friend)
    assert tweet_of(s_kept.next_tweet()) == t
    assert not s_kept.ended.is_set()

    # log out everywhere: this session's streams too
    assert api.delete("/v1/sessions", token=kept).status == 204
    assert_ended(s_kept)
    for s in (s_id, s_pw, s_kept):
        s.close()
    assert Stream(api, token=kept).status == 401


# -------------------------------------------------------------- idle expiry

def sql(server, query, *params):
    """Runs one statement (params are integers) on the server's database,
    whichever store it is (chirp_client.db_query); returns its first row
    as integers, or None."""
    text = query.replace("?", "{}").format(*(int(p) for p in params))
    rows = db_query(server.data_dir, text)
    return tuple(int(v) for v in rows[0]) if rows else None


def last_used(server, session_id):
    row = sql(server, "SELECT last_used_ms FROM sessions WHERE id = ?", session_id)
    return row[0] if row else None


def set_last_used(server, session_id, ms):
    sql(server, "UPDATE sessions SET last_used_ms = ? WHERE id = ?", ms, session_id)
    assert last_used(server, session_id) == ms


def now_ms():
    return int(time.time() * 1000)


def test_a_session_idle_past_the_flag_ends(server, api):
    u, friend = create_user(api), create_user(api)
    follow(api, u, friend.id, expect=(201,))
    idle, recent = new_token(api, u), new_token(api, u)
    idle_id, recent_id = current(api, idle)["id"], current(api, recent)["id"]
    [s_idle] = streams_of(api, friend, idle)
    # within the idle time (plus the hour a last use may lag): still good
    set_last_used(server, recent_id, now_ms() - IDLE_DAYS * DAY_MS + HOUR_MS)
    # past it: ended
    set_last_used(server, idle_id, now_ms() - IDLE_DAYS * DAY_MS - 2 * HOUR_MS)
    listed = {s["id"] for s in sessions(api, u.token)}
    assert recent_id in listed and idle_id not in listed
    assert_error(api.get("/v1/feed", token=idle), 401, "unauthorized")
    assert works(api, recent)
    # the row goes, and with it the token's streams
    assert_ended(s_idle)
    s_idle.close()
    deadline = time.monotonic() + WAIT
    while last_used(server, idle_id) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_used(server, idle_id) is None
    assert Stream(api, token=idle).status == 401


def test_last_use_is_recorded_at_most_hourly(server, api):
    u = create_user(api)
    sid = current(api, u.token)["id"]
    # less than an hour old: requests write nothing
    ten_minutes_ago = now_ms() - 10 * 60 * 1000
    set_last_used(server, sid, ten_minutes_ago)
    for _ in range(5):
        assert works(api, u.token)
    time.sleep(0.3)
    assert last_used(server, sid) == ten_minutes_ago
    # more than an hour old: the next request records it
    two_hours_ago = now_ms() - 2 * HOUR_MS
    set_last_used(server, sid, two_hours_ago)
    before = now_ms()
    assert works(api, u.token)
    deadline = time.monotonic() + WAIT
    while last_used(server, sid) == two_hours_ago and time.monotonic() < deadline:
        time.sleep(0.05)
    assert before - 1000 <= last_used(server, sid) <= now_ms() + 1000
    assert current(api, u.token)["last_used_at"] >= \
        time.strftime("%Y-%m-%dT%H:%M", time.gmtime(before / 1000 - 60))


def test_idle_sessions_are_swept_even_if_never_presented_again(server, api):
    """A session idle past the flag whose token never comes back still
    goes: the sweep runs at start (then hourly)."""
    u = create_user(api)
    forgotten = new_token(api, u)
    forgotten_id = current(api, forgotten)["id"]
    kept_id = current(api, u.token)["id"]
    server.stop()
    set_last_used(server, forgotten_id, now_ms() - IDLE_DAYS * DAY_MS - 2 * HOUR_MS)
    server.start()
    deadline = time.monotonic() + WAIT
    while last_used(server, forgotten_id) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_used(server, forgotten_id) is None
    assert last_used(server, kept_id) is not None
    assert works(api, u.token)
    assert not works(api, forgotten)
