"""pytest fixtures for the PostgreSQL failure tests (tests/pg/README.md).

- pg_adapter (session): None when this chirp runs on PostgreSQL, else why
  not: found once by starting chirp on a throwaway server and reading its
  error (`--store postgresql://...: unknown` before the adapter exists).
- need_adapter: skips the test, with that reason, when chirp cannot run on
  PostgreSQL; every test here asks for it first.
- pg_cluster: a factory of throwaway PostgreSQL servers (pgserver.py), all
  stopped and removed after the test, however it ended.
"""

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "http"))

from chirp_client import chirp_bin, store_adapter_missing  # noqa: E402
from pgserver import PgServer  # noqa: E402


@pytest.fixture(scope="session")
def pg_adapter(tmp_path_factory):
    path = chirp_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chirp binary not found at {path}: run `make` or set "
                    f"CHIRP_BIN", pytrace=False)
    # Not under tmp_path: pytest's directories are private to root, and the
    # server runs as postgres when we are root.
    pg = PgServer()
    try:
        pg.start()
        return store_adapter_missing(tmp_path_factory.mktemp("probe"),
                                     store=pg.create_db("probe"))
    finally:
        pg.cleanup()


@pytest.fixture
def need_adapter(pg_adapter):
    if pg_adapter:
        pytest.skip(pg_adapter)


@pytest.fixture
def pg_cluster():
    started = []

    def make(extra_conf=(), clone_of=None):
        """A started server; with clone_of, a streaming standby of that
        primary (pg_basebackup, application_name replica1)."""
        srv = PgServer()
        started.append(srv)
        if clone_of is not None:
            srv.clone_from(clone_of)
        srv.start(extra_conf=extra_conf)
        return srv

    yield make
    for srv in started:
        srv.cleanup()
