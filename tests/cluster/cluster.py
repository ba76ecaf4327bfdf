"""A chirp cluster on loopback: PostgreSQL, Redis, an S3-compatible server
(s3rver), N chirp nodes and HAProxy in front, every one a real process on a
free port of 127.0.0.1, with the configurations of deploy/cluster/.

The same code serves `make cluster` (processes that outlive the command,
their pids in DIR/pids/) and the tests of tests/cluster/ (the same, stopped
by the fixture).

    cluster.py start DIR [NODES]   starts it, prints the HAProxy URL
    cluster.py stop DIR            stops every process it started, by pid

Every node gets the same shared secrets (DIR/secrets/: the blob URL key,
the Idempotency-Key fingerprint key, the metrics token), `--node-id` of its
own, `--trust-proxy 127.0.0.1` (HAProxy's address as chirp sees it), and
`--redis` when the chirp binary has that flag.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "cluster"
sys.path.insert(0, str(REPO / "tests" / "pg"))
from pgserver import PgServer  # noqa: E402
sys.path.insert(0, str(REPO / "tests" / "s3"))
import install as s3_install  # noqa: E402

S3_DIR = REPO / "tests" / "s3"
S3RVER_BIN = S3_DIR / "node_modules" / ".bin" / "s3rver"
S3_BUCKET = "chirp"
S3_KEY = "S3RVER"  # s3rver's fixed credentials
DB_NAME = "chirp"

TIMEOUT_FACTOR = float(os.environ.get("CHIRP_TIMEOUT_FACTOR", "1"))
START_TIMEOUT = 60 * TIMEOUT_FACTOR


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chirp_bin():
    return os.environ.get("CHIRP_BIN") or str(REPO / "chirp")


def chirp_has_flag(flag):
    """True if `chirp serve --help` lists `flag` (--redis comes with the
    Redis adapters; without it the nodes share PostgreSQL only)."""
    out = subprocess.run([chirp_bin(), "serve", "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, check=False).stdout
    return f"\n  {flag} " in out or f"\n  {flag}\n" in out


def wait_http(url, timeout, proc=None, want=200):
    """Waits until GET url answers `want`; False if `proc` exits first or
    time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == want:
                    return True
        except urllib.error.HTTPError as e:
            if e.code == want:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def ensure_s3rver():
    if not s3_install.have_npm():
        raise RuntimeError("s3rver needs node and npm (scripts/deps.sh installs them)")
    s3_install.ensure_installed()


class Proc:
    """One process of the cluster: its command, log and pid file. Started
    in a session of its own, so it outlives `make cluster`."""

    def __init__(self, cluster, name, argv, env=None):
        self.cluster, self.name, self.argv, self.env = cluster, name, argv, env
        self.proc = None

    @property
    def log_path(self):
        return self.cluster.dir / "logs" / f"{self.name}.log"

    @property
    def pid_path(self):
        return self.cluster.dir / "pids" / f"{self.name}.pid"

    def start(self):
        env = dict(os.environ, **(self.env or {}))
        with open(self.log_path, "ab") as log:
            log.write(f"\n==== {' '.join(self.argv)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         start_new_session=True)
        self.pid_path.write_text(str(self.proc.pid))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=3000):
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def stop(self, timeout=15):
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=timeout * TIMEOUT_FACTOR)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self.pid_path.unlink(missing_ok=True)

    def kill9(self):
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self.pid_path.unlink(missing_ok=True)


class Cluster:
    """PostgreSQL, Redis, s3rver, `nodes` chirps and HAProxy under `dir`.
    start() brings them up in that order; stop() takes them down in the
    reverse one. `node_args` are more flags for every chirp."""

    def __init__(self, dir, nodes=3, node_args=(), pg=None, redis=True, db_name=DB_NAME,
                 node1_data=None):
        self.dir = Path(dir).resolve()
        # node 1's data dir, when a caller wants it in a place of its own
        # (the HTTP suite's CHIRP_TEST_STORE=cluster: the test's data dir)
        self.node1_data = node1_data
        self.n = nodes
        self.node_args = list(node_args)
        self.pg = pg  # a running PgServer to share (tests), or None: our own
        self.own_pg = pg is None
        self.db_name = db_name
        self.want_redis = redis and chirp_has_flag("--redis")
        self.redis = self.s3 = self.lb = None
        self.redis_port = self.s3_port = self.lb_port = None
        self.nodes = []  # Proc per chirp, node i+1 at index i
        self.node_ports = []

    # ---- paths and URLs

    @property
    def url(self):
        return f"http://127.0.0.1:{self.lb_port}"

    def node_url(self, i):
        """The URL of node i (1-based), around HAProxy."""
        return f"http://127.0.0.1:{self.node_ports[i - 1]}"

    @property
    def redis_url(self):
        return f"redis://127.0.0.1:{self.redis_port}/0" if self.want_redis else None

    @property
    def store_url(self):
        return self.pg.url(self.db_name)

    def secret(self, name):
        return self.dir / "secrets" / name

    # ---- start

    def start(self):
        for sub in ("logs", "pids", "secrets", "redis", "s3"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir / "secrets", 0o700)
        self._make_secrets()
        if self.pg is None:
            self.pg = PgServer(str(self.dir / "pg"))
            self.pg.start()
            (self.dir / "pg" / "port").write_text(str(self.pg.port))
        self.pg.create_db(self.db_name)
        if self.want_redis:
            self.start_redis()
        self._start_s3()
        self.node_ports = [free_port() for _ in range(self.n)]
        self.nodes = [None] * self.n
        for i in range(1, self.n + 1):
            self.start_node(i)
        self._start_haproxy()
        return self

    def _make_secrets(self):
        """Made once per cluster dir, shared by every node: a node never
        makes its own (blob_secret_read)."""
        for name in ("blob.secret", "idem.secret", "oauth.secret"):
            p = self.secret(name)
            if not p.exists():
                p.write_text(secrets.token_hex(32) + "\n")
                os.chmod(p, 0o600)
        p = self.secret("metrics.token")
        if not p.exists():
            p.write_text(secrets.token_urlsafe(32) + "\n")
            os.chmod(p, 0o600)

    @property
    def metrics_token(self):
        return self.secret("metrics.token").read_text().strip()

    def start_redis(self):
        if self.redis_port is None:
            self.redis_port = free_port()
        self.redis = Proc(self, "redis", [
            "redis-server", str(DEPLOY / "redis.conf"),
            # the deploy file's addresses and paths, for loopback
            "--bind", "127.0.0.1", "--port", str(self.redis_port),
            "--dir", str(self.dir / "redis"), "--daemonize", "no", "--logfile", ""]).start()
        if not self._wait_port(self.redis_port, self.redis):
            raise RuntimeError("redis did not start:\n" + self.redis.log_tail())

    def redis_cli(self, *args):
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis_port),
                              *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=30)
        return out.stdout.strip()

    def _start_s3(self):
        ensure_s3rver()
        self.s3_port = free_port()
        self.s3 = Proc(self, "s3rver", [
            str(S3RVER_BIN), "-d", str(self.dir / "s3"), "-a", "127.0.0.1",
            "-p", str(self.s3_port), "--silent", "--no-vhost-buckets",
            "--configure-bucket", S3_BUCKET]).start()
        if not wait_http(f"http://127.0.0.1:{self.s3_port}/{S3_BUCKET}", START_TIMEOUT,
                         self.s3.proc):
            raise RuntimeError("s3rver did not start:\n" + self.s3.log_tail())

    def node_argv(self, i, port=None, node_id=None):
        """The command of node i: everything shared comes from the cluster,
        only the data dir (logs, the search index of SQLite, none of the
        truth) and the node id are its own."""
        data = self.node1_data if i == 1 and self.node1_data else self.dir / f"node{i}"
        argv = [chirp_bin(), "serve",
                "--listen", f"127.0.0.1:{port or self.node_ports[i - 1]}",
                "--data", str(data), "--threads", "2",
                "--store", self.store_url, "--node-id", str(node_id or i),
                "--trust-proxy", "127.0.0.1",
                "--blob-s3-endpoint", f"http://127.0.0.1:{self.s3_port}",
                "--blob-s3-bucket", S3_BUCKET,
                "--blob-secret-file", str(self.secret("blob.secret")),
                "--idempotency-key-file", str(self.secret("idem.secret")),
                "--oauth-key-file", str(self.secret("oauth.secret")),
                "--metrics-token-file", str(self.secret("metrics.token"))]
        if self.want_redis:
            argv += ["--redis", self.redis_url]
        return argv + self.node_args

    # the S3 credentials go by environment, never on the command line
    NODE_ENV = {"CHIRP_BLOB_S3_KEY": S3_KEY, "CHIRP_BLOB_S3_SECRET": S3_KEY}

    def start_node(self, i, wait=True):
        """Starts node i (again); waits for its /readyz unless told not to."""
        proc = Proc(self, f"chirp{i}", self.node_argv(i), env=self.NODE_ENV).start()
        self.nodes[i - 1] = proc
        if wait and not wait_http(self.node_url(i) + "/readyz", START_TIMEOUT, proc.proc):
            raise RuntimeError(f"chirp node {i} did not become ready:\n" + proc.log_tail())
        return proc

    def _start_haproxy(self):
        self.lb_port = free_port()
        env = {"CHIRP_LB_BIND": f"127.0.0.1:{self.lb_port}",
               "CHIRP_LB_PIDFILE": str(self.dir / "pids" / "haproxy.master")}
        for i, port in enumerate(self.node_ports, 1):
            env[f"CHIRP_NODE{i}"] = f"127.0.0.1:{port}"
        cfg = self.dir / "haproxy.cfg"
        cfg.write_text(self._haproxy_cfg())
        self.lb = Proc(self, "haproxy", ["haproxy", "-db", "-f", str(cfg)], env=env).start()
        # every node up in HAProxy's eyes (its first checks passed)
        if not wait_http(self.url + "/readyz", START_TIMEOUT, self.lb.proc):
            raise RuntimeError("haproxy did not start:\n" + self.lb.log_tail())

    def _haproxy_cfg(self):
        """deploy/cluster/haproxy.cfg with one `server` line per node (the
        file lists three; a cluster of another size gets as many)."""
        lines = []
        for line in (DEPLOY / "haproxy.cfg").read_text().splitlines():
            if line.strip().startswith("server node"):
                if line.strip().startswith("server node1 "):
                    lines += [line.replace("node1", f"node{i}").replace("NODE1", f"NODE{i}")
                              for i in range(1, self.n + 1)]
                continue
            lines.append(line)
        return "\n".join(lines) + "\n"

    @staticmethod
    def _wait_port(port, proc, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.alive():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        return False

    # ---- stop

    def stop(self):
        for p in [self.lb, *reversed(self.nodes), self.s3, self.redis]:
            if p is not None:
                p.stop()
        if self.own_pg and self.pg is not None:
            self.pg.stop()


def stop_by_pids(dir):
    """`make cluster-stop`: SIGTERM to every pid the cluster wrote (HAProxy
    first, PostgreSQL last), waiting for each; then pg_ctl stop."""
    dir = Path(dir).resolve()
    order = ["haproxy"] + sorted((p.stem for p in (dir / "pids").glob("chirp*.pid")),
                                 reverse=True) + ["s3rver", "redis"]
    for name in order:
        pid_file = dir / "pids" / f"{name}.pid"
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        pid_file.unlink(missing_ok=True)
        print(f"stopped {name} (pid {pid})")
    port_file = dir / "pg" / "port"
    if port_file.exists():
        PgServer(str(dir / "pg"), int(port_file.read_text())).stop()
        print("stopped postgresql")


def main(argv):
    if len(argv) < 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: cluster.py start DIR [NODES] | stop DIR")
    if argv[1] == "stop":
        stop_by_pids(argv[2])
        return
    if any((Path(argv[2]) / "pids").glob("*.pid")):
        sys.exit(f"a cluster is running in {argv[2]}: `make cluster-stop` first")
    c = Cluster(argv[2], nodes=int(argv[3]) if len(argv) > 3 else 3)
    try:
        c.start()
    except Exception as e:
        print(f"cluster: {e}", file=sys.stderr)
        stop_by_pids(argv[2])
        sys.exit(1)
    (c.dir / "url").write_text(c.url + "\n")
    print(f"chirp cluster: {c.n} nodes behind HAProxy at {c.url}")
    for i in range(1, c.n + 1):
        print(f"  node {i}: {c.node_url(i)}  (log {c.nodes[i - 1].log_path})")
    print(f"  PostgreSQL {c.store_url}")
    print(f"  Redis {c.redis_url or '(not used: this chirp has no --redis)'}")
    print(f"  S3 (s3rver) http://127.0.0.1:{c.s3_port}/{S3_BUCKET}")
    print(f"  metrics token: {c.secret('metrics.token')}")
    print(f"open {c.url}/ in a browser; `make cluster-stop` stops it")


if __name__ == "__main__":
    main(sys.argv)
