"""A throwaway PostgreSQL 15 server for chirp's tests and benchmarks.

Debian's binaries (postgresql-15), a fresh cluster in a temporary directory,
listening on a free loopback port with its socket in that directory. initdb
refuses to run as root, so as root the server runs as the `postgres` user
(runuser); as anyone else it runs as that user. Authentication is `trust`
on loopback only: the cluster lives as long as the test run.

Library use:   srv = PgServer(); srv.start(); srv.url("dbname"); srv.stop()
Replication:   replica = PgServer(); replica.clone_from(primary); replica.start()
               (a streaming standby of a running primary); replica.promote()
Command line:  pgserver.py start DIR   prints the server's base URL
               pgserver.py stop DIR
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("CHIRP_PG_BIN", "/usr/lib/postgresql/15/bin")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, base=None, port=None):
        self.owned_base = base is None
        self.base = base or tempfile.mkdtemp(prefix="chirp-pg-")
        self.datadir = os.path.join(self.base, "data")
        self.port = port
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, argv, **kw):
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, check=True, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, **kw)

    def _make_base(self):
        os.makedirs(self.base, exist_ok=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
        os.chmod(self.base, 0o700)

    def init(self):
        """Creates the cluster (once)."""
        if os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            return
        self._make_base()
        self._run([f"{PG_BIN}/initdb", "-D", self.datadir, "-A", "trust",
                   "-U", self.user, "-E", "UTF8", "--locale=C", "--no-sync"])

    def start(self, extra_conf=()):
        self.init()
        if self.port is None:
            self.port = _free_port()
        opts = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.base} "
                f"-c max_connections=300 -c shared_buffers=64MB "
                f"-c log_min_messages=warning")
        for c in extra_conf:
            opts += f" -c {c}"
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-w", "-t", "60",
                   "-l", os.path.join(self.base, "server.log"), "-o", opts,
                   "start"])
        return self

    def pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def url(self, dbname="postgres"):
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql, dbname="postgres", sep="|", timeout=60):
        """Runs sql through psql; returns its output (unaligned, no headers,
        fields separated by sep). Raises subprocess.TimeoutExpired rather
        than wait forever (a commit waiting for a synchronous standby that
        is not there never returns)."""
        out = subprocess.run([f"{PG_BIN}/psql", "-X", "-q", "-A", "-t",
                              "-F", sep, "-v", "ON_ERROR_STOP=1",
                              "-d", self.url(dbname),
                              "-c", sql], check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=timeout)
        return out.stdout.strip()

    def dump(self, dbname):
        """pg_dump --data-only of dbname, as bytes (bytea comes out in hex)."""
        return subprocess.run([f"{PG_BIN}/pg_dump", "--data-only", "-d",
                               self.url(dbname)], check=True,
                              stdout=subprocess.PIPE).stdout

    def create_db(self, name):
        """Creates database `name` if it does not exist; returns its URL."""
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def clone_from(self, primary, app_name="replica1"):
        """Makes this cluster a streaming standby of the running `primary`:
        pg_basebackup of its whole cluster (WAL streamed alongside), with
        standby.signal and a primary_conninfo naming this standby
        `app_name` (what the primary's synchronous_standby_names lists).
        The primary must allow replication connections (initdb's default
        pg_hba.conf does on loopback). Call start() next."""
        self._make_base()
        self._run([f"{PG_BIN}/pg_basebackup", "-D", self.datadir,
                   "-h", "127.0.0.1", "-p", str(primary.port), "-U", primary.user,
                   "-X", "stream", "-c", "fast", "--no-sync"])
        conninfo = (f"host=127.0.0.1 port={primary.port} user={primary.user} "
                    f"application_name={app_name}")
        self._run(["sh", "-c", f"touch '{self.datadir}/standby.signal' && "
                   f"echo \"primary_conninfo = '{conninfo}'\" "
                   f">> '{self.datadir}/postgresql.auto.conf'"])
        return self

    def promote(self):
        """Promotes a standby to primary and waits until it accepts writes."""
        self._run([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-w", "-t", "60",
                   "promote"])

    def stop(self, mode="fast"):
        if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            try:
                self._run([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-w",
                           "-m", mode, "stop"])
            except subprocess.CalledProcessError:
                pid = self.pid()
                if pid:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass  # killed before (kill9): a stale pid file

    def pids(self):
        """The postmaster and every process it has started (backends, WAL
        writer, checkpointer...); [] when it is not running."""
        pid = self.pid()
        if not pid:
            return []
        pids = [pid]
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return pids

    def kill9(self):
        """SIGKILL to the postmaster and every process it started at once,
        as a machine that dies stops them: no backend finishes anything."""
        pids = self.pids()
        if not pids:
            return
        pid = pids[0]
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)

    def cleanup(self):
        self.stop("immediate")
        if self.owned_base:
            shutil.rmtree(self.base, ignore_errors=True)


def main(argv):
    if len(argv) != 3 or argv[1] not in ("start", "stop"):
        sys.exit("usage: pgserver.py start|stop DIR")
    base = os.path.abspath(argv[2])
    port_file = os.path.join(base, "port")
    if argv[1] == "start":
        port = None
        if os.path.exists(port_file):  # a restart keeps its port
            with open(port_file) as f:
                port = int(f.read())
        srv = PgServer(base, port)
        srv.start()
        with open(port_file, "w") as f:
            f.write(str(srv.port))
        print(srv.url())
    else:
        try:
            with open(port_file) as f:
                port = int(f.read())
        except OSError:
            return
        PgServer(base, port).stop()


if __name__ == "__main__":
    main(sys.argv)
