"""pytest fixtures for the chirp black-box tests.

- chirp_server (session): one `chirp serve` on a free port and a temporary
  data dir, shared by most tests. Tests use random handles, so they do not
  see each other's data. If a test crashes the server, that test fails (with
  the server log) and the next test gets a restarted server.
- api: a Client for the shared server (function scope, checks liveness).
- make_user: factory that signs up and logs in a fresh random user.
- server_factory: start private servers with their own data dir, for
  restart, crash and shutdown tests.

Environment: CHIRP_BIN overrides the binary (default ./chirp at the repo
top); CHIRP_TIMEOUT_FACTOR scales every timeout (e.g. 3 for sanitizers);
CHIRP_WRAPPER is a command every server runs under (e.g. valgrind);
CHIRP_SERVE_ARGS adds flags to every server (e.g. --offload-reads);
CHIRP_TEST_STORE=postgres runs every server on one throwaway PostgreSQL
(chirp_client.py: a database per data dir; `make http-pg`).
"""

import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chirp_client import (ON_CLUSTER, ON_POSTGRES, TRAFFIC, ServerProc,  # noqa: E402
                          chirp_bin, create_user, pg_server_stop, store_adapter_missing)
from traffic_checks import all_problems  # noqa: E402


def _require_binary():
    path = chirp_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chirp binary not found at {path}: run `make` or set "
                    f"CHIRP_BIN", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def test_store(tmp_path_factory):
    """On PostgreSQL: one server for the session, stopped at its end; and
    one clear failure for the whole run when chirp cannot use it, rather
    than the same start-up error in every test."""
    if not ON_POSTGRES:
        yield "sqlite"
        return
    _require_binary()
    missing = store_adapter_missing(tmp_path_factory.mktemp("store-probe"))
    if missing:
        pg_server_stop()
        pytest.exit(missing, returncode=1)
    yield "postgres"
    pg_server_stop()


@pytest.fixture(scope="session", autouse=True)
def traffic_checked():
    """At the end of a session (of each pytest-xdist worker), the checks of
    test_zz_secrets.py over all of its traffic: a worker that did not run
    that file, or ran tests after it, is checked all the same. A problem
    is an error in the session's last test."""
    yield
    problems = all_problems(*TRAFFIC.snapshot())
    assert not problems, "in this session's traffic:\n" + "\n".join(problems[:50])


@pytest.fixture(scope="session")
def chirp_server(tmp_path_factory):
    _require_binary()
    base = tmp_path_factory.mktemp("shared-server")
    (base / "data").mkdir()
    srv = ServerProc(base / "data", base / "server.log")
    srv.start()
    yield srv
    if srv.alive():
        rc = srv.stop()
        assert rc == 0, (f"shared server exited with {rc} on SIGTERM:\n"
                         + srv.log_tail())


@pytest.fixture
def api(chirp_server):
    yield chirp_server.live_client()
    if not chirp_server.alive():
        pytest.fail(f"the server died during this test (exit code "
                    f"{chirp_server.proc.returncode}):\n"
                    + chirp_server.log_tail(), pytrace=False)


@pytest.fixture
def make_user(api):
    def make(prefix="u", **kw):
        return create_user(api, prefix=prefix, **kw)
    return make


@pytest.fixture
def server_factory(tmp_path):
    _require_binary()
    started = []

    def make(data_dir=None, name=None):
        name = name or f"srv{len(started)}"
        data = data_dir or (tmp_path / f"{name}-data")
        os.makedirs(data, exist_ok=True)
        srv = ServerProc(data, tmp_path / f"{name}.log")
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            srv.proc.send_signal(signal.SIGKILL)
            srv.proc.wait()


def pytest_collection_modifyitems(config, items):
    """CHIRP_TEST_STORE=cluster: skip, saying why, the tests about what one
    process owns (cluster_skips.py)."""
    if not ON_CLUSTER:
        return
    from cluster_skips import reason_to_skip
    for item in items:
        why = reason_to_skip(item.nodeid)
        if why:
            item.add_marker(pytest.mark.skip(reason=f"CHIRP_TEST_STORE=cluster: {why}"))
