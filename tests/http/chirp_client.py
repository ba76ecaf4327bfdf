"""Helpers for the chirp black-box HTTP tests: start and stop the real binary,
talk HTTP/1.1 to it with only the standard library, and check the shapes the
API contract (docs/api.md) promises.

Every response that goes through Client is recorded in TRAFFIC, together with
every password the tests chose and every token the server minted, so that
test_zz_secrets.py can check that no secret ever leaks into a response.

The store under test: CHIRP_TEST_STORE=sqlite (the default), postgres, or
cluster: each server of a test is then three nodes behind HAProxy
(tests/cluster/cluster.py) on the run's PostgreSQL, with Redis and s3rver
of their own; the test talks to HAProxy, node 1 runs on the test's data dir.
With postgres, the first server started starts one throwaway PostgreSQL for
the whole run (tests/pg/pgserver.py, stopped at exit), and each ServerProc
gets `--store URL` for a database named after its data dir (see
store_url_for): a restart on the same data dir sees the same data, a fresh
data dir an empty database. Tests that look at the stored data themselves
use db_dump / db_query, which work on both stores.
"""

import atexit
import hashlib
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

# The sanitizer build runs the same suite, only slower: scale every wait.
TIMEOUT_FACTOR = float(os.environ.get("CHIRP_TIMEOUT_FACTOR", "1"))
STARTUP_TIMEOUT = 30 * TIMEOUT_FACTOR
SHUTDOWN_TIMEOUT = 10 * TIMEOUT_FACTOR
REQUEST_TIMEOUT = 30 * TIMEOUT_FACTOR
# How long an eventually-consistent read (feed fanout) may lag.
CONVERGE_TIMEOUT = 10 * TIMEOUT_FACTOR

REPO_ROOT = Path(__file__).resolve().parents[2]

ID_RE = re.compile(r"^[1-9][0-9]*$")
RFC3339_UTC_RE = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$")
USER_KEYS = {"id", "handle", "display_name", "created_at",
             "followers_count", "following_count", "tweets_count"}
TWEET_KEYS = {"id", "author_id", "author", "text", "created_at", "media", "retweet_count",
              "liked", "retweeted"}


def chirp_bin():
    return os.environ.get("CHIRP_BIN") or str(REPO_ROOT / "chirp")


# ------------------------------------------------------------------ store

TEST_STORE = os.environ.get("CHIRP_TEST_STORE", "sqlite")
if TEST_STORE not in ("sqlite", "postgres", "cluster"):
    raise SystemExit(f"CHIRP_TEST_STORE={TEST_STORE!r}: sqlite, postgres or cluster")
ON_CLUSTER = TEST_STORE == "cluster"
ON_POSTGRES = TEST_STORE in ("postgres", "cluster")  # a cluster's truth is PostgreSQL
# HAProxy's address -> the cluster's metrics token file (metrics_scrape.py)
CLUSTER_TOKENS = {}


def needs_one_process(what):
    """Skips a test that inherently needs one chirp process (a signal to
    it, its exit, its log) when the server is a cluster."""
    if ON_CLUSTER:
        import pytest
        pytest.skip(f"CHIRP_TEST_STORE=cluster: {what} needs one process, "
                    f"not three nodes behind HAProxy")

_pg = None
_pg_lock = threading.Lock()


def pg_server():
    """The run's PostgreSQL (a tests/pg/pgserver.py PgServer), started on
    first use and stopped when the process exits. Its base URL is also put
    in the environment as CHIRP_TEST_PG_URL."""
    global _pg
    with _pg_lock:
        if _pg is None:
            sys.path.insert(0, str(REPO_ROOT / "tests" / "pg"))
            from pgserver import PgServer
            srv = PgServer()
            atexit.register(srv.cleanup)  # registered first: runs even if start fails
            srv.start()
            os.environ["CHIRP_TEST_PG_URL"] = srv.url()
            _pg = srv
        return _pg


def pg_server_stop():
    """Stops the run's PostgreSQL if it was started (idempotent)."""
    with _pg_lock:
        if _pg is not None:
            _pg.cleanup()


# ------------------------------------------------------------------ redis
# CHIRP_TEST_REDIS=1: every server of the run also gets --redis (cluster
# mode's shared state), each data dir its own database of one Redis
# started for the run, so servers of different tests share nothing.

TEST_REDIS = os.environ.get("CHIRP_TEST_REDIS") == "1"
REDIS_DATABASES = 4096

_redis = None
_redis_dbs = {}


def redis_server():
    """The run's redis-server: (process, port, dir), started on first use
    and stopped when the process exits."""
    global _redis
    with _pg_lock:
        if _redis is None:
            d = tempfile.mkdtemp(prefix="chirp-redis-")
            port = free_port()
            proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                 "--dir", d, "--save", "", "--appendonly", "no",
                 "--databases", str(REDIS_DATABASES), "--logfile", os.path.join(d, "redis.log")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

            def stop():
                proc.kill()
                proc.wait()
                shutil.rmtree(d, ignore_errors=True)
            atexit.register(stop)
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.02)
            _redis = (proc, port, d)
        return _redis


def redis_url_for(data_dir):
    """The --redis value for a server on data_dir (None unless
    CHIRP_TEST_REDIS=1): the same database at every restart."""
    if not TEST_REDIS:
        return None
    _proc, port, _d = redis_server()
    key = os.path.abspath(str(data_dir))
    db = _redis_dbs.setdefault(key, len(_redis_dbs) % REDIS_DATABASES)
    return f"redis://127.0.0.1:{port}/{db}"


def store_db_name(data_dir):
    """The PostgreSQL database of a data dir: chirp_ and a hash of its
    absolute path, so the name is stable across restarts and distinct for
    every temporary directory."""
    path = os.path.abspath(str(data_dir)).encode()
    return "chirp_" + hashlib.sha256(path).hexdigest()[:16]


def store_url_for(data_dir):
    """The --store value for a server on data_dir (None on SQLite, whose
    store is the data dir's chirp.db). On PostgreSQL the database is created
    if it is missing."""
    if not ON_POSTGRES:
        return None
    return pg_server().create_db(store_db_name(data_dir))


def db_query(data_dir, sql):
    """Rows of one SQL statement against the store of the server on
    data_dir (committed, if it writes), as lists of strings on PostgreSQL
    (psql's text form: bytea is \\x hex) and as sqlite3 values on SQLite.
    Table and column names are the adapter's schema, which both adapters
    share for the core tables."""
    if ON_POSTGRES:
        out = pg_server().psql(sql, store_db_name(data_dir), sep="\x1f")
        return [line.split("\x1f") for line in out.splitlines() if line]
    db = sqlite3.connect(os.path.join(str(data_dir), "chirp.db"), timeout=10)
    try:
        with db:
            return [list(r) for r in db.execute(sql).fetchall()]
    finally:
        db.close()


# amcheck's heap check on every table of chirp's schema (the indexes are
# checked one by one in db_integrity_check, as a bad one raises).
PG_HEAP_CHECK_SQL = """
CREATE EXTENSION IF NOT EXISTS amcheck;
SELECT c.relname || ': block ' || v.blkno || ': ' || v.msg
  FROM pg_class c, verify_heapam(c.oid) v
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r';
"""


def store_disk_pids(srv):
    """The processes that write the store of ServerProc srv to disk: chirp
    itself on SQLite, every process of the run's PostgreSQL otherwise."""
    return pg_server().pids() if ON_POSTGRES else [srv.proc.pid]


def db_integrity_check(data_dir):
    """["ok"], or what is wrong with the store of the server on data_dir:
    PRAGMA integrity_check on SQLite (read-only); amcheck on PostgreSQL
    (verify_heapam on each table, bt_index_check with heapallindexed on
    each index; an index that fails raises, and its error is the answer)."""
    if ON_POSTGRES:
        pg = pg_server()
        db = store_db_name(data_dir)
        problems = pg.psql(PG_HEAP_CHECK_SQL, db).splitlines()
        indexes = pg.psql("SELECT c.relname FROM pg_class c JOIN pg_am a "
                          "ON a.oid = c.relam WHERE c.relkind = 'i' AND "
                          "c.relnamespace = 'public'::regnamespace "
                          "AND a.amname = 'btree'", db).split()
        for ix in indexes:
            try:
                pg.psql(f"SELECT bt_index_check('public.\"{ix}\"'::regclass, true)", db)
            except subprocess.CalledProcessError as e:
                problems.append(f"{ix}: {e.stderr.strip()}")
        return problems or ["ok"]
    path = os.path.join(str(data_dir), "chirp.db")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return [row[0] for row in db.execute("PRAGMA integrity_check")]
    finally:
        db.close()


def db_dump(data_dir):
    """Everything the store holds for the server on data_dir, as bytes to
    search for secrets at rest: on SQLite the database files themselves
    (chirp.db and its WAL), on PostgreSQL a pg_dump of its database (bytea
    in hex, so callers look for a secret's hex form too)."""
    if ON_POSTGRES:
        return pg_server().dump(store_db_name(data_dir))
    out = b""
    for name in ("chirp.db", "chirp.db-wal"):
        try:
            with open(os.path.join(str(data_dir), name), "rb") as f:
                out += f.read()
        except FileNotFoundError:
            pass
    return out


def chirp_wrapper():
    """CHIRP_WRAPPER, split like a shell would: a command that every server
    the suite starts runs under (`make valgrind` sets it to valgrind)."""
    return shlex.split(os.environ.get("CHIRP_WRAPPER", ""))


# ---------------------------------------------------------------- recording

class Traffic:
    """Everything the suite saw, for the secret-leak checks."""

    def __init__(self):
        self.lock = threading.Lock()
        self.responses = []
        self.tokens = set()
        self.passwords = set()

    def add_response(self, resp):
        with self.lock:
            self.responses.append(resp)

    def add_token(self, token):
        with self.lock:
            self.tokens.add(token)

    def add_password(self, password):
        with self.lock:
            self.passwords.add(password)

    def snapshot(self):
        with self.lock:
            return list(self.responses), set(self.tokens), set(self.passwords)


TRAFFIC = Traffic()


# ---------------------------------------------------------------- responses

class Resp:
    """One HTTP response, fully read."""

    def __init__(self, method, path, status, reason, headers, body):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), in wire order
        self.body = body        # bytes
        self._json = None

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                raise AssertionError(
                    f"{self.method} {self.path} -> {self.status}: body is not JSON "
                    f"({e}): {self.body[:300]!r}") from None
        return self._json

    @property
    def code(self):
        j = self.json
        return j.get("code") if isinstance(j, dict) else None

    def __repr__(self):
        return (f"<{self.method} {self.path} -> {self.status} "
                f"{self.body[:300]!r}>")


# ------------------------------------------------------------------- client

_MISSING = object()


class Client:
    """A tiny HTTP/1.1 client. One connection per request keeps tests
    independent of keep-alive handling; `addr` is a callable so the client
    follows a server that was restarted on another port."""

    def __init__(self, addr):
        self._addr = addr

    @property
    def address(self):
        return self._addr()

    def request(self, method, path, json_body=_MISSING, body=None, token=None,
                headers=None, content_type=_MISSING, timeout=None):
        """Send one request and return a Resp.

        json_body: serialised with json.dumps (ASCII escapes).
        body: raw bytes (or str, encoded as UTF-8) sent as is.
        content_type: defaults to application/json when there is a body;
        None sends no Content-Type at all.
        """
        if json_body is not _MISSING:
            body = json.dumps(json_body).encode()
        elif isinstance(body, str):
            body = body.encode("utf-8")
        if content_type is _MISSING:
            content_type = "application/json" if body is not None else None
        host, port = self.address
        if path.startswith("http://"):  # a URL chirp handed out: a blob store's
            u = urlsplit(path)
            host, port = u.hostname, u.port or 80
            path = u.path + (f"?{u.query}" if u.query else "")
        conn = http.client.HTTPConnection(
            host, port, timeout=timeout or REQUEST_TIMEOUT)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            if content_type is not None:
                conn.putheader("Content-Type", content_type)
            if token is not None:
                conn.putheader("Authorization", f"Bearer {token}")
            for k, v in (headers or {}).items():
                conn.putheader(k, v)
            if body is not None or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body)
            r = conn.getresponse()
            data = r.read()
            resp = Resp(method, path, r.status, r.reason,
                        list(r.getheaders()), data)
        finally:
            conn.close()
        TRAFFIC.add_response(resp)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def fetch(self, url, **kw):
        """GET a URL chirp handed out (a path or an absolute URL), following
        redirects as a browser does: a cluster's /blobs answer 302 to a
        signed URL of its S3 store."""
        for _ in range(3):
            r = self.get(url, **kw)
            if r.status not in (301, 302, 303, 307, 308):
                return r
            url = r.header("Location")
        return r

    def post(self, path, json_body=_MISSING, **kw):
        return self.request("POST", path, json_body=json_body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def raw_request(self, method, path, body=b"", headers=None, token=None,
                    content_type="application/json", timeout=None):
        """Like request(), but written by hand on a raw socket and tolerant
        of the server answering and closing before it read the whole body
        (what a server should do with an oversized body). Returns None if
        there was no response at all."""
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                 "Connection: close", f"Content-Length: {len(body)}"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if token is not None:
            lines.append(f"Authorization: Bearer {token}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return self.raw(head + body, timeout=timeout)

    def raw(self, data, timeout=None):
        """Send raw bytes on a fresh connection. Returns a Resp, or None if
        the server closed or reset the connection without a response."""
        host, port = self.address
        sock = socket.create_connection((host, port),
                                        timeout=timeout or REQUEST_TIMEOUT)
        try:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading it all
            r = http.client.HTTPResponse(sock, method="GET")
            try:
                r.begin()
                body = r.read()
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    http.client.IncompleteRead, BrokenPipeError):
                return None
            resp = Resp("RAW", data[:60].decode("latin-1"), r.status,
                        r.reason, list(r.getheaders()), body)
        finally:
            sock.close()
        TRAFFIC.add_response(resp)
        return resp


# ------------------------------------------------------------------- server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The suite signs up and logs in some 1,600 times a run: at Argon2id's
# real cost that is most of its CPU. A test that needs sign-ups to be slow
# passes REAL_HASH_COST among its flags, which come later and win.
TEST_HASH_COST = ["--password-hash-cost", "test"]
REAL_HASH_COST = ["--password-hash-cost", "interactive"]


class ServerProc:
    """One `chirp serve` process on a free port with a given data dir."""

    def __init__(self, data_dir, log_path, threads=2, extra_args=None,
                 rate_limits=False, store=None):
        self.extra_args = list(extra_args or [])  # more `serve` flags
        # CHIRP_SERVE_ARGS: flags for every server of the run (make
        # http-offload runs the suite with --offload-reads).
        self.extra_args += os.environ.get("CHIRP_SERVE_ARGS", "").split()
        # The suite signs up hundreds of users from one address: budgets
        # are off unless a test is about them.
        if not rate_limits:
            self.extra_args.append("--no-rate-limits")
        self.data_dir = str(data_dir)
        # --store: `store` if given, else the test store's for this data
        # dir (None: SQLite in the data dir), found at the first start; kept
        # apart from extra_args, which callers replace.
        self.store_url = store
        self.log_path = str(log_path)
        self.threads = threads
        self.host = "127.0.0.1"
        self.port = None
        self.proc = None
        self.starts = 0
        self.cluster = None  # CHIRP_TEST_STORE=cluster: the nodes standing for this server

    def address(self):
        return (self.host, self.port)

    def client(self):
        return Client(self.address)

    def live_client(self):
        """A client, after restarting the server if an earlier test crashed
        it (that test has already failed with the server log)."""
        if not self.alive():
            self.start()
        return self.client()

    def alive(self):
        if self.cluster is not None:
            return all(p is not None and p.alive()
                       for p in [self.cluster.lb, *self.cluster.nodes])
        return self.proc is not None and self.proc.poll() is None

    def store_args(self):
        if self.store_url is None:
            self.store_url = store_url_for(self.data_dir)
        args = ["--store", self.store_url] if self.store_url else []
        redis = None if "--redis" in self.extra_args else redis_url_for(self.data_dir)
        return args + (["--redis", redis] if redis else [])

    def start_cluster(self):
        """CHIRP_TEST_STORE=cluster: three nodes and HAProxy stand for this
        server; its address is HAProxy's, its proc node 1's."""
        sys.path.insert(0, str(REPO_ROOT / "tests" / "cluster"))
        from cluster import Cluster
        if self.cluster is not None:  # what a kill of node 1 alone left running
            self.cluster.stop()
        self.starts += 1
        args = list(self.extra_args)
        while "--node-id" in args:  # the cluster numbers its nodes itself
            i = args.index("--node-id")
            del args[i:i + 2]
        self.cluster = Cluster(self.data_dir.rstrip("/") + ".cluster", nodes=3,
                               node_args=["--threads", str(self.threads), *TEST_HASH_COST,
                                          *args],
                               pg=pg_server(), db_name=store_db_name(self.data_dir),
                               node1_data=self.data_dir)
        atexit.register(self.cluster.stop)  # whatever a test did to node 1
        try:
            self.cluster.start()
        except Exception as e:
            self.cluster.stop()
            raise AssertionError(f"chirp exited at startup: the cluster did not start: "
                                 f"{e}") from None
        self.port = self.cluster.lb_port
        self.proc = self.cluster.nodes[0].proc
        CLUSTER_TOKENS[(self.host, self.port)] = str(self.cluster.secret("metrics.token"))

    def stop_cluster(self, sig, timeout):
        for p in self.cluster.nodes:
            p.signal(sig)
        rcs = []
        for p in self.cluster.nodes:
            try:
                rcs.append(p.proc.wait(timeout=timeout))
            except subprocess.TimeoutExpired:
                p.kill9()
                raise AssertionError(f"a chirp node did not exit within {timeout:.0f}s "
                                     f"of signal {sig}:\n" + self.log_tail()) from None
        self.cluster.stop()
        return next((rc for rc in rcs if rc != 0), 0)

    def start(self):
        if ON_CLUSTER:
            return self.start_cluster()
        last = ""
        store = self.store_args()
        for _attempt in range(3):  # a port picked free may be taken meanwhile
            self.port = free_port()
            self.starts += 1
            log = open(self.log_path, "ab")
            log.write(f"\n==== start #{self.starts} on port {self.port}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [*chirp_wrapper(), chirp_bin(), "serve",
                 "--listen", f"{self.host}:{self.port}",
                 "--data", self.data_dir, "--threads", str(self.threads),
                 *TEST_HASH_COST, *store, *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = self.client().get("/healthz", timeout=2)
                    if r.status == 200:
                        return
                except OSError:
                    pass
                time.sleep(0.05)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(
                    f"chirp not ready within {STARTUP_TIMEOUT:.0f}s:\n"
                    + self.log_tail())
            last = self.log_tail()
        raise AssertionError(f"chirp exited at startup "
                             f"(code {self.proc.returncode}):\n{last}")

    def send_signal(self, sig):
        needs_one_process(f"signal {sig}")
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=SHUTDOWN_TIMEOUT):
        """Send `sig` and wait; returns the exit code. Kills the process and
        raises if it does not exit within `timeout` seconds."""
        if self.cluster is not None and self.alive():
            return self.stop_cluster(sig, timeout)
        if self.cluster is not None:
            self.cluster.stop()
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"chirp did not exit within {timeout:.0f}s of signal {sig}:\n"
                + self.log_tail()) from None

    def kill9(self):
        if self.cluster is not None:  # every node at once, as a power cut
            for p in self.cluster.nodes:
                p.kill9()
            self.cluster.stop()
            return
        self.proc.kill()
        self.proc.wait()

    def restart(self):
        rc = self.stop()
        self.start()
        return rc

    def log_tail(self, nbytes=4000):
        if self.cluster is not None:
            return "\n".join(f"---- {p.name}\n" + p.log_tail(nbytes // 3)
                             for p in [self.cluster.lb, *self.cluster.nodes] if p)
        try:
            data = Path(self.log_path).read_bytes()
        except OSError:
            return "(no log)"
        return data[-nbytes:].decode("utf-8", "replace")


def store_adapter_missing(tmp_dir, store=None):
    """None if chirp starts on the store under test (or on `store`, a
    --store value); otherwise the reason it does not (the adapter is not
    built in: `--store ...: unknown`). Starts one server on a data dir under
    tmp_dir and stops it; any other failure to start raises."""
    if not ON_POSTGRES and store is None:
        return None
    data = os.path.join(str(tmp_dir), "probe-data")
    os.makedirs(data, exist_ok=True)
    srv = ServerProc(data, os.path.join(str(tmp_dir), "probe.log"), store=store)
    try:
        srv.start()
    except AssertionError as e:
        why = [line for line in str(e).splitlines() if "unknown" in line]
        if why:
            return (f"chirp has no PostgreSQL store adapter yet: {chirp_bin()} "
                    f"serve --store {srv.store_url} says {why[-1].strip()!r}")
        raise
    srv.stop()
    return None


def start_server(tmp_path, name, *flags):
    """Starts a private server with its own data dir under tmp_path and the
    given extra flags; the caller stops it."""
    data = tmp_path / f"{name}-data"
    os.makedirs(data, exist_ok=True)
    srv = ServerProc(data, tmp_path / f"{name}.log", extra_args=list(flags))
    srv.start()
    return srv


# ------------------------------------------------------------------- domain

def random_handle(prefix="u"):
    return f"{prefix}{secrets.token_hex(5)}"  # prefix + 10 hex chars


def random_password():
    return "pw-" + secrets.token_urlsafe(12)


class User:
    def __init__(self, handle, password, data, token=None):
        self.handle = handle
        self.password = password
        self.data = data
        self.id = data["id"]
        self.token = token

    def __repr__(self):
        return f"<User {self.handle} {self.id}>"


def signup(client, handle, password, display_name=None, headers=None):
    body = {"handle": handle, "password": password}
    if display_name is not None:
        body["display_name"] = display_name
    TRAFFIC.add_password(password)
    return client.post("/v1/users", body, headers=headers)


def login(client, handle, password, headers=None):
    r = client.post("/v1/sessions", {"handle": handle, "password": password},
                    headers=headers)
    if r.status == 201 and isinstance(r.json, dict) and \
            isinstance(r.json.get("token"), str):
        TRAFFIC.add_token(r.json["token"])
    return r


def create_user(client, prefix="u", display_name=None, with_token=True):
    handle = random_handle(prefix)
    password = random_password()
    r = signup(client, handle, password, display_name)
    assert r.status == 201, r
    user = User(handle, password, r.json)
    if with_token:
        user.token = new_token(client, user)
    return user


def new_token(client, user):
    r = login(client, user.handle, user.password)
    assert r.status == 201, r
    return r.json["token"]


def post_tweet(client, user, text=None, **kw):
    if text is None:
        text = "tweet " + secrets.token_hex(6)
    r = client.post("/v1/tweets", {"text": text}, token=user.token, **kw)
    assert r.status == 201, r
    return r.json


def get_user(client, user_id):
    r = client.get(f"/v1/users/{user_id}")
    assert r.status == 200, r
    return r.json


def follow(client, user, target_id, expect=(200, 201)):
    r = client.post(f"/v1/users/{target_id}/follows", token=user.token)
    assert r.status in expect, r
    return r


def list_ids(client, path, token=None):
    r = client.get(path, token=token)
    assert r.status == 200, r
    return [item["id"] for item in r.json]


def eventually(fn, timeout=CONVERGE_TIMEOUT, interval=0.05, what="condition"):
    """Poll fn() until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} not reached within {timeout}s "
                                 f"(last value: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------------- checks

def assert_error(resp, status, codes=None):
    """resp is a JSON error with this status and one of these codes
    (any snake_case code if codes is None)."""
    if isinstance(codes, str):
        codes = (codes,)
    assert resp.status == status, f"expected {status} {codes}, got {resp!r}"
    ct = resp.header("Content-Type") or ""
    assert ct.split(";")[0].strip().lower() == "application/json", \
        f"error Content-Type is {ct!r}: {resp!r}"
    body = resp.json
    assert isinstance(body, dict), resp
    assert isinstance(body.get("error"), str) and body["error"], \
        f"error message missing: {resp!r}"
    if codes is not None:
        assert body.get("code") in codes, f"expected code in {codes}: {resp!r}"
    assert isinstance(body.get("code"), str) and \
        re.fullmatch(r"[a-z][a-z0-9_]*", body["code"]), resp


def assert_id(value):
    assert isinstance(value, str), f"id {value!r} is not a string"
    assert ID_RE.match(value), f"id {value!r} is not a decimal string"
    assert int(value) < 2 ** 64, f"id {value!r} exceeds 64 bits"


def assert_timestamp(value):
    assert isinstance(value, str) and RFC3339_UTC_RE.match(value), \
        f"created_at {value!r} is not RFC 3339 UTC"


def assert_count(value):
    assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, \
        f"count {value!r} is not a non-negative integer"


def assert_user_shape(u):
    assert isinstance(u, dict), u
    missing = USER_KEYS - u.keys()
    assert not missing, f"user lacks {missing}: {u}"
    assert_id(u["id"])
    assert isinstance(u["handle"], str) and u["handle"], u
    assert isinstance(u["display_name"], str) and u["display_name"], u
    assert_timestamp(u["created_at"])
    for k in ("followers_count", "following_count", "tweets_count"):
        assert_count(u[k])


def assert_tweet_shape(t):
    assert isinstance(t, dict), t
    missing = TWEET_KEYS - t.keys()
    assert not missing, f"tweet lacks {missing}: {t}"
    assert_id(t["id"])
    assert_id(t["author_id"])
    a = t["author"]
    assert isinstance(a, dict) and {"id", "handle", "display_name"} <= a.keys(), t
    assert a["id"] == t["author_id"], t
    assert isinstance(t["text"], str) and t["text"], t
    assert_timestamp(t["created_at"])
    assert isinstance(t["media"], list), t


def assert_newest_first(items):
    ids = [int(i["id"]) for i in items]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids), \
        f"not strictly newest first: {ids}"


# -------------------------------------------------------------- pagination

LINK_RE = re.compile(r'<([^>]*)>\s*;\s*rel="?([A-Za-z]+)"?')


def parse_links(resp):
    """{rel: url} from every Link header of resp (None if there is none)."""
    values = resp.header_all("Link")
    if not values:
        return None
    return {rel: url for url, rel in LINK_RE.findall(",".join(values))}


def split_url(url):
    parts = urlsplit(url)
    return parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()}


def walk(client, path, rel, token=None, max_pages=200, between=None,
         by_item_id=True):
    """Follow Link rel=`rel` from `path` until an empty page.
    Returns the list of non-empty pages (each a list of items).
    by_item_id: check each page is newest first by item id (tweet lists; user
    lists are ordered by follow time, which their ids do not show)."""
    pages = []
    url = path
    for _ in range(max_pages):
        r = client.get(url, token=token)
        assert r.status == 200, r
        items = r.json
        assert isinstance(items, list), r
        links = parse_links(r)
        assert links is not None, f"list response without Link header: {r!r}"
        if not items:
            return pages
        if by_item_id:
            assert_newest_first(items)
        pages.append(items)
        assert rel in links, f"no rel={rel} on non-empty page: {links}"
        url = links[rel]
        if between:
            between()
    raise AssertionError(f"walk of {path} did not end in {max_pages} pages")


def is_http_parser_refusal(resp):
    """True for h2o's own answer to a request that is not valid HTTP (bad
    bytes in the request line or a header): a fixed plain-text 400 sent
    before any chirp code runs, which chirp cannot shape as JSON."""
    return (resp.status in (400, 413)
            and resp.body in (b"Bad Request", b"broken content-length header",
                              b"unknown transfer-encoding",
                              b"broken chunked-encoding",
                              b"request entity is too large")
            and (resp.header("Content-Type") or "").startswith("text/plain"))
