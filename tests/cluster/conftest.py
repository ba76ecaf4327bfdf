"""Fixtures of the cluster tests: one cluster (tests/cluster/cluster.py:
PostgreSQL, Redis, s3rver, three chirps, HAProxy, all real, on loopback)
for the whole module run, and clients for HAProxy and for each node.

Rate limits are on, every budget out of the way but `media`, which
test_rate_limit_is_shared_by_every_node counts (10 an hour per user)."""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "http"))

from chirp_client import TEST_HASH_COST, Client  # noqa: E402
from cluster import Cluster, PgServer, chirp_bin  # noqa: E402

MEDIA_BUDGET = 10
BIG = "4000000000/1"
NODE_ARGS = ["--rate-limit", f"signup={BIG}", "--rate-limit", f"login={BIG}",
             "--rate-limit", f"login-handle={BIG}", "--rate-limit", f"post={BIG}",
             "--rate-limit", f"requests={BIG}", "--rate-limit", f"login-backoff={BIG}",
             "--rate-limit", f"media={MEDIA_BUDGET}/3600",
             "--stream-heartbeat", "1", *TEST_HASH_COST]


def client_for(url):
    host, port = url.removeprefix("http://").split(":")
    addr = (host, int(port))
    return Client(lambda: addr)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    if not (os.path.isfile(chirp_bin()) and os.access(chirp_bin(), os.X_OK)):
        pytest.fail(f"chirp binary not found at {chirp_bin()}: run `make`", pytrace=False)
    # PostgreSQL in a directory of its own: pytest's are not traversable
    # by the `postgres` user the server runs as
    pg = PgServer()
    c = Cluster(tmp_path_factory.mktemp("cluster"), nodes=3, node_args=NODE_ARGS, pg=pg)
    try:
        pg.start()
        c.start()
        yield c
    finally:
        c.stop()
        pg.cleanup()


@pytest.fixture
def lb(cluster):
    """A client of HAProxy."""
    return client_for(cluster.url)


@pytest.fixture
def nodes(cluster):
    """Clients of nodes 1..3 (index 0..2), HAProxy bypassed. Restarts a
    node an earlier test left down."""
    for i, p in enumerate(cluster.nodes, 1):
        if not p.alive():
            cluster.start_node(i)
    return [client_for(cluster.node_url(i)) for i in range(1, cluster.n + 1)]


@pytest.fixture
def needs_redis(cluster):
    if not cluster.want_redis:
        pytest.skip(f"{chirp_bin()} has no --redis: the nodes would share only "
                    f"PostgreSQL (the Redis adapters come with the `redis` branch)")
