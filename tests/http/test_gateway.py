"""The gateway in front of every handler, black-box: rate limits (budgets,
X-RateLimit-* headers, 429s, refill, per-user and per-IP buckets,
X-Forwarded-For from a trusted proxy), request ids, the access log, the
Prometheus metrics, readiness under an injected fsync failure, load shedding
and the read timeout against slow clients.

Each group runs its own `chirp serve` (ServerProc on a temporary data dir)
with the flags it is about; tests of a group share a module-scoped server
and stay independent of each other by using fresh users and, on the
--trust-proxy server, a fresh forwarded client address per test (so every
test has its own per-IP buckets).
"""

import itertools
import json
import os
import queue
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from chirp_client import (ON_POSTGRES, REAL_HASH_COST, RFC3339_UTC_RE, TEST_REDIS, TIMEOUT_FACTOR, ServerProc, User,
                          assert_error, assert_id, chirp_bin, create_user,
                          eventually, login, post_tweet, random_handle,
                          random_password, signup, store_disk_pids)
from metrics_scrape import get_metrics

F = TIMEOUT_FACTOR
HEX16_RE = re.compile(r"^[0-9a-f]{16}$")
LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining",
                 "X-RateLimit-Reset")


# ------------------------------------------------------------------ servers

def _start(tmp_path_factory, name, extra_args=(), rate_limits=False,
           threads=2):
    path = chirp_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chirp binary not found at {path}: run `make`",
                    pytrace=False)
    base = tmp_path_factory.mktemp(name)
    (base / "data").mkdir()
    srv = ServerProc(base / "data", base / "server.log", threads=threads,
                     extra_args=list(extra_args), rate_limits=rate_limits)
    srv.base = base
    srv.start()
    return srv


def _stop(srv):
    if srv.proc is not None and srv.alive():
        rc = srv.stop()
        assert rc == 0, f"server exited with {rc} on SIGTERM:\n{srv.log_tail()}"


def _check_alive(srv):
    if not srv.alive():
        pytest.fail(f"the server died (exit code {srv.proc.returncode}):\n"
                    + srv.log_tail(), pytrace=False)


# Budgets of the --trust-proxy server: small, so that each is quick to spend.
SIGNUP, LOGIN, LOGIN_HANDLE, POST, REQUESTS = 2, 3, 2, 3, 12
PERIOD = 3600


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    """Rate limits on, small budgets, behind a "load balancer" at 127.0.0.1:
    the client IP is the last X-Forwarded-For entry."""
    base_log = tmp_path_factory.mktemp("proxied-log") / "access.log"
    srv = _start(tmp_path_factory, "proxied", rate_limits=True, extra_args=[
        "--trust-proxy", "127.0.0.1",
        "--rate-limit", f"signup={SIGNUP}/{PERIOD}",
        "--rate-limit", f"login={LOGIN}/{PERIOD}",
        "--rate-limit", f"login-handle={LOGIN_HANDLE}/{PERIOD}",
        "--rate-limit", f"post={POST}/{PERIOD}",
        "--rate-limit", f"requests={REQUESTS}/{PERIOD}",
        "--access-log", str(base_log)])
    srv.access_log = base_log
    yield srv
    _stop(srv)


@pytest.fixture
def papi(proxied):
    yield proxied.client()
    _check_alive(proxied)


@pytest.fixture(scope="module")
def defaults(tmp_path_factory):
    """Rate limits on with their default budgets, no trusted proxy, the
    access log on stdout (which ServerProc sends to the server log)."""
    srv = _start(tmp_path_factory, "defaults", rate_limits=True)
    yield srv
    _stop(srv)


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    """No rate limits; JSON access log to a file: ids, log and metrics.
    Passwords at their real cost: a sign-up is a slow request, which the
    in-flight gauge's test counts."""
    log = tmp_path_factory.mktemp("observed-log") / "access.log"
    srv = _start(tmp_path_factory, "observed",
                 extra_args=["--access-log", str(log), *REAL_HASH_COST])
    srv.access_log = log
    yield srv
    _stop(srv)


@pytest.fixture
def oapi(observed):
    yield observed.client()
    _check_alive(observed)


# ------------------------------------------------------------------ helpers

_ips = itertools.count(1)


def fresh_ip():
    """A client address no other test uses (TEST-NET / private ranges)."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def fwd(ip):
    """X-Forwarded-For as a proxy appends it: whatever the client claimed
    first, the address the proxy saw last. Only the last entry may count."""
    return {"X-Forwarded-For": f"203.0.113.77, 198.51.100.{secrets.randbelow(250) + 1}, {ip}"}


def user_from(api, ip, prefix="g"):
    """Sign up and log in from forwarded address `ip`."""
    handle, password = random_handle(prefix), random_password()
    r = signup(api, handle, password, headers=fwd(ip))
    assert r.status == 201, r
    user = User(handle, password, r.json)
    r = login(api, handle, password, headers=fwd(ip))
    assert r.status == 201, r
    user.token = r.json["token"]
    return user


def limits_of(resp):
    vals = []
    for h in LIMIT_HEADERS:
        all_v = resp.header_all(h)
        assert len(all_v) == 1, \
            f"{len(all_v)} {h} headers {all_v}: {resp!r} {resp.headers}"
        v = all_v[0]
        assert v is not None and re.fullmatch(r"[0-9]+", v), \
            f"{h} missing or not a whole number ({v!r}): {resp!r} {resp.headers}"
        vals.append(int(v))
    return tuple(vals)


def assert_limits(resp, limit, remaining, reset, slack=2):
    """X-RateLimit-*: exact limit and remaining; reset at most `reset` (the
    bucket refills continuously, so it may be a little less)."""
    got = limits_of(resp)
    assert got[0] == limit and got[1] == remaining and \
        reset - slack <= got[2] <= reset, \
        (f"X-RateLimit (limit, remaining, reset) = {got}, expected "
         f"({limit}, {remaining}, ~{reset}): {resp!r}")


def assert_no_limits(resp):
    present = [h for h in LIMIT_HEADERS + ("Retry-After",) if resp.header(h)]
    assert not present, f"unexpected {present} on {resp!r}: {resp.headers}"


def assert_refused(resp, retry_after=None, slack=2):
    """A 429 rate_limited with Retry-After (whole seconds, >= 1)."""
    assert_error(resp, 429, "rate_limited")
    ra = resp.header("Retry-After")
    assert ra is not None and re.fullmatch(r"[0-9]+", ra) and int(ra) >= 1, \
        f"429 without a valid Retry-After ({ra!r}): {resp.headers}"
    if retry_after is not None:
        assert retry_after - slack <= int(ra) <= retry_after, \
            f"Retry-After {ra}, expected ~{retry_after}: {resp!r}"
    limits_of(resp)
    assert_request_id(resp)
    return int(ra)


def assert_request_id(resp, sent=None):
    rid = resp.header("X-Request-Id")
    assert rid is not None, f"no X-Request-Id on {resp!r}: {resp.headers}"
    assert len(resp.header_all("X-Request-Id")) == 1, resp.headers
    if sent is None:
        return rid
    if sent is True:  # a generated one
        assert HEX16_RE.match(rid), f"generated X-Request-Id {rid!r} is not 16 hex"
    else:
        assert rid == sent, f"X-Request-Id {sent!r} came back as {rid!r}"
    return rid


# ====================================================== rate limits: flags

@pytest.mark.parametrize("value", [
    "signup", "signup=5", "signup=5/", "signup=/60", "signup=0/60",
    "signup=5/0", "signup=a/b", "signup=5/60x", "signup=-1/60",
    "requests=99999999999/60", "bogus=5/60", "=5/60", "SIGNUP=5/60"])
def test_bad_rate_limit_flag_exits_2(tmp_path, value):
    r = subprocess.run(
        [chirp_bin(), "serve", "--listen", "127.0.0.1:1", "--data",
         str(tmp_path / "d"), "--rate-limit", value],
        capture_output=True, timeout=10 * F)
    assert r.returncode == 2, (value, r.returncode, r.stderr)
    err = r.stderr.decode()
    assert "--rate-limit" in err and value in err, err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_other_bad_gateway_flags_exit_2(tmp_path):
    for args in (["--rate-limit"], ["--log-format", "xml"],
                 ["--max-inflight", "0"], ["--max-inflight", "x"],
                 ["--read-timeout", "0"]):
        r = subprocess.run([chirp_bin(), "serve", "--listen", "127.0.0.1:1",
                            "--data", str(tmp_path / "d"), *args],
                           capture_output=True, timeout=10 * F)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.strip(), args


# ========================================== rate limits: the proxied server

def test_signup_budget_per_forwarded_address(papi):
    ip = fresh_ip()
    pw = random_password()
    handles = [random_handle("su") for _ in range(4)]
    rate = PERIOD // SIGNUP  # seconds per token
    r1 = signup(papi, handles[0], pw, headers=fwd(ip))
    assert r1.status == 201, r1
    assert_limits(r1, SIGNUP, 1, rate)
    r2 = signup(papi, handles[1], pw, headers=fwd(ip))
    assert r2.status == 201, r2
    assert_limits(r2, SIGNUP, 0, 2 * rate)
    r3 = signup(papi, handles[2], pw, headers=fwd(ip))
    assert_refused(r3, retry_after=rate)
    assert_limits(r3, SIGNUP, 0, 2 * rate)
    # the refused sign-up created nothing
    look = papi.get(f"/v1/users/by-handle/{handles[2]}", headers=fwd(fresh_ip()))
    assert_error(look, 404, "not_found")
    # only the LAST X-Forwarded-For entry counts: another chain ending in
    # the same address is still refused ...
    r4 = signup(papi, handles[3], pw,
                headers={"X-Forwarded-For": f"192.0.2.1,192.0.2.2 , {ip}"})
    assert_refused(r4)
    # ... and another last address has its own, full budget
    r5 = signup(papi, handles[2], pw, headers=fwd(fresh_ip()))
    assert r5.status == 201, r5
    assert_limits(r5, SIGNUP, 1, rate)


def test_login_budget_per_address_and_successes_spare_the_handle(papi):
    u = user_from(papi, fresh_ip())
    ip = fresh_ip()
    rate = PERIOD // LOGIN
    # more successful log-ins than login-handle allows: that budget counts
    # only failures
    assert LOGIN > LOGIN_HANDLE
    for i in range(LOGIN):
        r = login(papi, u.handle, u.password, headers=fwd(ip))
        assert r.status == 201, (i, r)
        assert_limits(r, LOGIN, LOGIN - 1 - i, (i + 1) * rate)
    r = login(papi, u.handle, u.password, headers=fwd(ip))
    assert_refused(r, retry_after=rate)
    assert "token" not in r.json
    # the same user from another address logs in
    r = login(papi, u.handle, u.password, headers=fwd(fresh_ip()))
    assert r.status == 201, r


def test_failed_logins_spend_the_budget_of_handle_and_address(papi):
    victim = user_from(papi, fresh_ip(), "vic")
    other = user_from(papi, fresh_ip(), "oth")
    attacker = fresh_ip()
    for i in range(LOGIN_HANDLE):
        r = login(papi, victim.handle.upper(), f"wrong password {i}",
                  headers=fwd(attacker))
        assert_error(r, 401, "invalid_credentials")
    # from the same address, with the right password and the handle in its
    # original case: refused
    refused = login(papi, victim.handle, victim.password, headers=fwd(attacker))
    assert_error(refused, 429, "rate_limited")
    assert "token" not in refused.json, refused
    # the headers describe the budget that refused: login-handle, spent
    assert_refused(refused, retry_after=PERIOD // LOGIN_HANDLE)
    assert_limits(refused, LOGIN_HANDLE, 0, PERIOD)
    # other handles are not affected (from another address: this one has
    # spent its per-IP log-in budget, LOGIN, on the three above)
    r = login(papi, other.handle, other.password, headers=fwd(fresh_ip()))
    assert r.status == 201, r
    # nor is the victim from another address (issue 19: a stranger must
    # not lock an account for everyone)
    r = login(papi, victim.handle, victim.password, headers=fwd(fresh_ip()))
    assert r.status == 201, r
    # sessions the victim already has keep working
    r = papi.get("/v1/feed", token=victim.token)
    assert r.status == 200, r


def test_post_budget_is_per_user(papi):
    ip = fresh_ip()
    a = user_from(papi, ip, "pa")
    b = user_from(papi, ip, "pb")
    rate = PERIOD // POST
    posted = []
    for i in range(POST):
        r = papi.post("/v1/tweets", {"text": f"budget {i}"}, token=a.token)
        assert r.status == 201, r
        assert_limits(r, POST, POST - 1 - i, (i + 1) * rate)
        posted.append(r.json["id"])
    r = papi.post("/v1/tweets", {"text": "one too many"}, token=a.token)
    assert_refused(r, retry_after=rate)
    assert_limits(r, POST, 0, POST * rate)
    # the refused post created nothing
    r = papi.get(f"/v1/users/{a.id}/tweets?limit=100", headers=fwd(fresh_ip()))
    assert r.status == 200, r
    assert [t["id"] for t in r.json] == posted[::-1], r.json
    r = papi.get(f"/v1/users/{a.id}", headers=fwd(fresh_ip()))
    assert r.json["tweets_count"] == POST, r
    # b, same address, has a budget of its own
    r = papi.post("/v1/tweets", {"text": "mine"}, token=b.token)
    assert r.status == 201, r
    assert_limits(r, POST, POST - 1, rate)


def test_requests_budget_per_address_then_per_user(papi):
    ip = fresh_ip()
    rate = PERIOD // REQUESTS
    for i in range(REQUESTS):
        # 404 or 200, both pay: any public route will do
        r = papi.get("/v1/users/1", headers=fwd(ip))
        assert r.status in (200, 404), r
        assert_limits(r, REQUESTS, REQUESTS - 1 - i, (i + 1) * rate)
    r = papi.get("/v1/users/1", headers=fwd(ip))
    assert_refused(r, retry_after=rate)
    r = papi.get(f"/v1/users/by-handle/{random_handle()}", headers=fwd(ip))
    assert_refused(r)
    # a valid token moves the charge to the user, from the same address
    u = user_from(papi, fresh_ip(), "rq")
    for i in range(REQUESTS):
        r = papi.get("/v1/feed", token=u.token, headers=fwd(ip))
        assert r.status == 200, (i, r)
        assert_limits(r, REQUESTS, REQUESTS - 1 - i, (i + 1) * rate)
    r = papi.get("/v1/feed", token=u.token, headers=fwd(fresh_ip()))
    assert_refused(r, retry_after=rate)
    # ... a public read with that token is charged to the user too
    r = papi.get("/v1/users/1", token=u.token, headers=fwd(fresh_ip()))
    assert_refused(r)
    # another user, and an anonymous client elsewhere, are unaffected
    v = user_from(papi, fresh_ip(), "rq")
    r = papi.get("/v1/feed", token=v.token, headers=fwd(ip))
    assert r.status == 200, r
    assert_limits(r, REQUESTS, REQUESTS - 1, rate)
    r = papi.get("/v1/users/1", headers=fwd(fresh_ip()))
    assert r.status in (200, 404), r


@pytest.mark.parametrize("token", ["unknown", "malformed", "absent"])
def test_requests_budget_counts_requests_without_a_valid_token(papi, token):
    """Every request but /healthz, /readyz and /metrics pays the requests
    budget: one without a valid token pays per IP. A client guessing bearer
    tokens must run out of budget like any other."""
    ip = fresh_ip()
    seen = []
    for _ in range(REQUESTS + 3):
        tok = {"unknown": secrets.token_urlsafe(32),
               "malformed": "not a token: " + secrets.token_hex(4),
               "absent": None}[token]
        r = papi.get("/v1/feed", token=tok, headers=fwd(ip))
        seen.append((r.status, r.header("X-RateLimit-Remaining")))
    statuses = [s for s, _ in seen]
    assert statuses[:REQUESTS] == [401] * REQUESTS and \
        set(statuses[REQUESTS:]) == {429}, \
        (f"requests={REQUESTS}/{PERIOD}, {REQUESTS + 3} GET /v1/feed with "
         f"{token} tokens from one address: (status, X-RateLimit-Remaining) "
         f"= {seen}")


def test_requests_budget_counts_unknown_routes_and_methods(papi):
    ip = fresh_ip()
    seen = []
    for i in range(REQUESTS + 2):
        if i % 2:
            r = papi.get(f"/no/such/route/{i}", headers=fwd(ip))
        else:
            r = papi.request("PUT", "/v1/users", headers=fwd(ip))
        seen.append((r.status, r.header("X-RateLimit-Remaining")))
    statuses = [s for s, _ in seen]
    assert set(statuses[:REQUESTS]) <= {404, 405} and \
        set(statuses[REQUESTS:]) == {429}, \
        (f"requests={REQUESTS}/{PERIOD}, {REQUESTS + 2} requests to unknown "
         f"paths / methods from one address: (status, X-RateLimit-Remaining) "
         f"= {seen}")


def test_operations_endpoints_are_never_limited(papi):
    ip = fresh_ip()
    for _ in range(REQUESTS):
        papi.get("/v1/users/1", headers=fwd(ip))
    assert_refused(papi.get("/v1/users/1", headers=fwd(ip)))
    for _ in range(3 * REQUESTS):
        for path in ("/healthz", "/readyz", "/metrics"):
            r = (get_metrics(papi, headers=fwd(ip)) if path == "/metrics"
                 else papi.get(path, headers=fwd(ip)))
            assert r.status == 200, r
            # they show the caller's budget (every response does) but
            # never take from it: it stays spent, not below zero
            lim, rem, _ = limits_of(r)
            assert (lim, rem) == (REQUESTS, 0), r.headers
            assert_request_id(r)
    # and they do not spend the budget: still refused, not refilled
    assert_refused(papi.get("/v1/users/1", headers=fwd(ip)))


def test_rate_limit_headers_on_client_errors(papi):
    u = user_from(papi, fresh_ip(), "ce")
    r = papi.post("/v1/tweets", {"text": ""}, token=u.token)
    assert_error(r, 422, "invalid_text")
    limits_of(r)
    r = papi.get("/v1/users/abc", headers=fwd(fresh_ip()))
    assert_error(r, 400, "invalid_id")
    limits_of(r)
    r = papi.get("/v1/tweets/12345", headers=fwd(fresh_ip()))
    assert_error(r, 404, "not_found")
    limits_of(r)


def test_access_log_ip_is_the_forwarded_address(proxied, papi):
    ip = fresh_ip()
    rid1 = "xff-" + secrets.token_hex(6)
    rid2 = "xff-" + secrets.token_hex(6)
    rid3 = "xff-" + secrets.token_hex(6)
    papi.get("/v1/users/1", headers={**fwd(ip), "X-Request-Id": rid1})
    # not an address: the peer's address is used
    papi.get("/v1/users/1", headers={"X-Forwarded-For": "1.2.3.4, not-an-ip",
                                     "X-Request-Id": rid2})
    papi.get("/v1/users/1", headers={"X-Request-Id": rid3})
    lines = wait_log_lines(proxied.access_log, [rid1, rid2, rid3])
    assert lines[rid1]["ip"] == ip, lines[rid1]
    assert lines[rid2]["ip"] == "127.0.0.1", lines[rid2]
    assert lines[rid3]["ip"] == "127.0.0.1", lines[rid3]


# ========================================= rate limits: defaults, no proxy

def test_default_budgets_in_headers(defaults):
    api = defaults.client()
    handle, pw = random_handle("def"), random_password()
    r = signup(api, handle, pw)
    assert r.status == 201, r
    assert_limits(r, 5, 4, 1800 // 5)
    r = login(api, handle, pw)
    assert r.status == 201, r
    assert_limits(r, 25, 24, 300 // 25)
    token = r.json["token"]
    r = api.post("/v1/tweets", {"text": "default budgets"}, token=token)
    assert r.status == 201, r
    lim, rem, _ = limits_of(r)
    assert (lim, rem) == (300, 299), r.headers  # post and requests: 300 each
    r = api.get("/v1/feed", token=token)
    assert r.status == 200, r
    assert_limits(r, 300, 298, 2)  # requests=300/300, per user
    r = api.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}, r
    lim, rem, _ = limits_of(r)  # shown for the client IP, not taken
    assert lim == 300, r.headers
    assert limits_of(api.get("/healthz"))[1] == rem, "operations took a token"


def test_forwarded_for_is_ignored_without_trust_proxy(defaults):
    api = defaults.client()
    pw = random_password()
    rid = "noproxy-" + secrets.token_hex(6)
    r1 = signup(api, random_handle("np"), pw,
                headers={"X-Forwarded-For": fresh_ip(), "X-Request-Id": rid})
    assert r1.status == 201, r1
    r2 = signup(api, random_handle("np"), pw,
                headers={"X-Forwarded-For": fresh_ip()})
    assert r2.status == 201, r2
    # one shared bucket for 127.0.0.1: the second has one token less
    assert limits_of(r2)[1] == limits_of(r1)[1] - 1, (r1.headers, r2.headers)
    line = eventually(lambda: _stdout_line(defaults, rid),
                      what="access log line on stdout")
    assert line["ip"] == "127.0.0.1", line


def test_forwarded_for_is_ignored_from_an_untrusted_peer(tmp_path_factory):
    """--trust-proxy names the proxy; a connection from anywhere else (here
    127.0.0.1) cannot choose its client IP with X-Forwarded-For."""
    srv = _start(tmp_path_factory, "untrusted", rate_limits=True, extra_args=[
        "--trust-proxy", "192.0.2.10", "--access-log", "off"])
    try:
        api = srv.client()
        seen = []
        for _ in range(3):
            r = api.get("/v1/users/1", headers=fwd(fresh_ip()))
            seen.append(limits_of(r)[1])
        assert seen == [299, 298, 297], seen
    finally:
        _stop(srv)


def _stdout_line(srv, rid):
    for raw in Path(srv.log_path).read_text(errors="replace").splitlines():
        if raw.startswith("{") and rid in raw:
            return json.loads(raw)
    return None


def test_access_log_defaults_to_stdout_as_json(defaults):
    api = defaults.client()
    rid = "stdout-" + secrets.token_hex(6)
    r = api.get("/v1/users/1", headers={"X-Request-Id": rid})
    line = eventually(lambda: _stdout_line(defaults, rid),
                      what="access log line on stdout")
    check_line(line, r, "GET", "/v1/users/{id}")


@pytest.fixture(scope="module")
def refilling(tmp_path_factory):
    srv = _start(tmp_path_factory, "refill", rate_limits=True,
                 extra_args=["--rate-limit", "requests=2/2"])
    yield srv
    _stop(srv)


def test_requests_budget_refills_continuously(refilling):
    api = refilling.client()
    r = api.get("/v1/users/1")
    assert r.status in (200, 404), r
    assert_limits(r, 2, 1, 1, slack=1)
    r = api.get("/v1/users/1")
    assert_limits(r, 2, 0, 2, slack=1)
    r = api.get("/v1/users/1")
    assert_refused(r, retry_after=1, slack=0)
    t_refused = time.monotonic()
    time.sleep(1.15)
    r = api.get("/v1/users/1")
    assert r.status in (200, 404), \
        f"{time.monotonic() - t_refused:.2f}s after a 429 on requests=2/2: {r!r}"
    assert_limits(r, 2, 0, 2, slack=1)
    # only one token had come back
    r = api.get("/v1/users/1")
    assert_refused(r, retry_after=1, slack=0)
    # after a full period, the whole bucket is back
    time.sleep(2.1)
    statuses = [api.get("/v1/users/1").status for _ in range(3)]
    assert 429 not in statuses[:2] and statuses[2] == 429, statuses


# ================================================================ request ids

@pytest.mark.parametrize("sent", [
    "a", "abc-123_XYZ.~!", "x" * 128, "req:1/2?3=4&5#6", "\"quoted\"",
    "{}[]()<>@,;\\"])
def test_request_id_is_echoed(oapi, sent):
    r = oapi.get("/healthz", headers={"X-Request-Id": sent})
    assert r.status == 200, r
    assert_request_id(r, sent)


@pytest.mark.parametrize("sent", ["", "x" * 129, "a b", "caf\xe9",
                                  "tab\there", "y" * 1000])
def test_bad_request_id_is_replaced(oapi, sent):
    r = oapi.get("/v1/users/1", headers={"X-Request-Id": sent})
    assert r.status in (200, 404), r
    rid = assert_request_id(r, True)
    assert rid != sent


def test_generated_request_ids_are_unique(oapi):
    ids = [assert_request_id(oapi.get("/healthz"), True) for _ in range(50)]
    assert len(set(ids)) == len(ids), ids


def test_every_kind_of_response_has_a_request_id(observed, oapi):
    u = create_user(oapi, "rid")
    rs = [
        oapi.get("/healthz"), oapi.get("/readyz"), get_metrics(oapi),
        oapi.get("/v1/users/1"), oapi.get("/nope"),
        oapi.request("PUT", "/v1/users"),
        oapi.get("/v1/feed"),
        oapi.post("/v1/tweets", {"text": "rid"}, token=u.token),
        oapi.post("/v1/tweets", {"text": ""}, token=u.token),
        oapi.post("/v1/users", body="{", headers={}),
        oapi.raw_request("POST", "/v1/users", body=b"x" * 70000),
        oapi.get("/v1/users/1", headers={"X-Big": "b" * 17000}),
    ]
    for r in rs:
        assert r is not None
        assert_request_id(r, True)


# ================================================================= access log

LOG_KEYS = {"time", "request_id", "method", "route", "status", "bytes",
            "duration_us", "user_id", "ip"}


def read_log(path):
    out = {}
    try:
        text = Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return out
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            raise AssertionError(f"access log line is not JSON: {raw!r}") from None
        out.setdefault(line.get("request_id"), []).append(line)
    return out


def wait_log_lines(path, rids):
    """{rid: line} once every rid has exactly one line (a line is written
    after the response is sent, so it may lag a little)."""
    def ready():
        log = read_log(path)
        return log if all(r in log for r in rids) else None
    log = eventually(ready, what=f"access log lines for {rids}")
    for r in rids:
        assert len(log[r]) == 1, f"{len(log[r])} lines for {r}: {log[r]}"
    return {r: log[r][0] for r in rids}


def check_line(line, resp, method, route, user_id=None, ip="127.0.0.1"):
    assert set(line) == LOG_KEYS, f"keys {sorted(line)}: {line}"
    assert isinstance(line["time"], str) and RFC3339_UTC_RE.match(line["time"]), line
    assert line["request_id"] == resp.header("X-Request-Id"), (line, resp.headers)
    assert line["method"] == method, line
    assert line["route"] == route, line
    assert line["status"] == resp.status, (line, resp)
    assert line["bytes"] == len(resp.body), (line, len(resp.body))
    assert isinstance(line["duration_us"], int) and \
        0 <= line["duration_us"] < 30_000_000, line
    assert line["user_id"] == user_id, line
    assert line["ip"] == ip, line


def test_access_log_lines_for_sync_async_and_errors(observed, oapi):
    u = create_user(oapi, "log")
    t = post_tweet(oapi, u)
    cases = []  # (resp, method, route, user_id)

    def go(method, path, route, user=None, **kw):
        rid = f"log-{secrets.token_hex(8)}"
        r = oapi.request(method, path, token=user.token if user else None,
                         headers={"X-Request-Id": rid}, **kw)
        cases.append((rid, r, method, route, user.id if user else None))
        return r

    assert go("GET", f"/v1/tweets/{t['id']}", "/v1/tweets/{id}").status == 200
    assert go("GET", f"/v1/tweets/{t['id']}", "/v1/tweets/{id}", u).status == 200
    assert go("GET", "/v1/tweets/1", "/v1/tweets/{id}").status == 404
    assert go("GET", "/v1/users/abc/tweets", "/v1/users/{id}/tweets").status == 400
    assert go("GET", f"/v1/users/by-handle/{u.handle}",
              "/v1/users/by-handle/{handle}").status == 200
    assert go("GET", "/v1/feed?limit=5", "/v1/feed", u).status == 200
    assert go("GET", "/v1/feed", "/v1/feed").status == 401
    assert go("GET", "/no/such/thing", "unmatched").status == 404
    # asynchronous: committed writes, password hashing, failures among them
    assert go("POST", "/v1/tweets", "/v1/tweets", u,
              json_body={"text": "logged"}).status == 201
    assert go("POST", "/v1/tweets", "/v1/tweets", u,
              json_body={"text": ""}).status == 422
    assert go("POST", "/v1/sessions", "/v1/sessions",
              json_body={"handle": u.handle, "password": "wrong one!"}).status == 401
    assert go("POST", "/v1/users", "/v1/users",
              json_body={"handle": random_handle("lg"),
                         "password": random_password()}).status == 201
    assert go("POST", "/v1/users", "/v1/users",
              json_body={"handle": u.handle, "password": random_password()}).status == 409
    assert go("DELETE", f"/v1/tweets/{t['id']}", "/v1/tweets/{id}", u).status == 204
    lines = wait_log_lines(observed.access_log, [c[0] for c in cases])
    for rid, r, method, route, uid in cases:
        check_line(lines[rid], r, method, route, user_id=uid)
    # ids in the log are strings, as everywhere in the API
    assert_id(lines[cases[1][0]]["user_id"])


def test_access_log_has_generated_ids_too(observed, oapi):
    r = oapi.get("/v1/users/1")
    rid = assert_request_id(r, True)
    line = wait_log_lines(observed.access_log, [rid])[rid]
    check_line(line, r, "GET", "/v1/users/{id}")


@pytest.mark.parametrize("level,logged", [
    ("info", {200, 404}), ("warn", {404}), ("error", set())])
def test_access_log_level_picks_which_requests_are_logged(tmp_path_factory, level,
                                                          logged):
    log = tmp_path_factory.mktemp("level-log") / "access.log"
    srv = _start(tmp_path_factory, f"level-{level}",
                 extra_args=["--access-log", str(log), "--log-level", level])
    try:
        api = srv.client()
        tag = secrets.token_hex(4)
        api.get("/healthz", headers={"X-Request-Id": f"{tag}-200"})
        api.get("/nope", headers={"X-Request-Id": f"{tag}-404"})
        time.sleep(0.2)
        lines = log.read_text().splitlines() if log.exists() else []
        seen = {json.loads(x)["status"] for x in lines if tag in x}
        assert seen == logged, (level, lines)
    finally:
        _stop(srv)


def test_access_log_text_format_and_off(tmp_path_factory):
    had_off_file = (Path.cwd() / "off").exists()
    text_log = tmp_path_factory.mktemp("text-log") / "access.log"
    srv = _start(tmp_path_factory, "textlog",
                 extra_args=["--access-log", str(text_log), "--log-format", "text"])
    off = _start(tmp_path_factory, "offlog", extra_args=["--access-log", "off"])
    try:
        rid = "text-" + secrets.token_hex(6)
        r = srv.client().get("/v1/users/1", headers={"X-Request-Id": rid})
        line = eventually(
            lambda: [x for x in (text_log.read_text().splitlines()
                                 if text_log.exists() else []) if rid in x],
            what="text access log line")
        assert len(line) == 1, line
        line = line[0]
        with pytest.raises(ValueError):
            json.loads(line)
        fields = line.split()
        assert RFC3339_UTC_RE.match(fields[0]), line
        for want in (rid, "GET", "/v1/users/{id}", str(r.status), "127.0.0.1"):
            assert want in line, (want, line)

        rid = "off-" + secrets.token_hex(6)
        api = off.client()
        for _ in range(3):
            api.get("/v1/users/1", headers={"X-Request-Id": rid})
        api.post("/v1/users", {"handle": random_handle(), "password": "x"},
                 headers={"X-Request-Id": rid})
        time.sleep(0.2)
        assert rid not in Path(off.log_path).read_text(errors="replace"), \
            off.log_tail()
        # "off" is a keyword, not a file name
        assert not (Path.cwd() / "off").exists() or had_off_file
    finally:
        _stop(srv)
        _stop(off)


# ==================================================================== metrics

def scrape(api):
    r = get_metrics(api)
    assert r.status == 200, r
    ct = r.header("Content-Type") or ""
    assert ct.startswith("text/plain"), ct
    return {f.name: f for f in text_string_to_metric_families(r.body.decode())}


def value(fams, family, sample=None, default=None, **labels):
    f = fams.get(family)
    if f is None:
        return default
    for s in f.samples:
        if s.name == (sample or family) and s.labels == labels:
            return s.value
    return default


REQ = "chirp_http_requests"
DUR = "chirp_http_request_duration_seconds"

EXPECTED_FAMILIES = {
    REQ: "counter",
    DUR: "histogram",
    "chirp_http_requests_in_flight": "gauge",
    "chirp_store_commit_batch_size": "histogram",
    "chirp_store_failed_commits": "counter",
    "chirp_store_write_queue_depth": "gauge",
    "chirp_timelines": "gauge",
    "chirp_timeline_entries": "gauge",
    "chirp_timeline_bytes": "gauge",
    "chirp_timeline_hits": "counter",
    "chirp_timeline_misses": "counter",
    "chirp_timeline_evictions": "counter",
    "chirp_timeline_rebuilds": "counter",
    "chirp_feed_store_pages": "counter",
    "chirp_tweet_cache_entries": "gauge",
    "chirp_tweet_cache_bytes": "gauge",
    "chirp_tweet_cache_hits": "counter",
    "chirp_tweet_cache_misses": "counter",
    "chirp_tweet_cache_evictions": "counter",
    "chirp_fanout_queue_depth": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_cpu_seconds": "counter",
}


def test_metrics_parse_with_the_expected_families(oapi):
    oapi.get("/healthz")
    fams = scrape(oapi)
    missing = {n for n in EXPECTED_FAMILIES if n not in fams}
    assert not missing, f"missing metric families: {missing}"
    wrong = {n: (fams[n].type, t) for n, t in EXPECTED_FAMILIES.items()
             if fams[n].type != t}
    assert not wrong, f"(got, expected) types: {wrong}"
    for f in fams.values():
        assert f.documentation, f"{f.name} has no HELP"
        for s in f.samples:
            assert s.value >= 0, s


def test_requests_total_counts_each_request_once(oapi):
    u = create_user(oapi, "met")
    # a pair no other test makes: absent, then exactly 1
    key = dict(route="/v1/users/{id}/followers", method="GET", status="400")
    assert value(scrape(oapi), REQ, f"{REQ}_total", 0, **key) == 0
    assert oapi.get("/v1/users/abc/followers").status == 400
    assert value(scrape(oapi), REQ, f"{REQ}_total", None, **key) == 1
    # a pair seen before: exactly one more per request
    key = dict(route="/v1/tweets/{id}", method="GET", status="404")
    before = value(scrape(oapi), REQ, f"{REQ}_total", 0, **key)
    for _ in range(3):
        assert oapi.get("/v1/tweets/1").status == 404
    assert value(scrape(oapi), REQ, f"{REQ}_total", None, **key) == before + 3
    # asynchronous writes: counted once, when answered
    key = dict(route="/v1/tweets", method="POST", status="201")
    before = value(scrape(oapi), REQ, f"{REQ}_total", 0, **key)
    post_tweet(oapi, u)
    eventually(lambda: value(scrape(oapi), REQ, f"{REQ}_total", 0, **key)
               == before + 1, what="POST /v1/tweets 201 counted")
    time.sleep(0.1)
    assert value(scrape(oapi), REQ, f"{REQ}_total", 0, **key) == before + 1
    # unknown paths are counted under route="unmatched"
    fams = scrape(oapi)
    before = sum(s.value for s in fams[REQ].samples
                 if s.labels["route"] == "unmatched" and s.labels["status"] == "404")
    oapi.get("/definitely/not/here")
    fams = scrape(oapi)
    after = sum(s.value for s in fams[REQ].samples
                if s.labels["route"] == "unmatched" and s.labels["status"] == "404")
    assert after == before + 1
    # labels are route templates, never raw paths
    for s in fams[REQ].samples:
        assert s.labels["route"] == "unmatched" or s.labels["route"].startswith(
            ("/v1/", "/healthz", "/readyz", "/metrics")), s
        assert not re.search(r"/[0-9]+(/|$)", s.labels["route"]), s
        assert re.fullmatch(r"[1-5][0-9][0-9]", s.labels["status"]), s


def _histograms(fam):
    """{labels-without-le: (buckets [(le, v)], sum, count)}"""
    out = {}
    for s in fam.samples:
        labels = {k: v for k, v in s.labels.items() if k != "le"}
        key = tuple(sorted(labels.items()))
        h = out.setdefault(key, {"buckets": [], "sum": None, "count": None})
        if s.name.endswith("_bucket"):
            h["buckets"].append((float(s.labels["le"]), s.value))
        elif s.name.endswith("_sum"):
            h["sum"] = s.value
        elif s.name.endswith("_count"):
            h["count"] = s.value
    return out


def _check_histogram(name, key, h):
    b = h["buckets"]
    assert b and h["sum"] is not None and h["count"] is not None, (name, key, h)
    les = [le for le, _ in b]
    assert les == sorted(les) and les[-1] == float("inf"), (name, key, les)
    counts = [v for _, v in b]
    assert counts == sorted(counts), f"{name}{key} buckets not cumulative: {b}"
    assert counts[-1] == h["count"], f"{name}{key} +Inf {counts[-1]} != count {h['count']}"
    assert h["sum"] >= 0, (name, key, h)


def test_duration_histogram_per_route(oapi):
    for _ in range(2):
        oapi.get("/v1/users/1")
    fams = scrape(oapi)
    hs = _histograms(fams[DUR])
    for key, h in hs.items():
        _check_histogram(DUR, key, h)
    key = (("method", "GET"), ("route", "/v1/users/{id}"))
    assert key in hs, list(hs)
    before = hs[key]["count"]
    oapi.get("/v1/users/1")
    after = _histograms(scrape(oapi)[DUR])[key]
    assert after["count"] == before + 1, (before, after)
    assert after["sum"] >= hs[key]["sum"]
    # the sum is in seconds: a GET of a user is far below a second
    assert after["sum"] - hs[key]["sum"] < 1.0
    # per-route counts agree with chirp_http_requests_total
    total = sum(s.value for s in scrape(oapi)[REQ].samples
                if s.labels["route"] == "/v1/users/{id}" and s.labels["method"] == "GET")
    assert total == after["count"], (total, after)


def test_in_flight_gauge_follows_concurrent_requests(oapi):
    assert value(scrape(oapi), "chirp_http_requests_in_flight") >= 1  # the scrape
    seen = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            seen.append(value(scrape(oapi), "chirp_http_requests_in_flight"))

    def sign_up():
        signup(oapi, random_handle("fl"), random_password())

    poller = threading.Thread(target=poll)
    poller.start()
    workers = [threading.Thread(target=sign_up) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    poller.join()
    assert max(seen) >= 3, f"in-flight values seen during 6 sign-ups: {seen}"
    # nothing leaks: back to just the scrape itself
    eventually(lambda: value(scrape(oapi), "chirp_http_requests_in_flight") == 1,
               what="in-flight back to 1")


def test_commit_batch_histogram_and_queues(oapi):
    def batches():
        return _histograms(scrape(oapi)["chirp_store_commit_batch_size"])[()]
    before = batches()
    u = create_user(oapi, "bat")
    for _ in range(3):
        post_tweet(oapi, u)
    after = eventually(lambda: (lambda h: h if h["count"] >= before["count"] + 1
                                else None)(batches()), what="commits counted")
    _check_histogram("chirp_store_commit_batch_size", (), after)
    # 1 sign-up + 1 log-in + 3 tweets, one at a time: at least 5 more writes
    assert after["sum"] >= before["sum"] + 5, (before, after)
    assert after["count"] <= after["sum"]
    assert [le for le, _ in after["buckets"]][:3] == [1, 2, 4]
    fams = scrape(oapi)
    assert value(fams, "chirp_store_failed_commits", "chirp_store_failed_commits_total") == 0
    eventually(lambda: value(scrape(oapi), "chirp_fanout_queue_depth") == 0,
               what="fanout queue drained")
    eventually(lambda: value(scrape(oapi), "chirp_store_write_queue_depth") == 0,
               what="write queue drained")


def test_feed_and_tweet_cache_counters_move(oapi):
    u = create_user(oapi, "cac")
    f = create_user(oapi, "cac")
    assert oapi.post(f"/v1/users/{u.id}/follows", token=f.token).status == 201
    t = post_tweet(oapi, u)

    def counters():
        fams = scrape(oapi)
        return {n: value(fams, n, n + "_total") for n in (
            "chirp_tweet_cache_hits", "chirp_tweet_cache_misses",
            "chirp_timeline_hits", "chirp_timeline_misses")}

    c0 = counters()
    eventually(lambda: [x["id"] for x in oapi.get("/v1/feed", token=f.token).json]
               == [t["id"]], what="tweet in the follower's feed")
    c1 = counters()
    r = oapi.get("/v1/feed", token=f.token)
    assert [x["id"] for x in r.json] == [t["id"]]
    c2 = counters()
    # each feed read is either a timeline hit or a miss
    reads01 = (c1["chirp_timeline_hits"] + c1["chirp_timeline_misses"]) - \
        (c0["chirp_timeline_hits"] + c0["chirp_timeline_misses"])
    assert reads01 >= 1, (c0, c1)
    assert c2["chirp_timeline_hits"] + c2["chirp_timeline_misses"] == \
        c1["chirp_timeline_hits"] + c1["chirp_timeline_misses"] + 1, (c1, c2)
    # the second read finds the timeline the first one used or built
    assert c2["chirp_timeline_hits"] == c1["chirp_timeline_hits"] + 1, (c1, c2)
    # hydrating the tweet: a cache lookup (the 201 put it in the cache)
    looked = (c2["chirp_tweet_cache_hits"] + c2["chirp_tweet_cache_misses"]) - \
        (c1["chirp_tweet_cache_hits"] + c1["chirp_tweet_cache_misses"])
    assert looked >= 1 and c2["chirp_tweet_cache_hits"] > c1["chirp_tweet_cache_hits"], \
        (c1, c2)
    fams = scrape(oapi)
    if TEST_REDIS:
        # The lists and the cache are in Redis, not this process's memory.
        assert value(fams, "chirp_redis_calls", "chirp_redis_calls_total") > 0
        assert value(fams, "chirp_redis_breaker_state", state="closed") == 1
        return
    assert value(fams, "chirp_timelines") >= 1
    assert value(fams, "chirp_timeline_entries") >= 1
    assert value(fams, "chirp_tweet_cache_entries") >= 1
    assert value(fams, "chirp_tweet_cache_bytes") > 0


def test_process_metrics_match_proc(observed, oapi):
    pid = observed.proc.pid
    fams = scrape(oapi)
    rss = value(fams, "process_resident_memory_bytes")
    fds = value(fams, "process_open_fds")
    cpu = value(fams, "process_cpu_seconds", "process_cpu_seconds_total")
    with open(f"/proc/{pid}/status") as fh:
        vmrss = [int(x.split()[1]) * 1024 for x in fh if x.startswith("VmRSS:")][0]
    assert 1 << 20 < rss < 8 << 30, rss
    assert abs(rss - vmrss) <= max(0.5 * vmrss, 16 << 20), (rss, vmrss)
    real_fds = len(os.listdir(f"/proc/{pid}/fd"))
    assert 3 <= fds and abs(fds - real_fds) <= 8, (fds, real_fds)
    with open(f"/proc/{pid}/stat") as fh:
        stat = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    proc_cpu = (int(stat[11]) + int(stat[12])) / ticks
    assert cpu > 0 and abs(cpu - proc_cpu) <= 0.5 + 0.2 * proc_cpu, (cpu, proc_cpu)
    for _ in range(20):
        get_metrics(oapi)
    assert value(scrape(oapi), "process_cpu_seconds", "process_cpu_seconds_total") >= cpu


# ================================================================== readiness

def test_readyz_when_healthy(oapi):
    r = oapi.get("/readyz")
    assert r.status == 200 and r.json == {"status": "ready"}, r
    assert (r.header("Content-Type") or "").startswith("application/json")
    assert_no_limits(r)
    r = oapi.get("/healthz")
    assert r.status == 200 and r.json == {"status": "ok"}, r


def test_no_rate_limit_headers_when_limits_are_off(oapi):
    for r in (oapi.get("/v1/users/1"), oapi.post("/v1/users", {})):
        assert_no_limits(r)


def _fsync_eio_needs_sqlite():
    if ON_POSTGRES:
        pytest.skip("fsync failing under chirp's own SQLite commit; PostgreSQL "
                    "answers a failed fsync by crashing (PANIC), an outage that "
                    "tests/pg/test_pg_restart.py covers")


class FsyncFault:
    """strace attached to processes (and their threads and children),
    failing every fsync/fdatasync with EIO (or, with delay_us, making each
    one that much slower instead)."""

    def __init__(self, *pids, delay_us=None):
        if not shutil.which("strace"):
            pytest.skip("strace is not installed")
        fault = (f"delay_enter={delay_us}" if delay_us else "error=EIO")
        self.proc = subprocess.Popen(
            ["strace", "-f", *(a for pid in pids for a in ("-p", str(pid))),
             "-e", "trace=fdatasync,fsync",
             "-e", f"inject=fdatasync:{fault}", "-e", f"inject=fsync:{fault}",
             "-o", "/dev/null"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        seen = []
        attached = set()
        deadline = time.monotonic() + 10 * F
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if line is None:
                break
            seen.append(line)
            m = re.search(r"Process (\d+) attached", line)
            if m and "ptrace" not in line:
                attached.add(int(m.group(1)))
                if attached >= set(pids):
                    return
        self.stop()
        pytest.skip(f"strace cannot attach to the server (ptrace restricted?): "
                    f"{' | '.join(seen) or 'no output'}")

    def _read(self):
        for raw in self.proc.stderr:
            self.lines.put(raw.decode(errors="replace").strip())
        self.lines.put(None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # detaches
            try:
                self.proc.wait(timeout=5 * F)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _tweets_of(api, user):
    r = api.get(f"/v1/users/{user.id}/tweets?limit=100")
    assert r.status == 200, r
    return r.json


def test_failed_commit_makes_readyz_503_until_a_commit_succeeds(tmp_path_factory):
    _fsync_eio_needs_sqlite()
    srv = _start(tmp_path_factory, "fault", extra_args=["--access-log", "off"])
    try:
        api = srv.client()
        u = create_user(api, "flt")
        acked = [post_tweet(api, u, "before the fault")["id"]]
        fault = FsyncFault(srv.proc.pid)
        try:
            r = api.post("/v1/tweets", {"text": "written while fsync fails"},
                         token=u.token)
            assert not 200 <= r.status < 300, \
                f"a write whose fsync failed was acknowledged: {r!r}"
            assert_error(r, 503, "unavailable")
            assert r.header("Retry-After"), r.headers
            ready = api.get("/readyz")
            assert_error(ready, 503, "store_read_only")
            fams = scrape(api)
            assert value(fams, "chirp_store_failed_commits",
                         "chirp_store_failed_commits_total") >= 1
            assert api.get("/healthz").status == 200  # alive, not ready
            # reads still work
            assert api.get(f"/v1/users/{u.id}").status == 200
        finally:
            fault.stop()
        # No client write is needed to recover: /readyz probes the store.
        for _ in range(50):
            ready = api.get("/readyz")
            if ready.status == 200:
                break
            assert_error(ready, 503, "store_read_only")
            time.sleep(0.1)
        assert ready.status == 200 and ready.json == {"status": "ready"}, ready
        statuses = []
        for i in range(50):
            r = api.post("/v1/tweets", {"text": f"after the fault {i}"},
                         token=u.token)
            statuses.append(r.status)
            if r.status == 201:
                acked.append(r.json["id"])
                break
            assert_error(r, 503, "unavailable")
            time.sleep(0.1)
        assert statuses[-1] == 201, f"no write succeeded after the fault: {statuses}"
        r = api.get("/readyz")
        assert r.status == 200 and r.json == {"status": "ready"}, r
        tweets = _tweets_of(api, u)
        assert [t["id"] for t in tweets] == acked[::-1], \
            f"acknowledged {acked}, listed {[(t['id'], t['text']) for t in tweets]}"
        assert api.get(f"/v1/users/{u.id}").json["tweets_count"] == len(acked)
        feed = api.get("/v1/feed", token=u.token).json
        assert [t["id"] for t in feed] == acked[::-1], feed
    finally:
        _stop(srv)


def test_full_write_queue_makes_readyz_503_and_then_clears(tmp_path_factory):
    """A slow disk (every fsync delayed by strace: chirp's own on SQLite,
    the database server's on PostgreSQL) fills the write queue: /readyz
    says write_queue_full while writes past the cap get a fast 503, and
    turns 200 again once the queue drains."""
    srv = _start(tmp_path_factory, "slowdisk", extra_args=[
        "--access-log", "off", "--max-queued-writes", "10"])
    try:
        api = srv.client()
        u = create_user(api, "sd")
        slow = FsyncFault(*store_disk_pids(srv), delay_us=1_000_000)
        results = []
        try:
            def one(i):
                r = api.post("/v1/tweets", {"text": f"queued {i}"}, token=u.token,
                             timeout=60 * F)
                results.append(r.status)
            threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10 * F
            while True:
                ready = api.get("/readyz")
                if ready.status == 503 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert_error(ready, 503, "write_queue_full")
        finally:
            slow.stop()
        for t in threads:
            t.join()
        assert set(results) <= {201, 503}, results
        assert results.count(201) >= 10 and 503 in results, results
        for _ in range(50):
            if api.get("/readyz").status == 200:
                break
            time.sleep(0.1)
        assert api.get("/readyz").status == 200
        # Exactly the acknowledged posts exist.
        assert api.get(f"/v1/users/{u.id}").json["tweets_count"] == results.count(201)
    finally:
        _stop(srv)


def test_write_refused_for_a_failed_fsync_is_an_unknown_outcome_safe_to_retry(
        tmp_path_factory):
    """A 503 after a failed fsync means "unknown outcome", as in any
    database: the commit's bytes may already be in the OS cache, and a crash
    before the next good commit can replay them. What chirp promises: the
    write is whole or absent (never half), counts agree, and a retry with
    the same Idempotency-Key never makes a second tweet."""
    _fsync_eio_needs_sqlite()
    srv = _start(tmp_path_factory, "fault-crash", extra_args=["--access-log", "off"])
    try:
        api = srv.client()
        u = create_user(api, "flc")
        acked = post_tweet(api, u, "acknowledged")["id"]
        body = {"text": "refused with 503"}
        key = {"Idempotency-Key": "retry-after-eio"}
        fault = FsyncFault(srv.proc.pid)
        try:
            r = api.post("/v1/tweets", body, token=u.token, headers=key)
            assert_error(r, 503, "unavailable")
        finally:
            fault.stop()
        assert [t["id"] for t in _tweets_of(api, u)] == [acked]
        srv.kill9()
        srv.start()
        texts = [t["text"] for t in _tweets_of(api, u)]
        assert texts in (["acknowledged"], ["refused with 503", "acknowledged"]), texts
        assert api.get(f"/v1/users/{u.id}").json["tweets_count"] == len(texts)
        # The retry: exactly one "refused with 503" tweet afterwards, whichever
        # way the crash went.
        r = api.post("/v1/tweets", body, token=u.token, headers=key)
        assert r.status == 201, r
        texts = [t["text"] for t in _tweets_of(api, u)]
        assert texts == ["refused with 503", "acknowledged"], texts
        assert api.get(f"/v1/users/{u.id}").json["tweets_count"] == 2
    finally:
        _stop(srv)


# ============================================================= load shedding

def test_load_shedding_answers_fast_503s(tmp_path_factory):
    # Sign-ups at the real hashing cost: they hold the one in-flight slot.
    srv = _start(tmp_path_factory, "shed", extra_args=[
        "--max-inflight", "1", "--hash-threads", "1", "--access-log", "off",
        *REAL_HASH_COST])
    try:
        api = srv.client()
        n = 20
        results = [None] * n
        handles = [random_handle("shed") for _ in range(n)]
        go = threading.Barrier(n + 1)

        def one(i):
            go.wait()
            t0 = time.monotonic()
            r = signup(api, handles[i], random_password())
            results[i] = (r, time.monotonic() - t0)

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        go.wait()
        time.sleep(0.03)
        t0 = time.monotonic()
        health = api.get("/healthz", timeout=5)
        health_s = time.monotonic() - t0
        for t in threads:
            t.join()
        statuses = sorted(r.status for r, _ in results)
        assert set(statuses) <= {201, 503}, statuses
        assert 503 in statuses and 201 in statuses, statuses
        for r, secs in results:
            assert_request_id(r)
            if r.status == 503:
                assert_error(r, 503, "unavailable")
                ra = r.header("Retry-After")
                assert ra and ra.isdigit() and int(ra) >= 1, r.headers
                assert secs < 1.0 * F, f"shed request took {secs:.3f}s"
        assert health.status == 200 and health_s < 1.0 * F, (health, health_s)
        # Shed sign-ups created nothing, the others exist. These checks
        # can themselves be shed while the burst's last sign-ups are still
        # hashing (--max-inflight 1): retry those, bounded.
        def settled(call):
            deadline = time.monotonic() + 10 * F
            while True:
                r = call()
                if r.status != 503 or time.monotonic() > deadline:
                    return r
                time.sleep(0.05)
        for (r, _), h in zip(results, handles):
            look = settled(lambda h=h: api.get(f"/v1/users/by-handle/{h}")).status
            assert look == (200 if r.status == 201 else 404), (h, r, look)
        # the in-flight count came back down: a lone request passes
        r = settled(lambda: signup(api, random_handle("shed"), random_password()))
        assert r.status == 201, r
    finally:
        _stop(srv)


# ================================================================== timeouts

READ_TIMEOUT = 2


@pytest.fixture(scope="module")
def timeout_server(tmp_path_factory):
    srv = _start(tmp_path_factory, "timeouts", extra_args=[
        "--read-timeout", str(READ_TIMEOUT), "--access-log", "off"])
    yield srv
    _stop(srv)


def _slow_client(addr, first, trickle=b"", every=1.0, limit=12.0):
    """Send `first`, then one byte of `trickle` every `every` seconds.
    Returns (seconds until the server closed the connection or None if it
    was still open after `limit`, bytes received, bytes trickled)."""
    s = socket.create_connection(addr, timeout=5)
    got, sent = b"", 0
    try:
        t0 = time.monotonic()
        s.sendall(first)
        next_send = t0 + every
        while True:
            now = time.monotonic()
            if now - t0 >= limit:
                return None, got, sent
            until = t0 + limit
            if trickle:
                until = min(until, next_send)
            r, _, _ = select.select([s], [], [], max(0.0, until - now))
            if r:
                try:
                    d = s.recv(65536)
                except (ConnectionResetError, OSError):
                    return time.monotonic() - t0, got, sent
                if not d:
                    return time.monotonic() - t0, got, sent
                got += d
                continue
            if trickle and time.monotonic() >= next_send:
                try:
                    s.send(trickle[sent % len(trickle):sent % len(trickle) + 1])
                except (BrokenPipeError, ConnectionResetError, OSError):
                    return time.monotonic() - t0, got, sent
                sent += 1
                next_send += every
    finally:
        s.close()


SLOW_CASES = {
    "partial request line": (b"GET /heal", b""),
    "partial headers": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n", b""),
    "header trickle, 1 byte/s": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
                                 b"abcdefghij"),
    "idle keep-alive": (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", b""),
    "partial body": (b"POST /v1/users HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 60\r\n\r\n"
                     b"{\"handle\":", b""),
    "body trickle, 1 byte/s": (b"POST /v1/users HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Type: application/json\r\n"
                               b"Content-Length: 60\r\n\r\n{", b"          "),
}


@pytest.fixture(scope="module")
def slow_results(timeout_server):
    """All slow clients at once (they take the same few seconds)."""
    out = {}

    def run(name, first, trickle):
        out[name] = _slow_client(timeout_server.address(), first, trickle,
                                 limit=12.0 * F)

    ts = [threading.Thread(target=run, args=(name, *case))
          for name, case in SLOW_CASES.items()]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


@pytest.mark.parametrize("case", list(SLOW_CASES))
def test_read_timeout_closes_slow_clients(slow_results, case):
    closed, got, trickled = slow_results[case]
    assert closed is not None, \
        (f"{case}: connection still open after 12 s with --read-timeout "
         f"{READ_TIMEOUT} ({trickled} bytes trickled, received {got[:200]!r})")
    assert 0.8 * READ_TIMEOUT <= closed <= (READ_TIMEOUT + 2.5) * F, \
        f"{case}: closed after {closed:.2f}s with --read-timeout {READ_TIMEOUT}"
    if case == "idle keep-alive":
        assert got.startswith(b"HTTP/1.1 200"), got[:200]


def _slowhttptest():
    path = shutil.which("slowhttptest")
    if path:
        return path
    cmd = ["apt-get", "install", "-y", "-q", "slowhttptest"]
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            return None
        cmd = ["sudo", "-n", *cmd]
    try:
        subprocess.run(cmd, capture_output=True, timeout=180,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("slowhttptest")


ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def test_slowloris_does_not_starve_normal_clients(timeout_server, tmp_path):
    tool = _slowhttptest()
    if not tool:
        pytest.skip("slowhttptest is not installed and `apt-get install "
                    "slowhttptest` failed")
    host, port = timeout_server.address()
    proc = subprocess.Popen(
        [tool, "-c", "300", "-H", "-i", "2", "-r", "100", "-t", "GET",
         "-u", f"http://{host}:{port}/healthz", "-l", "12", "-x", "10", "-p", "3"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    api = timeout_server.client()
    probes = []
    try:
        time.sleep(0.5)
        while proc.poll() is None and len(probes) < 40:
            t0 = time.monotonic()
            try:
                r = api.get("/healthz", timeout=1.0 * F)
                probes.append((round(time.monotonic() - t0, 3), r.status))
            except OSError as e:
                probes.append((round(time.monotonic() - t0, 3), repr(e)))
            time.sleep(0.3)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = ANSI_RE.sub("", out.decode(errors="replace"))
    summary = text[text.rfind("slow HTTP test status"):] if \
        "slow HTTP test status" in text else text[-1500:]
    summary = re.sub(r"\n\s*\n", "\n", summary).strip()
    bad = [p for p in probes if p[1] != 200 or p[0] > 1.0 * F]
    assert probes and not bad, \
        f"GET /healthz during slowloris: {probes}\nslowhttptest:\n{summary}"
    avail = re.findall(r"service available:\s*(\w+)", text)
    assert avail and avail[-1] == "YES", f"slowhttptest:\n{summary}"
    _check_alive(timeout_server)


def test_connections_past_the_bound_get_a_fast_503(tmp_path_factory):
    """--max-connections bounds what waits for an event loop: a connection
    past it is answered 503 at once and closed; room frees as others go."""
    srv = _start(tmp_path_factory, "maxconn", extra_args=[
        "--threads", "1", "--max-connections", "2", "--access-log", "off"])
    try:
        held = [socket.create_connection(srv.address()) for _ in range(2)]
        time.sleep(0.2)
        extra = socket.create_connection(srv.address())
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        extra.settimeout(5)
        data = b""
        while True:
            chunk = extra.recv(4096)
            if not chunk:
                break  # closed by the server after the 503
            data += chunk
        extra.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503"), data
        assert b"Retry-After: 1" in head, data
        assert json.loads(body) == {"error": "too many connections; try again",
                                    "code": "unavailable"}
        for s in held:
            s.close()
        api = srv.client()
        deadline = time.monotonic() + 5 * F
        while api.get("/healthz").status != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        fams = scrape(api)
        assert value(fams, "chirp_http_connections_refused",
                     "chirp_http_connections_refused_total") >= 1
    finally:
        _stop(srv)
