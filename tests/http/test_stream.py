"""GET /v1/feed/stream: the live feed as Server-Sent Events (docs/streaming.md).

What a user of the stream would notice: a tweet that enters their feed
arrives as an event (celebrities' too), a delete follows it, a reconnect with
Last-Event-ID gets what was missed without a gap or a duplicate, comment
lines keep an idle stream alive, a reader that stops reading is cut off
instead of growing the server's memory, the caps answer 429 and 503, and
shutdown ends every stream.

Streams run on private servers with small settings (heartbeat, buffer,
caps, celebrity threshold) so that each path is taken in a few seconds.
Waiting uses generous timeouts; no assertion depends on how fast anything
is.
"""
import http.client
import json
import os
import queue
import socket
import threading
import time

import pytest

from chirp_client import (CONVERGE_TIMEOUT, ON_CLUSTER, REQUEST_TIMEOUT, ServerProc,
                          assert_error, assert_tweet_shape, create_user, eventually, follow,
                          new_token, post_tweet, start_server)
from metrics_scrape import get_metrics

WAIT = CONVERGE_TIMEOUT  # how long an event may take to arrive, at most
THRESHOLD = 2            # --celebrity-threshold on the private server


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Heartbeat every second, a celebrity past 2 followers."""
    tmp = tmp_path_factory.mktemp("stream")
    srv = start_server(tmp, "stream", "--stream-heartbeat", "1",
                       "--celebrity-threshold", str(THRESHOLD))
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def api(server):
    return server.live_client()


# ------------------------------------------------------------------ client

class Stream:
    """One SSE connection. Events are parsed by a reader thread into a
    queue (unless `read` is False: a reader that never reads)."""

    def __init__(self, api, token=None, query="", headers=None, rcvbuf=None,
                 read=True):
        host, port = api.address
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(REQUEST_TIMEOUT)
        sock.connect((host, port))
        self.sock = sock
        self.conn = http.client.HTTPConnection(host, port, timeout=REQUEST_TIMEOUT)
        self.conn.sock = sock
        self.conn.putrequest("GET", "/v1/feed/stream" + query,
                             skip_accept_encoding=True)
        self.conn.putheader("Accept", "text/event-stream")
        if token is not None:
            self.conn.putheader("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            self.conn.putheader(k, v)
        self.conn.endheaders()
        self.events = queue.Queue()
        self.ended = threading.Event()  # the body ended cleanly
        self.resp = None
        if not read:
            return  # headers and body stay unread in the socket
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        if self.status != 200:
            self.body = self.resp.read()
            self.close()
            return
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.resp.getheader(name)

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self.resp.read1(65536)
                if not chunk:
                    self.ended.set()
                    return
                buf += chunk
                while b"\n\n" in buf:
                    block, buf = buf.split(b"\n\n", 1)
                    self.events.put(parse_event(block.decode("utf-8")))
        except (OSError, http.client.HTTPException, ValueError):
            self.events.put({"error": True})

    def next(self, timeout=WAIT, comments=False):
        """The next event (a dict of its fields); comment-only blocks are
        skipped unless `comments`."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event within {timeout}s")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                raise AssertionError(f"no event within {timeout}s") from None
            assert "error" not in ev, "the stream broke"
            if comments or "comment" not in ev or len(ev) > 1:
                return ev

    def next_tweet(self, **kw):
        ev = self.next(**kw)
        assert ev.get("event") == "tweet", ev
        return ev

    def close(self):
        # shutdown first: the response object holds the socket open too.
        for step in (lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close):
            try:
                step()
            except OSError:
                pass


def parse_event(block):
    """One SSE block into {"event", "id", "data", "comment"} (those present)."""
    ev = {}
    for line in block.split("\n"):
        if line.startswith(":"):
            ev.setdefault("comment", []).append(line[1:].strip())
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data" and "data" in ev:
            ev["data"] += "\n" + value
        else:
            ev[name] = value
    return ev


def tweet_of(ev, late_ok=False):
    """The tweet of a `tweet` event. Its `id:` is where a reconnect
    resumes: the tweet's own id, or, for a tweet that came late (two nodes
    published out of id order, `late_ok`), the larger one already sent."""
    t = json.loads(ev["data"])
    assert_tweet_shape(t)
    if late_ok:
        assert int(ev["id"]) >= int(t["id"]), ev
    else:
        assert ev["id"] == t["id"], ev
    return t


def metric(api, name):
    r = get_metrics(api)
    assert r.status == 200, r
    for line in r.body.decode().splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    raise AssertionError(f"{name} not in /metrics")


def read_to_close(sock):
    sock.settimeout(REQUEST_TIMEOUT)
    try:
        while sock.recv(65536):
            pass
        return "eof"
    except ConnectionResetError:
        return "reset"


def stream(api, user, **kw):
    s = Stream(api, token=user.token, **kw)
    assert s.status == 200, (s.status, getattr(s, "body", b""))
    return s


# ------------------------------------------------------------- authentication

def test_stream_needs_a_valid_token_before_it_starts(api):
    u = create_user(api)
    for kw in ({}, {"token": "x" * 43}, {"query": "?access_token=" + "y" * 43},
               {"headers": {"Authorization": "Basic Zm9vOmJhcg=="}}):
        s = Stream(api, **kw)
        assert s.status == 401, kw
        assert json.loads(s.body)["code"] == "unauthorized"
        assert s.header("Content-Type").startswith("application/json")
    # A revoked token is no token.
    old = create_user(api)
    assert api.delete("/v1/sessions/current", token=old.token).status == 204
    assert Stream(api, token=old.token).status == 401
    # The header, or the query parameter an EventSource uses.
    s = stream(api, u)
    assert s.header("Content-Type").startswith("text/event-stream")
    assert s.header("Cache-Control") == "no-store"
    s.close()
    s = Stream(api, query=f"?access_token={u.token}")
    assert s.status == 200
    s.close()
    # The query token stands in for a missing header, not for a bad one.
    s = Stream(api, token="x" * 43, query=f"?access_token={u.token}")
    assert s.status == 401


def test_logging_out_ends_that_tokens_streams_at_once(api):
    """DELETE /v1/sessions/current ends every stream opened with that token
    (a stolen token's stream must not outlive its revocation); a stream of
    the same user on another session stays open and keeps delivering."""
    u, friend = create_user(api), create_user(api)
    other_token = new_token(api, u)
    follow(api, u, friend.id, expect=(201,))
    revoked = stream(api, u)
    by_query = Stream(api, query=f"?access_token={u.token}")
    assert by_query.status == 200
    kept = Stream(api, token=other_token)
    assert kept.status == 200
    t = post_tweet(api, friend)
    for s in (revoked, by_query, kept):
        assert tweet_of(s.next_tweet()) == t
    assert api.delete("/v1/sessions/current", token=u.token).status == 204
    for s in (revoked, by_query):
        assert s.ended.wait(WAIT), "the stream of a revoked token is still open"
    later = post_tweet(api, friend)
    assert tweet_of(kept.next_tweet()) == later
    assert not kept.ended.is_set()
    for s in (revoked, by_query):
        while not s.events.empty():  # heartbeats may have come before the end
            ev = s.events.get()
            assert ev.get("event") != "tweet", ev
    # and the revoked token cannot open a new one
    assert Stream(api, token=u.token).status == 401
    for s in (revoked, by_query, kept):
        s.close()


def test_bad_last_event_id_is_a_400_and_an_empty_one_is_none(api):
    u = create_user(api)
    for bad in ("abc", "-1", "0", "1.5", "99999999999999999999999"):
        s = Stream(api, token=u.token, headers={"Last-Event-ID": bad})
        assert s.status == 400, bad
        assert s.json["code"] == "invalid_last_event_id"
        s = Stream(api, token=u.token, query=f"?last_event_id={bad}")
        assert s.status == 400, bad
    s = Stream(api, token=u.token, headers={"Last-Event-ID": ""})
    assert s.status == 200
    s.close()


# ------------------------------------------------------------------- events

def test_tweet_event_after_a_post(api):
    reader, friend, stranger = (create_user(api) for _ in range(3))
    follow(api, reader, friend.id, expect=(201,))
    s = stream(api, reader)
    noise = post_tweet(api, stranger, "not followed")
    t = post_tweet(api, friend, "hello, stream")
    ev = s.next_tweet()
    # The stranger's tweet never comes: the first event is the friend's.
    assert tweet_of(ev) == t
    assert ev["id"] != noise["id"]
    mine = post_tweet(api, reader, "my own")
    assert tweet_of(s.next_tweet()) == mine
    s.close()


def test_one_post_reaches_every_stream_once_and_each_reader_filters_it(api):
    """Streams that take the same post at once (several per reader, spread
    over the server's loops) share one read of its JSON and one framing of
    its event: each still gets it exactly once, with its own id line, a
    reader who muted the author does not, and a delete reaches them all
    before the next post, which is read and framed afresh."""
    author, other = create_user(api), create_user(api)
    readers = [create_user(api) for _ in range(3)]
    muting = create_user(api)
    for r in readers + [muting]:
        follow(api, r, author.id)
        follow(api, r, other.id)
    assert api.post(f"/v1/users/{author.id}/mutes", token=muting.token).status == 201
    streams = [stream(api, r) for r in readers for _ in range(2)]
    quiet = stream(api, muting)
    t = post_tweet(api, author, "to everyone at once")
    for s in streams:
        ev = s.next_tweet()
        assert tweet_of(ev) == t and ev["id"] == t["id"]
    assert api.delete(f"/v1/tweets/{t['id']}", token=author.token).status == 204
    for s in streams:
        ev = s.next()
        assert (ev["event"], json.loads(ev["data"])) == ("delete", {"id": t["id"]})
    u = post_tweet(api, other, "the next one")
    for s in streams:
        ev = s.next_tweet()
        assert tweet_of(ev) == u and ev["id"] == u["id"]  # nothing repeated in between
    # The muted author's tweet never reached the reader who muted them
    # (its delete may: deletes are not filtered).
    ev = quiet.next()
    if ev.get("event") == "delete":
        ev = quiet.next()
    assert tweet_of(ev) == u
    for s in streams + [quiet]:
        s.close()


@pytest.mark.skipif(ON_CLUSTER, reason="counts one process's bus messages")
def test_a_post_is_one_bus_message_per_loop_whatever_its_streams(tmp_path):
    """A loop listens once to each feed or author channel its streams need:
    a post reaches five tabs of one reader, or four streams of two
    celebrity followers, through one message from the bus (one loop here),
    and each stream still gets it once."""
    os.makedirs(tmp_path / "d")
    srv = ServerProc(tmp_path / "d", tmp_path / "perloop.log", threads=1,
                     extra_args=["--celebrity-threshold", str(THRESHOLD)])
    srv.start()
    try:
        api = srv.client()
        friend, star = create_user(api), create_user(api, prefix="star")
        reader = create_user(api)
        follow(api, reader, friend.id)
        fans = [create_user(api) for _ in range(THRESHOLD + 1)]
        for f in fans:
            follow(api, f, star.id)  # the last is past the threshold
        tabs = [stream(api, reader) for _ in range(5)]
        fan_streams = [stream(api, f) for f in fans[:2] for _ in range(2)]
        eventually(lambda: metric(api, "chirp_streams_open") == 9, what="9 streams open")

        def counts():
            return (metric(api, "chirp_stream_bus_messages_total"),
                    metric(api, "chirp_stream_events_total"))

        for author, to in ((friend, tabs), (star, fan_streams)):
            bus, events = counts()
            t = post_tweet(api, author, "one message for all of them")
            for s in to:
                assert tweet_of(s.next_tweet()) == t
            assert counts() == (bus + 1, events + len(to))

        # A tab closes (five is the most per reader) and another opens: the
        # channel stays heard throughout, and the new tab is in it.
        tabs[0].close()
        eventually(lambda: metric(api, "chirp_streams_open") == 8, what="a tab closed")
        tabs[0] = stream(api, reader)
        bus, events = counts()
        t = post_tweet(api, friend, "after a new tab")
        for s in tabs:
            assert tweet_of(s.next_tweet()) == t
        assert counts() == (bus + 1, events + 5)
        for s in tabs + fan_streams:
            s.close()
        assert srv.stop() == 0, srv.log_tail()
    finally:
        if srv.alive():
            srv.kill9()


def test_celebrity_tweets_arrive_and_so_does_a_new_celebrity(api):
    reader = create_user(api)
    star = create_user(api, prefix="star")
    for _ in range(THRESHOLD):  # the reader is follower number THRESHOLD + 1
        follow(api, create_user(api), star.id)
    follow(api, reader, star.id)  # past the threshold: not fanned out now
    s = stream(api, reader)
    t = post_tweet(api, star, "to all my fans")
    assert tweet_of(s.next_tweet()) == t

    # Someone the reader already follows becomes a celebrity while the
    # stream is open: their tweets keep coming.
    rising = create_user(api, prefix="rising")
    follow(api, reader, rising.id)
    before = post_tweet(api, rising, "still small")
    assert tweet_of(s.next_tweet()) == before
    for _ in range(THRESHOLD):
        follow(api, create_user(api), rising.id)
    after = post_tweet(api, rising, "now famous")
    assert tweet_of(s.next_tweet()) == after
    s.close()


def test_delete_event_follows_the_tweet(api):
    reader, friend = create_user(api), create_user(api)
    follow(api, reader, friend.id)
    s = stream(api, reader)
    t = post_tweet(api, friend)
    assert tweet_of(s.next_tweet()) == t
    assert api.delete(f"/v1/tweets/{t['id']}", token=friend.token).status == 204
    ev = s.next()
    assert ev["event"] == "delete"
    assert json.loads(ev["data"]) == {"id": t["id"]}
    assert "id" not in ev  # must not move the client's Last-Event-ID back
    # A celebrity's delete travels the author channel.
    star = create_user(api, prefix="star")
    for _ in range(THRESHOLD):
        follow(api, create_user(api), star.id)
    follow(api, reader, star.id)
    ct = post_tweet(api, star)
    assert tweet_of(s.next_tweet()) == ct
    assert api.delete(f"/v1/tweets/{ct['id']}", token=star.token).status == 204
    ev = s.next()
    assert (ev["event"], json.loads(ev["data"])) == ("delete", {"id": ct["id"]})
    s.close()


def test_heartbeat_comments_keep_an_idle_stream_alive(api):
    u = create_user(api)
    s = stream(api, u)
    seen = []
    while len(seen) < 3:  # ": connected", then heartbeats (every 1 s here)
        ev = s.next(comments=True)
        assert set(ev) == {"comment"}, ev
        seen += ev["comment"]
    assert seen[0] == "connected"
    assert "keep-alive" in seen[1:]
    s.close()


# ------------------------------------------------------------------ replay

def test_replay_after_a_reconnect_has_no_gap_and_no_duplicate(api):
    reader, friend = create_user(api), create_user(api)
    follow(api, reader, friend.id)
    s = stream(api, reader)
    t1 = post_tweet(api, friend, "seen live")
    last = s.next_tweet()["id"]
    assert last == t1["id"]
    s.close()

    # Missed while away: two tweets, one deleted before the reconnect.
    t2 = post_tweet(api, friend, "missed 1")
    gone = post_tweet(api, friend, "missed and deleted")
    t3 = post_tweet(api, reader, "missed 2, my own")
    assert api.delete(f"/v1/tweets/{gone['id']}", token=friend.token).status == 204

    # A delete reaches streams from the fanout thread, a moment after its
    # 204: a stream opened meanwhile may get it, and rightly (its client
    # may have shown the tweet). Only such deletes may come between tweets.
    deleted = {gone["id"]}

    def next_tweet(s):
        while True:
            ev = s.next()
            if ev.get("event") == "delete" and json.loads(ev["data"])["id"] in deleted:
                continue
            assert ev.get("event") == "tweet", ev
            return ev

    for how in ({"headers": {"Last-Event-ID": last}}, {"query": f"?last_event_id={last}"}):
        s = stream(api, reader, **how)
        assert [tweet_of(next_tweet(s)) for _ in range(2)] == [t2, t3]
        t4 = post_tweet(api, friend, "live again")
        # The next tweet event is the live one: nothing replayed twice.
        assert tweet_of(next_tweet(s)) == t4
        s.close()
        assert api.delete(f"/v1/tweets/{t4['id']}", token=friend.token).status == 204
        deleted.add(t4["id"])


def test_reconnecting_while_tweets_pour_in_loses_and_repeats_nothing(api):
    """A writer posts without pause while the reader drops and reconnects
    with its Last-Event-ID, again and again: the ids it receives are
    exactly the ids posted, in order. On a cluster the posts go through
    different nodes, whose fanouts run side by side: each node's bus holds
    a tweet back until the smaller ones are published, so a client that
    drops after a tweet never resumes past one still on its way
    (docs/architecture.md, "Live order across nodes"). The order is only
    checked as a set there: a bus lets a tweet go after 1 s whatever the
    bound, which a loaded machine may reach."""
    reader, friend = create_user(api), create_user(api)
    follow(api, reader, friend.id)
    total = 60
    posted = []

    def writer():
        for i in range(total):
            posted.append(post_tweet(api, friend, f"burst {i}")["id"])

    got = []
    s = stream(api, reader)
    w = threading.Thread(target=writer)
    w.start()
    last = None
    while len(got) < total:
        ev = s.next_tweet()
        got.append(tweet_of(ev, late_ok=ON_CLUSTER)["id"])
        last = ev["id"]  # where to resume: the largest id sent so far
        if len(got) % 7 == 0:  # drop the connection and come back
            s.close()
            s = stream(api, reader, headers={"Last-Event-ID": last})
    w.join()
    s.close()
    assert (sorted(got) if ON_CLUSTER else got) == (sorted(posted) if ON_CLUSTER else posted)
    assert len(set(got)) == total


def test_a_long_replay_is_paced_by_a_small_buffer_not_cut_off(tmp_path):
    """A replay many times larger than --stream-buffer goes out a piece at
    a time as the client reads: all of it arrives, and the stream is not
    taken for a slow reader."""
    srv = start_server(tmp_path, "paced", "--stream-buffer", "8192")
    try:
        api = srv.client()
        reader, friend = create_user(api), create_user(api)
        follow(api, reader, friend.id)
        first = post_tweet(api, friend, "the last one seen")
        missed = [post_tweet(api, friend, "é" * 280)["id"] for _ in range(60)]
        s = stream(api, reader, headers={"Last-Event-ID": first["id"]})
        assert [s.next_tweet()["id"] for _ in missed] == missed
        assert metric(api, "chirp_streams_cut_slow_total") == 0
        s.close()
        assert srv.stop() == 0, srv.log_tail()
    finally:
        if srv.alive():
            srv.kill9()


# ------------------------------------------------------- resource safety

def test_a_reader_that_stops_reading_is_cut_off(tmp_path):
    srv = start_server(tmp_path, "slow", "--stream-buffer", "8192")
    try:
        api = srv.client()
        reader, friend = create_user(api), create_user(api)
        follow(api, reader, friend.id)
        # Tiny socket buffers, and nothing read: the server's queue for
        # this stream is all that can grow.
        slow = Stream(api, token=reader.token, rcvbuf=4096, read=False)
        eventually(lambda: metric(api, "chirp_streams_open") == 1,
                   what="the slow stream is open")
        healthy = stream(api, reader)
        text = "é" * 280  # about 600 bytes of JSON per event
        sent = []
        for _ in range(2000):
            sent.append(post_tweet(api, friend, text)["id"])
            if len(sent) % 25 == 0 and metric(api, "chirp_streams_cut_slow_total"):
                break
        eventually(lambda: metric(api, "chirp_streams_cut_slow_total") == 1,
                   what="the slow reader is cut off")
        eventually(lambda: metric(api, "chirp_streams_open") == 1,
                   what="only the healthy stream stays")
        # The healthy reader got every tweet, in order.
        assert [healthy.next_tweet()["id"] for _ in sent] == sent
        # The slow one finds its connection closed once it reads (a
        # server that kept it open would make recv time out instead).
        assert read_to_close(slow.sock) in ("eof", "reset")
        healthy.close()
        assert srv.stop() == 0, srv.log_tail()
    finally:
        if srv.alive():
            srv.kill9()


def test_clients_that_leave_mid_replay_free_their_streams(tmp_path):
    """Clients that hang up while their stream opens or replays (with
    --offload-reads, while a read of theirs is on a reader thread): each
    slot is freed, the streams that stay get everything, and the server
    exits cleanly (the sanitizer build checks that no read came back to a
    freed stream)."""
    srv = start_server(tmp_path, "leave", "--stream-buffer", "8192")
    try:
        api = srv.client()
        reader, friend = create_user(api), create_user(api)
        follow(api, reader, friend.id)
        first = post_tweet(api, friend, "the last one seen")
        missed = [post_tweet(api, friend, "é" * 280)["id"] for _ in range(80)]
        resume = {"Last-Event-ID": first["id"]}
        for i in range(12):
            if i % 3 == 0:  # gone before the answer
                Stream(api, token=reader.token, headers=resume, read=False).close()
                continue
            s = stream(api, reader, headers=resume)
            for _ in range(i):  # gone a few events into the replay
                s.next_tweet()
            s.close()
        eventually(lambda: metric(api, "chirp_streams_open") == 0,
                   what="every stream that was left is closed")
        s = stream(api, reader, headers=resume)
        assert [s.next_tweet()["id"] for _ in missed] == missed
        s.close()
        assert srv.stop() == 0, srv.log_tail()
    finally:
        if srv.alive():
            srv.kill9()


def test_caps_per_user_429_and_per_process_503(tmp_path):
    srv = start_server(tmp_path, "caps", "--max-streams-per-user", "2",
                       "--max-streams", "3", "--stream-heartbeat", "1")
    try:
        api = srv.client()
        a, b, c = (create_user(api) for _ in range(3))
        a1, a2 = stream(api, a), stream(api, a)
        r = Stream(api, token=a.token)
        assert r.status == 429
        assert r.json["code"] == "too_many_streams"
        assert r.header("Retry-After")
        b1 = stream(api, b)
        assert metric(api, "chirp_streams_open") == 3
        r = Stream(api, token=c.token)
        assert r.status == 503
        assert r.json["code"] == "unavailable"
        assert r.header("Retry-After")
        assert metric(api, "chirp_streams_refused_user_total") == 1
        assert metric(api, "chirp_streams_refused_server_total") == 1
        # A stream whose client hangs up frees its slot.
        a1.close()
        eventually(lambda: metric(api, "chirp_streams_open") == 2,
                   what="the closed stream is noticed")
        c1 = stream(api, c)
        # The other streams still work.
        t = post_tweet(api, a)
        assert tweet_of(a2.next_tweet()) == t
        for s in (a2, b1, c1):
            s.close()
        assert srv.stop() == 0, srv.log_tail()
    finally:
        if srv.alive():
            srv.kill9()


def test_shutdown_ends_open_streams(tmp_path):
    """SIGTERM with streams open: a reading client sees the response end
    cleanly, one that stopped reading is not waited for, and the server
    exits 0."""
    srv = start_server(tmp_path, "drain", "--stream-buffer", "8192")
    try:
        api = srv.client()
        reader, friend = create_user(api), create_user(api)
        follow(api, reader, friend.id)
        live = stream(api, reader)
        stuck = Stream(api, token=reader.token, rcvbuf=4096, read=False)
        eventually(lambda: metric(api, "chirp_streams_open") == 2,
                   what="both streams are open")
        for _ in range(10):
            post_tweet(api, friend, "é" * 280)
        for _ in range(10):
            live.next_tweet()
        assert srv.stop() == 0, srv.log_tail()
        assert live.ended.wait(WAIT), "the stream did not end cleanly"
        stuck.close()
    finally:
        if srv.alive():
            srv.kill9()


def test_muted_and_blocked_authors_leave_an_open_stream(api):
    """A mute or block while the stream is open reaches it before any later
    tweet (the relations are read again, in the order of the fanout queue);
    the catch-up of a reconnect hides them too."""
    reader, friend, noisy, rude = (create_user(api) for _ in range(4))
    star = create_user(api, prefix="star")
    for _ in range(THRESHOLD):
        follow(api, create_user(api), star.id)
    for u in (friend, noisy, rude, star):
        follow(api, reader, u.id)
    s = stream(api, reader)
    first = post_tweet(api, friend, "before")
    assert tweet_of(s.next_tweet()) == first
    assert api.post(f"/v1/users/{noisy.id}/mutes", token=reader.token).status == 201
    assert api.post(f"/v1/users/{star.id}/mutes", token=reader.token).status == 201
    assert api.post(f"/v1/users/{reader.id}/blocks", token=rude.token).status == 201
    post_tweet(api, noisy, "muted")
    post_tweet(api, star, "muted celebrity")
    post_tweet(api, rude, "the blocker")
    t = post_tweet(api, friend, "after")
    assert tweet_of(s.next_tweet()) == t
    s.close()
    s = stream(api, reader, headers={"Last-Event-ID": first["id"]})
    assert tweet_of(s.next_tweet()) == t  # the catch-up skips them as well
    s.close()
    # Unmuted: they come again.
    assert api.delete(f"/v1/users/{noisy.id}/mutes", token=reader.token).status == 204
    s = stream(api, reader)
    back = post_tweet(api, noisy, "heard again")
    assert tweet_of(s.next_tweet()) == back
    s.close()


def test_notification_events_arrive_as_they_are_made(api):
    """event: notification, the JSON of GET /v1/notifications, for what is
    made after the stream opened; none for muted actors."""
    me, fan, muted = (create_user(api) for _ in range(3))
    follow(api, fan, me.id)  # before the stream: not sent
    t = post_tweet(api, me, "notice me")
    s = stream(api, me)

    def next_event():
        # The fanout of t to me's own feed may reach the bus after the
        # stream opened: its `tweet` event is not what this test is about.
        ev = s.next()
        while ev["event"] == "tweet" and ev.get("id") == t["id"]:
            ev = s.next()
        return ev
    assert api.post(f"/v1/tweets/{t['id']}/likes", token=fan.token).status == 201
    ev = next_event()
    assert ev["event"] == "notification" and "id" not in ev, ev
    n = json.loads(ev["data"])
    assert (n["type"], n["actor"]["id"], n["tweet"]["id"], n["count"]) == \
        ("like", fan.id, t["id"], 1)
    assert api.post(f"/v1/users/{muted.id}/mutes", token=me.token).status == 201
    follow(api, muted, me.id)
    r = api.post("/v1/tweets", {"text": f"@{me.handle} hi", "in_reply_to_id": t["id"]},
                 token=fan.token)
    assert r.status == 201
    ev = next_event()
    assert ev["event"] == "notification", ev
    n = json.loads(ev["data"])
    assert (n["type"], n["tweet"]["id"]) == ("reply", r.json["id"]), n
    listed = api.get("/v1/notifications?limit=1", token=me.token).json[0]
    assert listed == n
    s.close()
