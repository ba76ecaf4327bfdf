"""Cluster mode (--redis): two chirps on one PostgreSQL database and one
Redis share their state, as nodes behind a load balancer would
(docs/architecture.md, "Cluster mode: Redis").

Each module starts its own redis-server on a free port (so a test can stop
it) and its own PostgreSQL database. Checked through the API only: a tweet
posted on one node is in a follower's feed on the other; a delete through
one node is 404 on the other before its 204 returns; a rate limit of 10
lets exactly 10 of 30 requests through across both nodes; a stream on one
node receives a tweet posted through the other exactly once; with Redis
stopped, live streams end with a retry hint and feeds are still served and
correct, and after Redis comes back empty they are identical.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from chirp_client import (ServerProc, create_user, eventually, free_port, pg_server,
                          post_tweet, store_db_name)
from test_stream import stream, tweet_of


class RedisProc:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="chirp-redis-nodes-")
        self.port = free_port()
        self.proc = None

    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", self.dir,
             "--save", "", "--appendonly", "no", "--logfile", os.path.join(self.dir, "log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                assert time.monotonic() < deadline and self.proc.poll() is None
                time.sleep(0.02)

    def stop(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                              text=True, timeout=10).stdout


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("redis-nodes")
    redis = RedisProc()
    redis.start()
    store = pg_server().create_db(store_db_name(base))
    nodes = []
    try:
        for i in (1, 2):
            data = base / f"node{i}"
            os.makedirs(data)
            n = ServerProc(data, base / f"node{i}.log", rate_limits=True, store=store,
                           extra_args=["--redis", redis.url(), "--node-id", str(i),
                                       "--rate-limit", "post=10/3600",
                                       "--rate-limit", "signup=1000/60",
                                       "--rate-limit", "requests=100000/60"])
            n.start()
            nodes.append(n)
        yield redis, nodes
    finally:
        for n in nodes:
            n.stop()
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)


def follow(api, follower, followee):
    assert api.post(f"/v1/users/{followee.id}/follows", token=follower.token).status == 201


def feed_ids(api, user):
    r = api.get("/v1/feed", token=user.token)
    assert r.status == 200, r.body
    return [t["id"] for t in r.json]


def test_post_on_one_node_is_in_the_feed_on_the_other(cluster):
    _redis, (n1, n2) = cluster
    a, b = n1.client(), n2.client()
    author, reader = create_user(a, "rn"), create_user(b, "rn")
    follow(b, reader, author)
    assert feed_ids(b, reader) == []  # the timeline is built (and held) now
    t = post_tweet(a, author, "through node one")
    # The fanout ran on node 1 before the 201: node 2's read finds it.
    assert feed_ids(b, reader) == [t["id"]]
    assert feed_ids(a, reader) == [t["id"]]


def test_a_delete_on_one_node_is_gone_on_the_other_before_the_204(cluster):
    _redis, (n1, n2) = cluster
    a, b = n1.client(), n2.client()
    author, reader = create_user(a, "rd"), create_user(a, "rd")
    follow(a, reader, author)
    t = post_tweet(a, author, "soon gone")
    assert b.get(f"/v1/tweets/{t['id']}").status == 200  # cached on node 2's side too
    assert feed_ids(b, reader) == [t["id"]]
    assert a.delete(f"/v1/tweets/{t['id']}", token=author.token).status == 204
    assert b.get(f"/v1/tweets/{t['id']}").status == 404
    assert feed_ids(b, reader) == []


def test_a_rate_limit_of_ten_holds_across_both_nodes(cluster):
    _redis, nodes = cluster
    author = create_user(nodes[0].client(), "rl")
    codes = []
    for i in range(30):
        api = nodes[i % 2].client()
        codes.append(api.post("/v1/tweets", {"text": f"n{i}"}, token=author.token).status)
    assert codes.count(201) == 10, codes
    assert codes.count(429) == 20, codes


def test_a_stream_on_one_node_gets_a_tweet_posted_on_the_other_once(cluster):
    _redis, (n1, n2) = cluster
    a, b = n1.client(), n2.client()
    author, reader = create_user(b, "rs"), create_user(a, "rs")
    follow(a, reader, author)
    s = stream(a, reader)
    try:
        # The subscription reaches Redis asynchronously: post until one arrives.
        first = None
        for i in range(50):
            t = post_tweet(b, author, f"live {i}")
            try:
                first = tweet_of(s.next_tweet(timeout=0.2))
                break
            except Exception:
                continue
        assert first is not None
        t = post_tweet(b, author, "exactly once")
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                ev = s.next(timeout=0.5)
            except Exception:
                break
            if ev.get("event") == "tweet":
                seen.append(tweet_of(ev)["id"])
        assert seen.count(t["id"]) == 1, seen
    finally:
        s.close()


def test_feeds_survive_redis_stopping_and_coming_back_empty(cluster):
    redis, (n1, n2) = cluster
    a, b = n1.client(), n2.client()
    author, reader = create_user(a, "rx"), create_user(a, "rx")
    follow(a, reader, author)
    posted = [post_tweet(a, author, f"t{i}")["id"] for i in range(5)]
    want = list(reversed(posted))
    assert feed_ids(b, reader) == want
    live = stream(a, reader)
    redis.stop()
    try:
        # The stream ends with a hint to reconnect (SSE `retry`), cleanly.
        assert live.next(timeout=10) == {"retry": "3000"}
        assert live.ended.wait(10)
        live.close()
        # Slower (the store answers) but correct, on both nodes.
        assert feed_ids(a, reader) == want
        assert feed_ids(b, reader) == want
        assert b.get(f"/v1/tweets/{posted[0]}").status == 200
    finally:
        redis.start()  # back, and empty (no persistence)
    assert redis.cli("dbsize").strip() == "0"
    # Rebuilt from the store on demand, once the breaker lets calls through.
    eventually(lambda: feed_ids(b, reader) == want and redis.cli("dbsize").strip() != "0",
               what="timelines rebuilt in Redis")
    assert feed_ids(a, reader) == want
