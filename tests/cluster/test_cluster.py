"""Three chirp nodes behind HAProxy, on one PostgreSQL, one Redis and one
S3-compatible store (conftest.py, cluster.py): what a user must not notice
when requests land on different nodes, when a node dies, and when Redis
empties or goes away.

Tests that need the Redis adapters (a stream fed by other nodes, a rate
limit shared by all, Redis flushed or stopped) are skipped, saying so, when
the chirp binary has no --redis."""

import secrets
import subprocess
import threading
import time

import pytest

from chirp_client import create_user, eventually, follow, post_tweet
from cluster import Proc, free_port
from conftest import MEDIA_BUDGET, client_for
from test_media import create, jpeg, settled
from test_stream import Stream, tweet_of
from test_media_s3 import absolute_put

WAIT = 10  # seconds any convergence may take, at most


def feed_ids(client, user, limit=100):
    r = client.get(f"/v1/feed?limit={limit}", token=user.token)
    assert r.status == 200, r
    return [t["id"] for t in r.json]


def stream_on(client, user, **kw):
    s = Stream(client, token=user.token, **kw)
    assert s.status == 200, (s.status, getattr(s, "body", b""))
    return s


# ---------------------------------------------------------------- the basics

def test_signup_post_follow_read_through_haproxy(lb, nodes):
    """What a person does through the balancer's URL, each request on
    whichever node HAProxy picks; then every node sees the same."""
    alice, bob = create_user(lb, "alice"), create_user(lb, "bob")
    follow(lb, bob, alice.id)
    t = post_tweet(lb, alice, "hello from behind HAProxy")
    eventually(lambda: t["id"] in feed_ids(lb, bob), timeout=WAIT, what="the tweet in bob's feed")
    for n in nodes:
        assert n.get(f"/v1/tweets/{t['id']}").json["text"] == "hello from behind HAProxy"
        assert n.get(f"/v1/users/{alice.id}").json["followers_count"] == 1


def test_a_second_node_with_the_same_node_id_refuses_to_start(cluster):
    """Two writers with one node id would make the same tweet ids."""
    argv = cluster.node_argv(1, port=free_port(), node_id=2)
    argv[argv.index("--data") + 1] = str(cluster.dir / "node-dup")
    p = Proc(cluster, "chirp-dup", argv, env=cluster.NODE_ENV).start()
    try:
        rc = p.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill9()
        pytest.fail("a second node with --node-id 2 kept running:\n" + p.log_tail())
    assert rc != 0
    assert "node id 2 is in use" in p.log_tail(), p.log_tail()


def test_the_same_idempotency_key_sent_to_two_nodes_at_once_makes_one_tweet(lb, nodes):
    u = create_user(lb)
    key = "dup-" + secrets.token_hex(8)
    results = [None, None]
    go = threading.Barrier(2)

    def send(i):
        go.wait()
        results[i] = nodes[i].post("/v1/tweets", {"text": "once " + key}, token=u.token,
                                   headers={"Idempotency-Key": key})

    threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [r.status for r in results] == [201, 201], results
    assert results[0].json["id"] == results[1].json["id"]
    # and the third, later, on node 3: a replay too
    r = nodes[2].post("/v1/tweets", {"text": "once " + key}, token=u.token,
                      headers={"Idempotency-Key": key})
    assert r.status == 201 and r.header("Idempotent-Replayed") == "true", r
    assert r.json["id"] == results[0].json["id"]
    mine = nodes[2].get(f"/v1/users/{u.id}/tweets").json
    assert [t["id"] for t in mine] == [results[0].json["id"]]


def test_search_on_node_3_finds_a_tweet_posted_on_node_1_within_a_second(nodes):
    u = create_user(nodes[0])
    word = "clusterword" + secrets.token_hex(4)
    t = post_tweet(nodes[0], u, f"looking for {word} everywhere")
    start = time.monotonic()

    def found():
        r = nodes[2].get(f"/v1/search/tweets?q={word}")
        assert r.status == 200, r
        return t["id"] in [x["id"] for x in r.json]

    eventually(found, timeout=5, interval=0.05, what="the tweet found on node 3")
    assert time.monotonic() - start <= 1.0, f"found after {time.monotonic() - start:.2f}s"


# ---------------------------------------------------------------- media

def test_media_uploaded_through_one_node_completed_through_another(cluster, nodes):
    """Created on node 1, its bytes PUT to the bucket, completed on node 2,
    processed by whichever node's worker claims the job, read on node 3;
    the signed URL one node made is accepted by every node (one
    --blob-secret-file)."""
    u = create_user(nodes[0])
    data = jpeg(640, 480)
    m = create(nodes[0], u, data)
    assert absolute_put(nodes[0], m["upload"]["url"], data).status == 200
    r = nodes[1].post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert r.status == 202, r
    md = settled(nodes[2], u, m["id"])
    assert md["status"] == "ready" and (md["width"], md["height"]) == (640, 480), md
    for n in nodes:
        r = n.get(md["url"])
        assert r.status == 302, (n.address, r)
        assert r.header("Location").startswith(f"http://127.0.0.1:{cluster.s3_port}/")
    # a forged signature is refused by every node alike
    forged = md["url"][:-4] + ("0000" if not md["url"].endswith("0000") else "1111")
    for n in nodes:
        assert n.get(forged).status in (403, 404), n.address


# ---------------------------------------------------------------- a node dies

def test_kill_9_one_node_under_write_load(cluster, lb, nodes):
    """Writers post through HAProxy (each post with an Idempotency-Key, as
    a client that retries must); node 2 is killed -9 in the middle. Only
    the requests in flight on it may fail, and their retry (same key)
    succeeds; afterwards every acknowledged tweet is on every node, and in
    the followers' feeds (its fanout finished by the others)."""
    author = create_user(lb, "author")
    readers = [create_user(lb, "reader") for _ in range(3)]
    for r in readers:
        follow(lb, r, author.id)
    acked, failed, lock = {}, [], threading.Lock()
    stop = threading.Event()
    writers = 4

    def write(w):
        c = client_for(cluster.url)
        i = 0
        while not stop.is_set():
            key = f"w{w}-{i}-{secrets.token_hex(4)}"
            body = {"text": f"load {w}.{i}"}
            try:
                r = c.post("/v1/tweets", body, token=author.token, timeout=10,
                           headers={"Idempotency-Key": key})
                status = r.status
            except OSError as e:
                status = repr(e)
            with lock:
                if status == 201:
                    acked[key] = r.json["id"]
                else:
                    failed.append((key, body, status))
            i += 1

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    time.sleep(1.5)
    cluster.nodes[1].kill9()
    time.sleep(2.5)
    stop.set()
    for th in threads:
        th.join()
    assert len(acked) > 20, f"too little load: {len(acked)} tweets"
    # at most one request in flight per writer when the node died
    assert len(failed) <= writers, failed
    for key, body, _status in failed:  # a client's retry: at most once
        r = lb.post("/v1/tweets", body, token=author.token, headers={"Idempotency-Key": key})
        assert r.status == 201, r
        acked[key] = r.json["id"]

    cluster.start_node(2)
    want = set(acked.values())
    assert len(want) == len(acked), "a key acknowledged twice with two ids"
    for n in nodes:
        for tid in want:
            assert n.get(f"/v1/tweets/{tid}").status == 200, (n.address, tid)
        profile = n.get(f"/v1/users/{author.id}").json
        assert profile["tweets_count"] == len(want), profile
    for n in nodes:
        for r in readers:
            eventually(lambda: want <= set(feed_ids(n, r, 100)) if len(want) <= 100
                       else True, timeout=WAIT, what=f"every tweet in a feed on {n.address}")


# ---------------------------------------------------------------- Redis

def test_rate_limit_is_shared_by_every_node(needs_redis, nodes):
    """media=10/hour per user: 30 requests spread over three nodes, 10 pass."""
    u = create_user(nodes[0])
    statuses = []
    for i in range(30):
        r = nodes[i % 3].post("/v1/media", {"content_type": "image/jpeg", "size": 1000},
                              token=u.token)
        statuses.append(r.status)
    assert statuses.count(201) == MEDIA_BUDGET, statuses
    assert statuses.count(429) == 30 - MEDIA_BUDGET, statuses


def test_a_stream_on_node_1_gets_tweets_posted_on_nodes_2_and_3_once(needs_redis, nodes):
    reader, a, b = create_user(nodes[0]), create_user(nodes[1]), create_user(nodes[2])
    follow(nodes[0], reader, a.id)
    follow(nodes[0], reader, b.id)
    s = stream_on(nodes[0], reader)
    try:
        posted = [post_tweet(nodes[1], a, "from node 2"), post_tweet(nodes[2], b, "from node 3"),
                  post_tweet(nodes[1], a, "node 2 again")]
        events = [s.next_tweet() for _ in posted]
        got = [tweet_of(ev, late_ok=True)["id"] for ev in events]
        assert sorted(got) == sorted(t["id"] for t in posted), got
        # nothing more: each exactly once (heartbeats are 1 s apart)
        with pytest.raises(AssertionError, match="no event"):
            s.next_tweet(timeout=2)
    finally:
        s.close()
    # The last id: line is where a reconnect resumes, whatever order the
    # tweets came in: it replays none of them again.
    s = stream_on(nodes[2], reader, headers={"Last-Event-ID": events[-1]["id"]})
    try:
        t4 = post_tweet(nodes[0], b, "after the reconnect")
        assert tweet_of(s.next_tweet())["id"] == t4["id"]
    finally:
        s.close()


# The catch-up's bound is the cluster's watermark (docs/architecture.md,
# "Replay across nodes"): node 3 never fanned these tweets out itself.
def test_reconnecting_to_node_3_with_last_event_id_has_no_gap_no_duplicate(needs_redis, nodes):
    reader, friend = create_user(nodes[0]), create_user(nodes[1])
    follow(nodes[0], reader, friend.id)
    s = stream_on(nodes[0], reader)
    t1 = post_tweet(nodes[1], friend, "seen live on node 1")
    last = s.next_tweet()["id"]
    assert last == t1["id"]
    s.close()
    missed = [post_tweet(nodes[1], friend, f"missed {i}") for i in range(3)]
    s = stream_on(nodes[2], reader, headers={"Last-Event-ID": last})
    try:
        assert [tweet_of(s.next_tweet())["id"] for _ in missed] == [t["id"] for t in missed]
        t5 = post_tweet(nodes[0], friend, "live again, on node 3's stream")
        assert tweet_of(s.next_tweet())["id"] == t5["id"]
    finally:
        s.close()


def test_the_streams_per_user_cap_counts_every_node(needs_redis, nodes):
    """--max-streams-per-user (5 by default) is the user's across the
    cluster: 2 streams on node 1, 2 on node 2 and 1 on node 3 fill it, and
    a sixth is refused on every node; a stream that closes frees its slot
    for any node."""
    u = create_user(nodes[0])
    held = [stream_on(nodes[i], u) for i in (0, 0, 1, 1, 2)]
    try:
        for n in nodes:
            r = Stream(n, token=u.token)
            assert r.status == 429, (n.address, r.status)
            assert r.json["code"] == "too_many_streams"
        held.pop(0).close()  # node 1 notices at its next heartbeat

        def another_opens_on_node_3():
            s = Stream(nodes[2], token=u.token)
            if s.status != 200:
                return False
            held.append(s)
            return True
        eventually(another_opens_on_node_3, timeout=WAIT, what="the freed slot taken on node 3")
        r = Stream(nodes[1], token=u.token)
        assert r.status == 429, r.status  # full again
    finally:
        for s in held:
            s.close()


def test_with_redis_stopped_the_streams_cap_is_each_nodes_own(needs_redis, cluster, nodes):
    """The documented fallback: the cluster's count unknown, a stream opens
    within its node's own cap (neither every stream refused for Redis's
    fault, nor no cap at all)."""
    u = create_user(nodes[0])
    held = []
    cluster.redis.stop()
    try:
        held += [stream_on(nodes[0], u) for _ in range(5)]
        held += [stream_on(nodes[1], u) for _ in range(5)]
        r = Stream(nodes[0], token=u.token)
        assert r.status == 429, r.status
        assert r.json["code"] == "too_many_streams"
    finally:
        for s in held:
            s.close()
        cluster.start_redis()


def _users_with_feeds(lb, n_readers=3, n_tweets=5):
    author = create_user(lb)
    readers = [create_user(lb) for _ in range(n_readers)]
    for r in readers:
        follow(lb, r, author.id)
    tweets = [post_tweet(lb, author, f"feed {i}") for i in range(n_tweets)]
    want = [t["id"] for t in reversed(tweets)]
    for r in readers:
        eventually(lambda: feed_ids(lb, r)[:n_tweets] == want, timeout=WAIT,
                   what="the feed filled")
    return author, readers, want


def test_flushall_leaves_every_feed_identical(needs_redis, cluster, lb, nodes):
    _author, readers, _want = _users_with_feeds(lb)
    before = {r.id: [feed_ids(n, r) for n in nodes] for r in readers}
    assert cluster.redis_cli("FLUSHALL") == "OK"
    after = {r.id: [feed_ids(n, r) for n in nodes] for r in readers}
    assert after == before
    for feeds in after.values():
        assert feeds[0] == feeds[1] == feeds[2]


def test_redis_stopped_feeds_still_served_and_correct(needs_redis, cluster, lb, nodes):
    author, readers, want = _users_with_feeds(lb)
    before = {r.id: feed_ids(lb, r) for r in readers}
    cluster.redis.stop()
    try:
        for n in nodes:
            for r in readers:
                assert feed_ids(n, r) == before[r.id]
        # a post while Redis is down is acknowledged and in the feeds too
        t = post_tweet(lb, author, "while redis is down")
        for n in nodes:
            for r in readers:
                eventually(lambda: feed_ids(n, r)[:1] == [t["id"]], timeout=WAIT,
                           what="the new tweet in a feed without Redis")
    finally:
        cluster.start_redis()
    for n in nodes:
        for r in readers:
            eventually(lambda: feed_ids(n, r)[:len(want) + 1] == [t["id"]] + want,
                       timeout=WAIT, what="the feed after Redis came back")


# ---------------------------------------------------------------- shared secrets

def test_metrics_token_is_the_same_on_every_node(cluster, nodes):
    for n in nodes:
        r = n.get("/metrics", headers={"Authorization": f"Bearer {cluster.metrics_token}"})
        assert r.status == 200, (n.address, r)


def test_client_ip_comes_from_haproxy_x_forwarded_for(cluster, lb):
    """--trust-proxy 127.0.0.1: the address HAProxy appends is the client's.
    Here the client is on loopback too, so a header it sent before is the
    right-most untrusted entry: the access log shows it."""
    mark = "198.51.100." + str(secrets.randbelow(250) + 1)
    path = f"/v1/users/{secrets.randbelow(10**6) + 1}"
    assert lb.get(path, headers={"X-Forwarded-For": mark}).status == 404

    def logged():
        return any(f'"ip":"{mark}"' in p.log_path.read_text(errors="replace")
                   for p in cluster.nodes)
    eventually(logged, timeout=5, what="the forwarded address in a node's access log")
