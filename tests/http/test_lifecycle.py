"""Durability and process lifecycle, each test on its own server and data dir:
restart after SIGTERM, crash (kill -9) right after acknowledged writes,
graceful shutdown with requests in flight, and the command line."""

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from chirp_client import (ON_POSTGRES, REAL_HASH_COST, REQUEST_TIMEOUT, STARTUP_TIMEOUT, TRAFFIC,
                          assert_error, chirp_bin, create_user, eventually,
                          follow, free_port, get_user, list_ids, login,
                          new_token, post_tweet, random_handle, random_password,
                          signup)


def _state(api, users):
    """Everything observable about these users, for before/after checks."""
    out = {}
    for u in users:
        out[u.id] = {
            "profile": get_user(api, u.id),
            "by_handle": api.get(f"/v1/users/by-handle/{u.handle}").json,
            "tweets": api.get(f"/v1/users/{u.id}/tweets?limit=100").json,
            "followers": list_ids(api, f"/v1/users/{u.id}/followers?limit=100"),
            "following": list_ids(api, f"/v1/users/{u.id}/following?limit=100"),
        }
    return out


def test_everything_survives_sigterm_and_restart(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    a = create_user(api, "dura")
    b = create_user(api, "durb")
    revoked = new_token(api, a)
    assert api.delete("/v1/sessions/current", token=revoked).status == 204
    follow(api, a, b.id, expect=(201,))
    t1 = post_tweet(api, b, "first, deleted")
    t2 = post_tweet(api, b, "second \U0001F426")
    t3 = post_tweet(api, a, "a's own")
    assert api.delete(f"/v1/tweets/{t1['id']}", token=b.token).status == 204
    want_feed = [t3["id"], t2["id"]]
    eventually(lambda: list_ids(api, "/v1/feed", a.token) == want_feed,
               what="feed before restart")
    before = _state(api, [a, b])

    rc = srv.stop()
    assert rc == 0, f"SIGTERM exit code {rc}:\n{srv.log_tail()}"
    srv.start()

    assert _state(api, [a, b]) == before
    assert before[b.id]["profile"]["tweets_count"] == 1
    assert before[a.id]["profile"]["following_count"] == 1
    # Tokens: the live one works, the revoked one stays revoked.
    assert api.get("/v1/feed", token=a.token).status == 200
    assert_error(api.get("/v1/feed", token=revoked), 401, "unauthorized")
    # Feed rebuilt after restart: same content, deleted tweet still gone.
    eventually(lambda: list_ids(api, "/v1/feed", a.token) == want_feed,
               what="feed after restart")
    assert_error(api.get(f"/v1/tweets/{t1['id']}"), 404, "not_found")
    # Passwords and handle uniqueness persisted.
    assert login(api, a.handle, a.password).status == 201
    assert_error(login(api, a.handle, b.password), 401, "invalid_credentials")
    assert_error(signup(api, b.handle.upper(), random_password()), 409,
                 "handle_taken")
    # Ids keep growing across restarts.
    t4 = post_tweet(api, b, "after restart")
    assert int(t4["id"]) > int(t2["id"])
    assert srv.stop() == 0


def test_acknowledged_writes_survive_kill_9(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    u = create_user(api, "crash")
    v = create_user(api, "crashv")
    ids = [post_tweet(api, u, f"t{i}")["id"] for i in range(5)]
    assert api.delete(f"/v1/tweets/{ids[1]}", token=u.token).status == 204
    follow(api, u, v.id, expect=(201,))
    last = post_tweet(api, v, "acknowledged just before the crash")
    srv.kill9()

    srv.start()
    assert get_user(api, u.id)["handle"] == u.handle
    assert list_ids(api, f"/v1/users/{u.id}/tweets") == \
        [ids[4], ids[3], ids[2], ids[0]]
    assert get_user(api, u.id)["tweets_count"] == 4
    assert list_ids(api, f"/v1/users/{v.id}/followers") == [u.id]
    assert api.get(f"/v1/tweets/{last['id']}").status == 200
    assert api.get("/v1/feed", token=u.token).status == 200
    eventually(lambda: list_ids(api, "/v1/feed", u.token)[:1] == [last["id"]],
               what="feed after crash")


def test_concurrent_acknowledged_posts_survive_kill_9(server_factory):
    """Group commit must not acknowledge a tweet before it is durable."""
    srv = server_factory()
    srv.start()
    api = srv.client()
    users = [create_user(api, "burst") for _ in range(3)]
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(user):
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = api.post("/v1/tweets", {"text": f"burst {i}"},
                             token=user.token, timeout=5)
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if r.status == 201:
                with lock:
                    acked.append(r.json["id"])

    threads = [threading.Thread(target=writer, args=(u,)) for u in users
               for _ in range(2)]
    for t in threads:
        t.start()
    eventually(lambda: len(acked) >= 30, timeout=30, what="30 acked posts")
    srv.kill9()
    stop.set()
    for t in threads:
        t.join()

    srv.start()
    missing = [i for i in acked if api.get(f"/v1/tweets/{i}").status != 200]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged tweets lost"


def _accepted_connection(srv):
    """A connection the server has certainly accepted: it answered one
    request on it (keep-alive). A connection still in the kernel's listen
    backlog at SIGTERM is not in flight yet."""
    s = socket.create_connection(srv.address(), timeout=REQUEST_TIMEOUT)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    r = http.client.HTTPResponse(s)
    r.begin()
    r.read()
    assert r.status == 200 and not r.will_close, "no keep-alive"
    return s


def _send_signup(sock, handle, password):
    body = json.dumps({"handle": handle, "password": password}).encode()
    TRAFFIC.add_password(password)
    sock.sendall(b"POST /v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 b"Content-Type: application/json\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _read_response(sock):
    try:
        r = http.client.HTTPResponse(sock)
        r.begin()
        return r.status, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, repr(e)
    finally:
        sock.close()


def test_sigterm_lets_in_flight_requests_finish(server_factory):
    srv = server_factory()
    srv.extra_args += REAL_HASH_COST
    srv.start()
    # Sign-up hashes a password (tens of ms): send three on accepted
    # connections, then SIGTERM while they are being served.
    accounts = [(random_handle("inflight"), random_password()) for _ in range(3)]
    socks = [_accepted_connection(srv) for _ in accounts]
    for s, (h, p) in zip(socks, accounts):
        _send_signup(s, h, p)
    time.sleep(0.05)  # received by now; three hashes take longer than this
    srv.send_signal(signal.SIGTERM)
    results = [_read_response(s) for s in socks]
    try:
        rc = srv.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        srv.kill9()
        pytest.fail("no exit within 10 s of SIGTERM:\n" + srv.log_tail())
    assert rc == 0, f"exit code {rc}:\n{srv.log_tail()}"
    for status, body in results:
        assert status == 201, (f"in-flight sign-up got {status} {body!r}; "
                               f"server log:\n{srv.log_tail()}")
    # And they were really done.
    srv.start()
    api = srv.client()
    for h, p in accounts:
        assert login(api, h, p).status == 201


def test_sigterm_with_idle_connections_exits_promptly(server_factory):
    srv = server_factory()
    srv.start()
    idle = socket.create_connection(srv.address())
    keepalive = socket.create_connection(srv.address())
    keepalive.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert keepalive.recv(65536).startswith(b"HTTP/1.1 200")
    half = socket.create_connection(srv.address())
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
    time.sleep(0.1)
    start = time.monotonic()
    rc = srv.stop(timeout=10)
    assert rc == 0, f"exit code {rc}:\n{srv.log_tail()}"
    assert time.monotonic() - start < 10
    for s in (idle, keepalive, half):
        s.close()


def test_fresh_data_dir_starts_empty(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    assert_error(api.get("/v1/users/by-handle/anyone"), 404, "not_found")
    assert api.get("/readyz").status == 200
    assert srv.stop() == 0


def _users_in(db_path):
    """The users chirp.db holds, read by another process (this one)."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.2)
    try:
        return con.execute("SELECT count(*) FROM users").fetchone()[0]
    finally:
        con.close()


@pytest.mark.skipif(ON_POSTGRES, reason="about SQLite's chirp.db")
def test_sqlite_lock_exclusive_by_default_and_shared_on_request(server_factory):
    """--sqlite-lock exclusive (the default): while chirp runs, no other
    process can read chirp.db, and there is no -shm file (the WAL index is
    in chirp's memory); after a clean stop it is anyone's again. shared:
    another process reads it while chirp runs, every acknowledged write
    included."""
    srv = server_factory()
    srv.start()
    api = srv.client()
    create_user(api)
    db = os.path.join(str(srv.data_dir), "chirp.db")
    assert not os.path.exists(db + "-shm")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _users_in(db)
    assert srv.stop() == 0
    assert _users_in(db) == 1

    srv.extra_args += ["--sqlite-lock", "shared"]
    srv.start()
    assert _users_in(db) == 1
    create_user(srv.client())
    assert _users_in(db) == 2
    assert srv.stop() == 0


# --------------------------------------------------------------- command line

def _run(*args):
    if not os.access(chirp_bin(), os.X_OK):
        pytest.fail(f"chirp binary not found at {chirp_bin()}", pytrace=False)
    return subprocess.run([chirp_bin(), *args], capture_output=True,
                          timeout=STARTUP_TIMEOUT, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help(args):
    p = _run(*args)
    assert p.returncode == 0, p
    text = (p.stdout + p.stderr).decode("utf-8", "replace")
    for flag in ("--listen", "--data", "--threads"):
        assert flag in text, f"{flag} missing from `chirp {' '.join(args)}`:\n{text}"


@pytest.mark.parametrize("args", [
    ["--no-such-flag"],
    ["serve", "--no-such-flag"],
    ["serve", "--threads", "lots"],
    ["no-such-command"],
])
def test_bad_command_line_fails_with_message(args, tmp_path):
    if args[0] == "serve":  # otherwise valid, so only the bad part can fail
        args = args + ["--data", str(tmp_path), "--listen",
                       f"127.0.0.1:{free_port()}"]
    try:
        p = _run(*args)
    except subprocess.TimeoutExpired:
        pytest.fail(f"`chirp {' '.join(args)}` did not exit (it accepted the "
                    f"bad command line and kept running)")
    assert p.returncode != 0, p
    assert (p.stdout + p.stderr).strip(), "no message for a bad command line"
