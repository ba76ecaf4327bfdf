"""--offload-reads: store reads leave the event loops for a pool of reader
threads (docs/architecture.md, "A read"). `make http-offload` runs the
request-path tests against such a server; this checks that the flag really
makes the pool, so that run cannot pass on inline reads by mistake."""

import os
import re

import pytest

from chirp_client import ON_POSTGRES, create_user, start_server
from metrics_scrape import get_metrics


def _work_threads(pid):
    names = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names.append(f.read().strip())
    return names.count("chirp-work")


def _moved_off_loop(client):
    text = get_metrics(client).body.decode()
    return int(re.search(r"^chirp_feed_reads_moved_off_loop_total (\d+)$", text, re.M).group(1))


def test_offload_reads_starts_the_reader_pool_and_serves(tmp_path):
    if "--offload-reads" in os.environ.get("CHIRP_SERVE_ARGS", ""):
        return  # both servers would offload: nothing to compare
    if ON_POSTGRES:
        pytest.skip("PostgreSQL reads always leave the loops: the next test checks that")
    inline = start_server(tmp_path, "inline", "--read-threads", "3")
    pooled = start_server(tmp_path, "pooled", "--offload-reads", "--read-threads", "3")
    try:
        # Both have a pool of 3: the flag's for every read, the inline
        # server's for the reads that would hold a loop (a rebuild).
        assert _work_threads(pooled.proc.pid) == _work_threads(inline.proc.pid)
        assert _work_threads(pooled.proc.pid) >= 3
        c = pooled.client()
        u = create_user(c)
        r = c.get(f"/v1/users/by-handle/{u.handle}")
        assert r.status == 200 and r.json["handle"] == u.handle, r
        r = c.get("/v1/feed", token=u.token)
        assert r.status == 200, r
        # A first feed read rebuilds the timeline: the inline server moves
        # it off its loop, the pooled one ran it on the pool already.
        assert _moved_off_loop(c) == 0
        ci = inline.client()
        v = create_user(ci)
        assert ci.get("/v1/feed", token=v.token).status == 200
        assert _moved_off_loop(ci) == 1
    finally:
        inline.stop()
        pooled.stop()


def test_a_networked_store_reads_on_the_pool_without_the_flag(tmp_path):
    """On PostgreSQL (reads_inline false) the reader pool exists with no
    --offload-reads: its size follows --read-threads."""
    if not ON_POSTGRES:
        pytest.skip("SQLite reads inline unless told: the test above checks the flag")
    three = start_server(tmp_path, "three", "--read-threads", "3")
    five = start_server(tmp_path, "five", "--read-threads", "5")
    try:
        assert _work_threads(five.proc.pid) == _work_threads(three.proc.pid) + 2
        c = three.client()
        u = create_user(c)
        r = c.get(f"/v1/users/by-handle/{u.handle}")
        assert r.status == 200 and r.json["handle"] == u.handle, r
    finally:
        three.stop()
        five.stop()
