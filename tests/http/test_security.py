"""Security hardening (issue 19), black-box: each test is an attack that
worked once and must not work again. docs/reliability.md ("Threat model")
lists each defence with its test; the finding's number heads each section.

1. Client IP behind a proxy: a client's own X-Forwarded-For line cannot pick
   its address when the proxy appends another.
2. Idempotency fingerprints are keyed: the database alone (chirp.db, or
   chirp's PostgreSQL database) cannot check a guess of the password in a
   sign-up body; and it holds no password or token in clear.
3. Cleartext HTTP/2 is off: prior knowledge and `Upgrade: h2c` get HTTP/1.1.
7. Failed log-ins: one address cannot lock an account for everyone (the
   budget is per handle and address), and many addresses guessing together
   meet a per-handle delay that doubles, which the owner's first try from an
   address of their own does not meet.
8. Files chirp creates in an existing 0755 data dir are readable by no one
   else.
9. Display names and tweets that would show as nothing (zero-width, soft
   hyphen, BOM, bidi controls) are refused, and so are display names that
   leave a bidi override or isolate open.
11. Headers: no cache may keep an answer that depends on the caller's token
    (Cache-Control: no-store), nothing is content-sniffed (nosniff on every
    response, h2o's own included), and /metrics wants its bearer token.
13. Small ones: a `prev` link from the end of a list works; an
    Idempotency-Key is scoped by method and path; HEAD is GET without a body.
(4, revoked tokens' streams, is in test_stream.py beside the other streams.)

Tests about flags start the private server they need (ServerProc on a
temporary data dir), so the flags are visible in the test; the small ones
use the shared server.
"""

import hashlib
import hmac
import http.client
import json
import os
import secrets
import socket
import stat

import pytest

from chirp_client import (ON_POSTGRES, REQUEST_TIMEOUT, ServerProc, assert_error,
                          chirp_bin, create_user, db_dump, db_query, login, parse_links,
                          post_tweet, random_handle, random_password, signup, split_url)


def _start(tmp_path, name, *flags, rate_limits=False):
    path = chirp_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chirp binary not found at {path}: run `make`", pytrace=False)
    data = tmp_path / f"{name}-data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # whatever the test runner's umask
    srv = ServerProc(data, tmp_path / f"{name}.log", extra_args=list(flags),
                     rate_limits=rate_limits)
    srv.start()
    return srv


@pytest.fixture
def server(tmp_path):
    started = []

    def make(name, *flags, **kw):
        srv = _start(tmp_path, name, *flags, **kw)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            assert srv.stop() == 0, srv.log_tail()


def raw_exchange(srv, data, timeout=5.0):
    """Sends `data` on a fresh connection and returns every byte the server
    sends back until it closes or falls silent for `timeout` seconds."""
    sock = socket.create_connection(srv.address(), timeout=REQUEST_TIMEOUT)
    try:
        sock.sendall(data)
        sock.settimeout(timeout)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got and got.startswith(b"HTTP/1.1 "):
                break  # the head is enough to judge
        return got
    finally:
        sock.close()


def signup_with_lines(srv, header_lines):
    """POST /v1/users written by hand, so that a header can appear on
    several lines (what a proxy that appends its own line produces)."""
    body = ('{"handle":"%s","password":"%s"}'
            % (random_handle("sec"), random_password())).encode()
    head = ["POST /v1/users HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
            "Content-Type: application/json", f"Content-Length: {len(body)}"]
    head += header_lines
    r = srv.client().raw(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    assert r is not None, "no response"
    return r


# ============================================ 1. client IP behind a proxy

def test_client_cannot_pick_its_ip_with_its_own_forwarded_for_line(server):
    """HAProxy's `option forwardfor` appends the address it saw as a line of
    its own. A client that sends its own X-Forwarded-For line first, a new
    address each time, still pays the sign-up budget of its real address."""
    srv = server("xff", "--trust-proxy", "127.0.0.1",
                 "--rate-limit", "signup=2/1800", rate_limits=True)
    real = "198.51.100.23"
    got = []
    for i in range(4):
        forged = f"203.0.113.{i + 1}"
        r = signup_with_lines(srv, [f"X-Forwarded-For: {forged}",
                                    f"X-Forwarded-For: {real}"])
        got.append(r.status)
    assert got == [201, 201, 429, 429], got
    # another real address has its own budget
    r = signup_with_lines(srv, ["X-Forwarded-For: 203.0.113.1",
                                "X-Forwarded-For: 198.51.100.24"])
    assert r.status == 201, r


def test_the_client_is_the_right_most_untrusted_address(server):
    """With a chain of trusted proxies (an address and a CIDR prefix), the
    client is the right-most entry outside the set, across every line."""
    srv = server("xffchain", "--trust-proxy", "127.0.0.1, 10.0.0.0/8",
                 "--rate-limit", "signup=1/1800", rate_limits=True)
    real = "198.51.100.40"
    r = signup_with_lines(srv, ["X-Forwarded-For: 203.0.113.9",
                                f"X-Forwarded-For: {real}, 10.1.2.3",
                                "X-Forwarded-For: 10.200.0.1"])
    assert r.status == 201, r
    # the same client through other proxies of the set, and a forged entry
    # that is itself inside the set: still the same client, refused
    r = signup_with_lines(srv, [f"X-Forwarded-For: 10.9.9.9, {real}",
                                "X-Forwarded-For: 10.0.0.7"])
    assert_error(r, 429, "rate_limited")
    # Forwarded (RFC 7239) is never read: it cannot pick an address either
    r = signup_with_lines(srv, ["Forwarded: for=203.0.113.99",
                                f"X-Forwarded-For: {real}"])
    assert_error(r, 429, "rate_limited")
    # and another client behind the same proxies has its own budget
    r = signup_with_lines(srv, ["X-Forwarded-For: 198.51.100.41",
                                "X-Forwarded-For: 10.0.0.1"])
    assert r.status == 201, r


def test_a_proxy_reaching_a_dual_stack_listener_is_still_trusted(tmp_path):
    """On a [::] listener an IPv4 proxy's address arrives as ::ffff:a.b.c.d;
    it is still the trusted 127.0.0.1, and its forwarded client counts."""
    data = tmp_path / "ds-data"
    data.mkdir()
    log = tmp_path / "access.log"
    class DualStack(ServerProc):
        def address(self):  # listens on [::], reached over IPv4
            return ("127.0.0.1", self.port)

    srv = DualStack(data, tmp_path / "ds.log", rate_limits=True, extra_args=[
        "--trust-proxy", "127.0.0.1", "--access-log", str(log)])
    srv.host = "[::]"
    srv.start()
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=REQUEST_TIMEOUT)
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         b"X-Request-Id: dual-stack-1\r\n"
                         b"X-Forwarded-For: 198.51.100.77\r\n\r\n")
            while sock.recv(65536):
                pass
        finally:
            sock.close()
    finally:
        assert srv.stop() == 0, srv.log_tail()
    lines = [json.loads(x) for x in log.read_text().splitlines() if "dual-stack-1" in x]
    assert lines and lines[0]["ip"] == "198.51.100.77", lines


# ============================================ 2. keyed idempotency fingerprints

def _blob(value):
    """A bytea/BLOB column as bytes: sqlite3 gives bytes, psql \\x hex."""
    if isinstance(value, str) and value.startswith("\\x"):
        return bytes.fromhex(value[2:])
    return bytes(value)


def test_idempotency_fingerprint_is_keyed_by_a_secret_outside_the_db(server):
    """The fingerprint of a sign-up is not SHA-256 of method, path and body
    (which would let a reader of the database test password guesses); it is
    an HMAC under idem.key, a 0600 file of the data dir that the database
    never holds, and the key survives a restart so replays still replay."""
    srv = server("idemkey")
    body = json.dumps({"handle": random_handle("ik"),
                       "password": random_password()}).encode()
    idem = "k-" + secrets.token_hex(8)
    hdrs = {"Idempotency-Key": idem}
    first = srv.client().request("POST", "/v1/users", body=body, headers=hdrs)
    assert first.status == 201, first
    assert srv.stop() == 0, srv.log_tail()

    data = srv.data_dir
    rows = db_query(data, "SELECT key, fingerprint FROM idempotency")
    stored = [_blob(fp) for k, fp in rows if k.endswith(idem)]
    assert len(stored) == 1, rows
    unkeyed = hashlib.sha256(b"POST\0/v1/users\0" + body).digest()
    assert stored[0] != unkeyed, "an unkeyed SHA-256 of the body is in the database"
    key_path = os.path.join(data, "idem.key")
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    with open(key_path, "rb") as f:
        key = f.read()
    assert len(key) == 32
    assert stored[0] == hmac.new(key, b"POST\0/v1/users\0" + body,
                                 hashlib.sha256).digest()
    dump = db_dump(data)
    assert key not in dump and key.hex().encode() not in dump

    srv.start()
    again = srv.client().request("POST", "/v1/users", body=body, headers=hdrs)
    assert again.status == 201 and again.body == first.body, again
    assert (again.header("Idempotent-Replayed") or "").lower() == "true", again.headers
    with open(key_path, "rb") as f:
        assert f.read() == key, "idem.key changed across a restart"


def test_database_holds_no_password_or_token_in_clear(server):
    """At rest, the store has an Argon2id hash of each password and a hash
    of each session token, never either in clear: a copy of the database
    (chirp.db and its WAL, or a pg_dump) gives neither."""
    srv = server("atrest")
    api = srv.client()
    user = create_user(api, "ar")
    post_tweet(api, user, "at rest")
    assert srv.stop() == 0, srv.log_tail()
    dump = db_dump(srv.data_dir)
    assert b"$argon2id$" in dump, "no Argon2id hash in the store: wrong database?"
    for secret in (user.password, user.token):
        assert secret.encode() not in dump, f"{secret[:6]}... is in the database"
        assert secret.encode().hex().encode() not in dump
    hashes = db_query(srv.data_dir, "SELECT password_hash FROM users")
    assert len(hashes) == 1 and hashes[0][0].startswith("$argon2id$"), hashes


# ============================================ 3. no cleartext HTTP/2

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
H2_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def test_prior_knowledge_http2_is_not_spoken(server):
    srv = server("h2")
    got = raw_exchange(srv, H2_PREFACE + H2_SETTINGS)
    # An HTTP/2 server answers the preface with its own SETTINGS frame
    # (type 4 on stream 0) before anything else.
    is_h2_settings = len(got) >= 9 and got[3] == 4 and got[5:9] == b"\0\0\0\0"
    assert not is_h2_settings, got[:64]
    assert got == b"" or got.startswith(b"HTTP/1.1 4"), got[:64]
    assert srv.client().get("/healthz").status == 200


def test_upgrade_h2c_is_ignored(server):
    srv = server("h2c")
    req = (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
    got = raw_exchange(srv, req)
    assert got.startswith(b"HTTP/1.1 200"), got[:200]
    assert b"101" not in got.split(b"\r\n", 1)[0], got[:200]


# ============================================ 8. files readable by all

def test_files_chirp_creates_are_private(server):
    """In a data dir that already exists with mode 0755, every file and
    directory chirp creates (the databases, their WAL and shared memory,
    the keys, blob directories) is readable by its owner alone. (On
    PostgreSQL the database's files are PostgreSQL's, which keeps its data
    directory 0700; the data dir holds only chirp's own files.)"""
    srv = server("umask")
    # a write, so the WAL exists and has content
    r = srv.client().post("/v1/users", {"handle": random_handle("um"),
                                        "password": random_password()})
    assert r.status == 201, r
    data = srv.data_dir
    created = []
    for root, dirs, files in os.walk(data):
        for name in dirs + files:
            created.append(os.path.join(root, name))
    assert created, "chirp created nothing in its data dir"
    if not ON_POSTGRES:
        assert any(p.endswith("chirp.db") for p in created), created
        assert any(p.endswith("chirp.db-wal") for p in created), created
    open_to_others = [f"{p} {stat.filemode(os.stat(p).st_mode)}" for p in created
                      if os.stat(p).st_mode & (stat.S_IRWXG | stat.S_IRWXO)]
    assert srv.stop() == 0, srv.log_tail()
    assert not open_to_others, open_to_others
    # the data dir itself was the operator's: chirp leaves its mode alone
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o755


# ============================================ 9. spoofing characters

INVISIBLE = ["\u200b", "\u200b\u200c\u200d", "\u00ad", "\ufeff", "\u2060",
             "\u202e", "\u2066\u2069", "\u3164", " \u200b\u00a0\ufe0f "]


def test_invisible_names_and_tweets_are_refused(server):
    srv = server("spoof")
    api = srv.client()
    for name in INVISIBLE:
        r = api.post("/v1/users", {"handle": random_handle("sp"),
                                   "password": random_password(),
                                   "display_name": name})
        assert_error(r, 422, "invalid_display_name")
    # an unclosed override would reverse whatever a client shows after the name
    for name in ["Bob\u202e", "\u202eevil", "Bob\u2067x", "x\u202c", "a\u2067b\u202c"]:
        r = api.post("/v1/users", {"handle": random_handle("sp"),
                                   "password": random_password(),
                                   "display_name": name})
        assert_error(r, 422, "invalid_display_name")
    # closed ones keep their direction to themselves; joiners inside emoji are text
    for name in ["Bob \u2067\u05e9\u05dc\u05d5\u05dd\u2069", "\U0001F468\u200d\U0001F469",
                 "Donau\u00addampf"]:
        r = api.post("/v1/users", {"handle": random_handle("sp"),
                                   "password": random_password(),
                                   "display_name": name})
        assert r.status == 201, (name, r)
        assert r.json["display_name"] == name
    handle, pw = random_handle("sp"), random_password()
    assert api.post("/v1/users", {"handle": handle, "password": pw}).status == 201
    token = api.post("/v1/sessions", {"handle": handle, "password": pw}).json["token"]
    for text in INVISIBLE:
        r = api.post("/v1/tweets", {"text": text}, token=token)
        assert_error(r, 422, "invalid_text")
    r = api.post("/v1/tweets", {"text": "\u200bvisible\u200b"}, token=token)
    assert r.status == 201, r


# ============================================ 13. small ones

def test_prev_link_from_the_end_of_a_list_is_usable(api):
    """?max_id=1 is past every id: its "prev" link leads back to the whole
    list from its oldest item (min_id=0), and following it is a 200."""
    u = create_user(api)
    ids = [post_tweet(api, u)["id"] for _ in range(3)]
    r = api.get(f"/v1/users/{u.id}/tweets?limit=2&max_id=1")
    assert r.status == 200 and r.json == [], r
    prev = parse_links(r)["prev"]
    assert split_url(prev)[1].get("min_id") == "0", prev
    r = api.get(prev)
    assert r.status == 200, r
    assert [t["id"] for t in r.json] == [ids[1], ids[0]]  # the oldest two, newest first
    r = api.get(parse_links(r)["prev"])
    assert [t["id"] for t in r.json] == [ids[2]], r
    # an empty list polled from min_id=0 keeps polling from there
    empty = create_user(api)
    r = api.get(f"/v1/users/{empty.id}/tweets?min_id=0")
    assert r.status == 200 and r.json == [], r
    assert split_url(parse_links(r)["prev"])[1].get("min_id") == "0", r.headers
    # max_id=0 is still not a cursor
    assert_error(api.get(f"/v1/users/{u.id}/tweets?max_id=0"), 400, "invalid_id")


def test_an_idempotency_key_is_scoped_by_method_and_path(api):
    """docs/api.md: a key is scoped to the user, the method and the path.
    The same key on another path is another request, not a 422; each path
    replays its own answer."""
    u, other = create_user(api), create_user(api)
    k = "k-" + secrets.token_hex(8)
    tweet = api.post("/v1/tweets", {"text": "scoped"}, token=u.token,
                     headers={"Idempotency-Key": k})
    assert tweet.status == 201, tweet
    fol = api.post(f"/v1/users/{other.id}/follows", token=u.token,
                   headers={"Idempotency-Key": k})
    assert fol.status in (200, 201), fol
    again = api.post(f"/v1/users/{other.id}/follows", token=u.token,
                     headers={"Idempotency-Key": k})
    assert again.body == fol.body and again.header("Idempotent-Replayed") == "true", again
    again = api.post("/v1/tweets", {"text": "scoped"}, token=u.token,
                     headers={"Idempotency-Key": k})
    assert again.body == tweet.body and again.header("Idempotent-Replayed") == "true", again
    # another path with a path parameter: another record again
    third = create_user(api)
    r = api.post(f"/v1/users/{third.id}/follows", token=u.token,
                 headers={"Idempotency-Key": k})
    assert r.status in (200, 201) and r.header("Idempotent-Replayed") is None, r
    # and on one path a different body is still a 422
    r = api.post("/v1/tweets", {"text": "another"}, token=u.token,
                 headers={"Idempotency-Key": k})
    assert_error(r, 422, "idempotency_key_reused")
    # a path too long to name the record by goes by its hash: still no 5xx
    r = api.post("/v1/users/" + "0" * 400 + f"{other.id}/follows", token=u.token,
                 headers={"Idempotency-Key": "k" * 255})
    assert 200 <= r.status < 500, r


def test_head_is_get_without_a_body(api):
    """RFC 9110 §9.3.2: HEAD answers GET's status and headers, no body. Sent
    pipelined with a GET behind it on one connection, so a body where none
    belongs would show as garbage before the second response."""
    u = create_user(api)
    post_tweet(api, u)
    host, port = api.address
    for path, token in [("/healthz", None), (f"/v1/users/{u.id}", None),
                        (f"/v1/users/{u.id}/tweets?limit=1", None),
                        ("/v1/feed", u.token), ("/v1/feed/stream", u.token),
                        ("/v1/nothing-here", None)]:
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        get = api.get(path, token=token) if "stream" not in path else None
        sock = socket.create_connection((host, port), timeout=REQUEST_TIMEOUT)
        try:
            sock.sendall((f"HEAD {path} HTTP/1.1\r\nHost: x\r\n{auth}\r\n"
                          "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                          ).encode())
            got = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        finally:
            sock.close()
        head, rest = got.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ")[1])
        want = 200 if get is None else get.status
        assert status == want, (path, got[:300])
        assert rest.startswith(b"HTTP/1.1 200 "), (path, rest[:200])  # no body in between
        if get is not None and get.header("Content-Length"):
            assert f"content-length: {get.header('Content-Length')}".encode() in head.lower(), head
    # a route without GET still says which methods it has, HEAD among them for GET routes
    # (asked with http.client itself: a bodiless error must not enter the
    # traffic test_zz_secrets checks for JSON errors)
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("HEAD", "/v1/tweets")
        r = conn.getresponse()
        assert r.status == 405 and r.getheader("Allow") == "POST", r.getheaders()
        assert r.read() == b""
    finally:
        conn.close()
    r = api.request("PUT", f"/v1/users/{u.id}")
    assert r.status == 405 and "HEAD" in r.header("Allow"), r.headers


# =========================================================== 11. headers

def _no_store(r):
    return "no-store" in [v.strip() for v in ",".join(r.header_all("Cache-Control")).split(",")]


def test_answers_that_depend_on_the_token_are_never_stored(api):
    """Before: none of these said anything about caching, so a shared cache
    (a corporate proxy, a CDN keyed on the URI) could hand one reader's feed,
    liked state or media status to the next."""
    u = create_user(api, "cc")
    other = create_user(api, "cc")
    t = post_tweet(api, other)
    assert api.post(f"/v1/tweets/{t['id']}/likes", token=u.token).status in (200, 201)
    media = api.post("/v1/media", {"content_type": "image/png", "size": 100}, token=u.token)
    private = [
        api.get("/v1/feed", token=u.token),
        api.get(f"/v1/tweets/{t['id']}", token=u.token),      # liked: true
        api.get(f"/v1/users/{other.id}/tweets", token=u.token),
        api.get(f"/v1/media/{media.json['id']}", token=u.token),
        api.request("PATCH", "/v1/users/me", {"bio": "x"}, token=u.token),
        api.post("/v1/sessions", {"handle": u.handle, "password": u.password}),  # a token
        api.get("/v1/feed"),                                      # 401 too
        api.get("/v1/feed", token="not-a-token"),
        api.get(f"/v1/tweets/{t['id']}", token="not-a-token"),
    ]
    assert private[1].json["liked"] is True
    for r in private:
        assert _no_store(r), (r, r.headers)
    # what is the same for everyone may still be cached
    public = api.get(f"/v1/tweets/{t['id']}")
    assert public.status == 200 and not _no_store(public), public.headers
    r = api.delete("/v1/sessions/current", token=u.token)
    assert r.status == 204 and _no_store(r), r.headers


def test_every_response_says_nosniff(api):
    """Before: only blobs and the web client's page said nosniff; a JSON
    error or h2o's own 400 did not."""
    u = create_user(api, "ns")
    rs = [api.get("/healthz"), api.get(f"/v1/users/{u.id}"), api.get("/v1/nothing"),
          api.request("PUT", "/v1/users"), api.get("/v1/feed"),
          api.post("/v1/tweets", {"text": "nosniff"}, token=u.token), api.get("/"),
          api.post("/v1/users", body=b"{", content_type="application/json")]
    for r in rs:
        assert r.header_all("X-Content-Type-Options") == ["nosniff"], (r, r.headers)
    # a request h2o itself refuses before chirp's handler runs (a body
    # past every cap: h2o's own 413)
    got = raw_response_head(api.address, b"POST /v1/tweets HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 99999999999\r\nConnection: close\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 413"), got[:200]
    assert b"\r\nx-content-type-options: nosniff\r\n" in got.split(b"\r\n\r\n")[0].lower() + b"\r\n", got[:400]


def raw_response_head(addr, data):
    """The response's head, read until its blank line: a proxy in front
    (HAProxy, on a cluster) may keep the connection open, waiting for the
    body the request announced."""
    sock = socket.create_connection(addr, timeout=REQUEST_TIMEOUT)
    try:
        sock.sendall(data)
        got = b""
        while b"\r\n\r\n" not in got:
            try:
                chunk = sock.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            got += chunk
        return got
    finally:
        sock.close()


def test_metrics_want_the_token_of_the_token_file(server, tmp_path):
    """Before: GET /metrics answered anyone. Now it wants the bearer token
    kept in DATA/metrics.token (made at first start, 0600), or in the file
    --metrics-token-file names."""
    srv = server("metrics")
    c = srv.client()
    path = os.path.join(srv.data_dir, "metrics.token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = open(path).read().strip()
    assert len(token) == 43, token
    for bad in (None, "", "x" * 43, token[:-1], token + "x", token.upper()):
        r = c.get("/metrics", token=bad)
        assert_error(r, 401, "unauthorized")
        assert "chirp_http_requests_total" not in r.body.decode()
        assert r.header("WWW-Authenticate") and _no_store(r), r.headers
    r = c.get("/metrics", token=token)
    assert r.status == 200 and "chirp_http_requests_total" in r.body.decode(), r
    assert _no_store(r), r.headers
    # the same token after a restart
    srv.restart()
    assert srv.client().get("/metrics", token=token).status == 200

    own = tmp_path / "scrape.token"
    own.write_text("a-token-of-my-own-choosing\n")
    srv2 = server("metrics-own", "--metrics-token-file", str(own))
    assert srv2.client().get("/metrics", token="a-token-of-my-own-choosing").status == 200
    assert srv2.client().get("/metrics", token=token).status == 401
    assert not os.path.exists(os.path.join(srv2.data_dir, "metrics.token"))


def test_a_short_metrics_token_is_refused_at_start(tmp_path):
    short = tmp_path / "short.token"
    short.write_text("guessable\n")
    data = tmp_path / "short-data"
    data.mkdir()
    import subprocess
    p = subprocess.run([chirp_bin(), "serve", "--listen", "127.0.0.1:0", "--data", str(data),
                        "--metrics-token-file", str(short)],
                       capture_output=True, timeout=30)
    assert p.returncode != 0, p
    assert b"short.token" in p.stderr + p.stdout, p


# =========================================== 7. lockout by a stranger

def _login_server(server, *flags):
    return server("login", "--trust-proxy", "127.0.0.1", "--rate-limit", "login=1000/300",
                  "--rate-limit", "signup=1000/300", *flags, rate_limits=True)


def _from(ip):
    return {"X-Forwarded-For": ip}


def _owner(c):
    handle, password = random_handle("lock"), random_password()
    assert signup(c, handle, password, headers=_from("192.0.2.250")).status == 201
    return handle, password


def test_a_stranger_cannot_lock_an_account_for_everyone(server):
    """Before: 25 failed log-ins from one address locked the handle for
    every address (the owner's right password got 429), and one address
    could keep it so for ever. Now the budget is per (handle, address)."""
    srv = _login_server(server, "--rate-limit", "login-handle=3/300")
    c = srv.client()
    handle, password = _owner(c)
    stranger = "198.51.100.66"
    for i in range(3):
        assert_error(login(c, handle, f"guess {i}", headers=_from(stranger)), 401,
                     "invalid_credentials")
    # the stranger's address is done guessing at this handle, whatever it sends
    for guess in ("guess 4", password):
        r = login(c, handle.upper(), guess, headers=_from(stranger))
        assert_error(r, 429, "rate_limited")
        assert "token" not in r.json
    # the owner, from anywhere else, logs in
    r = login(c, handle, password, headers=_from("203.0.113.9"))
    assert r.status == 201 and r.json["token"], r
    # and another stranger has budget of its own for this handle
    assert_error(login(c, handle, "guess", headers=_from("198.51.100.67")), 401,
                 "invalid_credentials")


def test_many_addresses_guessing_meet_a_doubling_delay_the_owner_does_not(server):
    """Guesses from many addresses, one each: after the free ones
    (login-backoff=COUNT/...), every failure doubles the handle's delay, and
    an address that has failed at this handle waits it out (429 with
    Retry-After). The owner's first try from an address of their own is
    let through."""
    srv = _login_server(server, "--rate-limit", "login-backoff=3/60")
    c = srv.client()
    handle, password = _owner(c)
    bots = [f"198.51.100.{i}" for i in range(1, 12)]
    for ip in bots[:3]:  # free
        assert_error(login(c, handle, "guess", headers=_from(ip)), 401, "invalid_credentials")
    # no delay yet: a fourth guess, the first past the free ones (1 s)
    r = login(c, handle, "guess", headers=_from(bots[0]))
    assert_error(r, 401, "invalid_credentials")
    waits = []
    for ip in bots[3:7]:  # failures 5..8: 2, 4, 8, 16 s from the last
        assert_error(login(c, handle, "guess", headers=_from(ip)), 401, "invalid_credentials")
        r = login(c, handle, "guess", headers=_from(bots[1]))  # has failed here: waits
        assert_error(r, 429, "rate_limited")
        waits.append(int(r.header("Retry-After")))
    assert waits == [2, 4, 8, 16], waits
    # the right password from an address that failed is refused too ...
    assert_error(login(c, handle, password, headers=_from(bots[2])), 429, "rate_limited")
    # ... but the owner's own address gets through, at once
    r = login(c, handle, password, headers=_from("203.0.113.10"))
    assert r.status == 201 and r.json["token"], r
    # a new address still gets its one guess (and doubles the delay)
    assert_error(login(c, handle, "guess", headers=_from(bots[8])), 401, "invalid_credentials")
    r = login(c, handle, "guess", headers=_from(bots[8]))
    assert_error(r, 429, "rate_limited")
    assert int(r.header("Retry-After")) == 32, r.headers
