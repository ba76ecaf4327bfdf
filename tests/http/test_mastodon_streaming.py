"""Mastodon's streaming API (docs/mastodon.md, docs/streaming.md): the
WebSocket at /api/v1/streaming, driven by websocket-client (Debian's
python3-websocket), and the public and hashtag SSE streams. A tweet's
update and delete reach the user, public and hashtag streams in
Mastodon's shape; subscriptions change by message; a bad message is
answered and the connection stays; tokens come in the query, the
header or the subprotocol, and a missing or bad one is a 401 before any
upgrade; a reader that does not read is cut off. With CHIRP_TEST_REDIS
two nodes share Redis and a tweet posted on one reaches a WebSocket on
the other."""

import http.client
import json
import os
import secrets
import socket
import time

import pytest
import websocket

from chirp_client import create_user, eventually, post_tweet

TIMEOUT = 10 * float(os.environ.get("CHIRP_TIMEOUT_FACTOR", "1"))


def ws_url(api, query=""):
    host, port = api.address
    return f"ws://{host}:{port}/api/v1/streaming" + (("?" + query) if query else "")


def connect(api, user, query="", how="header"):
    kw = {"timeout": TIMEOUT}
    if how == "header":
        kw["header"] = ["Authorization: Bearer " + user.token]
    elif how == "protocol":
        kw["subprotocols"] = [user.token]
    else:
        query = (query + "&" if query else "") + "access_token=" + user.token
    return websocket.create_connection(ws_url(api, query), **kw)


def next_event(ws, want=lambda m: True):
    """The next text message that `want` accepts, parsed."""
    deadline = time.time() + TIMEOUT
    while True:
        assert time.time() < deadline, "no matching message"
        op, data = ws.recv_data()
        assert op == websocket.ABNF.OPCODE_TEXT, (op, data)
        m = json.loads(data)
        if want(m):
            return m


def no_event(ws, seconds=0.7):
    ws.settimeout(seconds)
    try:
        op, data = ws.recv_data()
    except websocket.WebSocketTimeoutException:
        return True
    finally:
        ws.settimeout(TIMEOUT)
    raise AssertionError(f"unexpected message {op} {data!r}")


def update_of(m):
    assert m.get("event") == "update", m
    return json.loads(m["payload"])


def subscribe(ws, stream, tag=None, kind="subscribe"):
    msg = {"type": kind, "stream": stream}
    if tag:
        msg["tag"] = tag
    ws.send(json.dumps(msg))


def settle():
    time.sleep(0.3)  # a subscription is made when its message is read


@pytest.mark.parametrize("how", ["header", "query", "protocol"])
def test_handshake_with_each_token_form(api, make_user, how):
    u = make_user("ws")
    ws = connect(api, u, "stream=public", how=how)
    try:
        if how == "protocol":  # echoed back, as Mastodon does
            # (websocket-client hands the header back lower-cased)
            assert ws.getsubprotocol() == u.token.lower()
        t = post_tweet(api, u, "handshake " + how)
        m = next_event(ws, lambda m: m.get("event") == "update")
        assert m["stream"] == ["public"]
        assert update_of(m)["id"] == t["id"]
    finally:
        ws.close()


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_missing_or_bad_token_is_401_json_before_upgrade(api, token):
    host, port = api.address
    c = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    path = "/api/v1/streaming?stream=public"
    if token:
        path += "&access_token=" + token
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    assert r.status == 401
    assert "error" in json.loads(r.read())
    c.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(ws_url(api, "stream=public"), timeout=TIMEOUT,
                                    subprotocols=["bad-token"])


def test_not_a_websocket_or_unknown_stream_is_400(api, make_user):
    u = make_user("ws")
    assert api.get("/api/v1/streaming", token=u.token).status == 400
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(api, u, "stream=nope")
    with pytest.raises(websocket.WebSocketBadStatusException):
        connect(api, u, "stream=hashtag")  # no tag


def test_user_stream_update_and_delete(api, make_user):
    u = make_user("ws")
    ws = connect(api, u, "stream=user")
    try:
        t = post_tweet(api, u, "to my followers")
        m = next_event(ws, lambda m: m.get("event") == "update")
        assert m["stream"] == ["user"]
        status = update_of(m)
        assert status["id"] == t["id"] and status["content"] == "<p>to my followers</p>"
        assert api.delete(f"/v1/tweets/{t['id']}", token=u.token).status == 204
        m = next_event(ws, lambda m: m.get("event") == "delete")
        assert m == {"stream": ["user"], "event": "delete", "payload": t["id"]}
    finally:
        ws.close()


def test_notification_events_on_user_and_user_notification(api, make_user):
    u, fan = make_user("ws"), make_user("ws")
    both = connect(api, u, "stream=user")
    only = connect(api, u, "stream=user:notification")
    try:
        settle()
        t = post_tweet(api, u, "like me")
        assert api.post(f"/v1/tweets/{t['id']}/likes", {}, token=fan.token).status in (200, 201)
        for ws, stream in ((both, "user"), (only, "user:notification")):
            m = next_event(ws, lambda m: m.get("event") == "notification")
            assert m["stream"] == [stream]
            n = json.loads(m["payload"])
            assert n["type"] == "favourite" and n["account"]["id"] == fan.id
            assert n["status"]["id"] == t["id"] and "actor" not in n
        # user:notification carries notifications only, never the tweet itself
        assert no_event(only)
    finally:
        both.close()
        only.close()


def test_public_and_hashtag_streams_by_message(api, make_user):
    reader, author = make_user("ws"), make_user("ws")
    tag = "t" + secrets.token_hex(4)
    ws = connect(api, reader)
    try:
        subscribe(ws, "public:local")
        subscribe(ws, "hashtag", tag.upper())  # tags compare case-insensitively
        settle()
        plain = post_tweet(api, author, "no tag here")
        m = next_event(ws, lambda m: m.get("event") == "update")
        assert m["stream"] == ["public:local"] and update_of(m)["id"] == plain["id"]
        tagged = post_tweet(api, author, f"with #{tag}")
        got = {tuple(m["stream"]): update_of(m)["id"]
               for m in (next_event(ws), next_event(ws))}
        assert got == {("public:local",): tagged["id"], ("hashtag", tag): tagged["id"]}
        # Not the author's follower: no user stream, and none was asked for.
        assert api.delete(f"/v1/tweets/{tagged['id']}", token=author.token).status == 204
        deletes = {tuple(m["stream"]) for m in (next_event(ws), next_event(ws))
                   if m.get("event") == "delete" and m["payload"] == tagged["id"]}
        assert deletes == {("public:local",), ("hashtag", tag)}

        subscribe(ws, "public:local", kind="unsubscribe")
        settle()
        post_tweet(api, author, "unheard")
        tagged2 = post_tweet(api, author, f"again #{tag}")
        m = next_event(ws, lambda m: m.get("event") == "update")
        assert m["stream"] == ["hashtag", tag] and update_of(m)["id"] == tagged2["id"]
        subscribe(ws, "hashtag", tag, kind="unsubscribe")
        settle()
        post_tweet(api, author, f"unheard too #{tag}")
        no_event(ws)
    finally:
        ws.close()


def test_bad_messages_get_an_error_and_the_connection_stays(api, make_user):
    u = make_user("ws")
    ws = connect(api, u, "stream=public")
    other = connect(api, u, "stream=public")
    try:
        for bad in ["not json", "[]", '{"type":"dance"}', '{"type":"subscribe","stream":"nope"}',
                    '{"type":"subscribe","stream":"hashtag"}']:
            ws.send(bad)
            m = next_event(ws)
            assert m["status"] == 400 and m["error"], (bad, m)
        for i in range(8):  # the subscription cap: 8 public and hashtag ones
            subscribe(ws, "hashtag", f"cap{i}")
        subscribe(ws, "hashtag", "capmore")
        m = next_event(ws)
        assert m["error"] == "Too many subscriptions"
        t = post_tweet(api, u, "still here")
        for c in (ws, other):
            assert update_of(next_event(c, lambda m: m.get("event") == "update"))["id"] == t["id"]
    finally:
        ws.close()
        other.close()


def test_a_message_over_the_size_bound_closes_with_1009(api, make_user):
    u = make_user("ws")
    ws = connect(api, u)
    try:
        ws.send("x" * 5000)
        op, data = ws.recv_data(control_frame=True)
        assert op == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(data[:2], "big") == 1009
    finally:
        ws.close()


def test_ping_is_answered(api, make_user):
    u = make_user("ws")
    ws = connect(api, u)
    try:
        ws.ping(b"hi")
        op, data = ws.recv_data(control_frame=True)
        assert (op, data) == (websocket.ABNF.OPCODE_PONG, b"hi")
    finally:
        ws.close()


def test_a_client_that_never_answers_pings_is_dropped(tmp_path):
    """With a heartbeat of a second, a client that sends nothing, not even
    a pong, is gone after three; one that answers stays."""
    from chirp_client import start_server
    srv = start_server(tmp_path, "hb", "--stream-heartbeat", "1")
    try:
        api = srv.live_client()
        u = create_user(api, prefix="ws")
        silent, alive = connect(api, u, "stream=user"), connect(api, u, "stream=user")
        deadline = time.time() + 6
        while time.time() < deadline:  # `alive` reads, and so answers each ping
            alive.settimeout(0.5)
            try:
                op, data = alive.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_PING:
                    alive.pong(data)
            except websocket.WebSocketTimeoutException:
                pass
        # `silent` never read: what it finds now is pings, then the end
        # (answering the first may already meet the closed socket).
        silent.settimeout(TIMEOUT)
        ops = []
        deadline = time.time() + TIMEOUT
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            while time.time() < deadline:
                op, _ = silent.recv_data(control_frame=True)
                ops.append(op)
                assert op == websocket.ABNF.OPCODE_PING, ops
        assert ops, "the pings it left unanswered come first"
        # `alive` still hears its stream.
        post_tweet(api, u, "still here")
        assert update_of(next_event(alive, lambda m: m["event"] == "update"))
        alive.close()
    finally:
        srv.stop()


def test_connections_count_against_the_user_stream_cap(api, make_user):
    u = make_user("ws")
    held = [connect(api, u) for _ in range(5)]  # --max-streams-per-user
    try:
        with pytest.raises(websocket.WebSocketBadStatusException) as e:
            connect(api, u)
        assert e.value.status_code == 429
        held.pop().close()
        eventually(lambda: _can_connect(api, u), what="a slot freed by a close")
    finally:
        for w in held:
            w.close()


def _can_connect(api, u):
    try:
        connect(api, u).close()
        return True
    except websocket.WebSocketBadStatusException:
        return False


def test_a_reader_that_does_not_read_is_cut_off(api, make_user):
    u = make_user("ws")
    host, port = api.address
    ws = websocket.WebSocket()
    ws.sock_opt.sockopt = [(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)]
    ws.connect(ws_url(api, "stream=public"), header=["Authorization: Bearer " + u.token],
               timeout=TIMEOUT)
    text = "padding " * 34
    try:
        # Never read: the server's backlog passes --stream-buffer (64 KiB)
        # and it drops the connection rather than hold more.
        for i in range(400):
            post_tweet(api, u, f"{i} {text}"[:280])
        ws.settimeout(TIMEOUT)
        closed = False
        try:
            while True:
                op, _ = ws.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_CLOSE:
                    closed = True
                    break
        except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
            closed = True
        assert closed
    finally:
        ws.close()


# ---- the SSE forms ----

def sse_events(api, user, path, until, n):
    host, port = api.address
    c = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    c.request("GET", path, headers={"Authorization": "Bearer " + user.token})
    r = c.getresponse()
    assert r.status == 200, r.read()
    return c, r


def read_events(r, count):
    buf, events = b"", []
    deadline = time.time() + TIMEOUT
    while len(events) < count:
        assert time.time() < deadline, buf
        buf += r.read1(65536)
        while b"\n\n" in buf:
            block, buf = buf.split(b"\n\n", 1)
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n")
                          if b": " in line and not line.startswith(b":"))
            if b"event" in fields:
                events.append((fields[b"event"].decode(), fields[b"data"].decode()))
    return events


def test_sse_public_and_hashtag(api, make_user):
    u = make_user("sse")
    tag = "s" + secrets.token_hex(4)
    c1, pub = sse_events(api, u, "/api/v1/streaming/public/local", None, 0)
    c2, tagged = sse_events(api, u, f"/api/v1/streaming/hashtag?tag={tag}", None, 0)
    try:
        assert api.get("/api/v1/streaming/hashtag", token=u.token).status == 400
        time.sleep(0.3)
        a = post_tweet(api, u, "plain")
        b = post_tweet(api, u, f"tagged #{tag}")
        got = read_events(pub, 2)
        assert [(e, json.loads(d)["id"]) for e, d in got] == [("update", a["id"]),
                                                              ("update", b["id"])]
        # The tagged stream's own update first: it may be on another loop,
        # and a stream that meets a tweet already deleted does not send it.
        got = read_events(tagged, 1)
        assert got[0][0] == "update" and json.loads(got[0][1])["id"] == b["id"]
        assert api.delete(f"/v1/tweets/{b['id']}", token=u.token).status == 204
        assert read_events(tagged, 1) == [("delete", b["id"])]
    finally:
        c1.close()
        c2.close()


# ---- two nodes on Redis ----

@pytest.mark.skipif(not os.environ.get("CHIRP_TEST_REDIS"), reason="needs CHIRP_TEST_REDIS")
def test_a_tweet_on_node_a_reaches_a_websocket_on_node_b(tmp_path):
    from test_redis_nodes import RedisProc
    import shutil
    from chirp_client import ServerProc, pg_server, store_db_name
    redis = RedisProc()
    redis.start()
    store = pg_server().create_db(store_db_name(tmp_path))
    nodes = []
    try:
        for i in (1, 2):
            data = tmp_path / f"node{i}"
            os.makedirs(data)
            n = ServerProc(data, tmp_path / f"node{i}.log", store=store,
                           extra_args=["--redis", redis.url(), "--node-id", str(i)])
            n.start()
            nodes.append(n)
        a, b = nodes[0].client(), nodes[1].client()
        u = create_user(a, "rw")
        tag = "r" + secrets.token_hex(3)
        ws = connect(b, u, "stream=public")
        try:
            subscribe(ws, "hashtag", tag)
            settle()
            t = post_tweet(a, u, f"across nodes #{tag}")
            got = {tuple(m["stream"]): update_of(m)["id"]
                   for m in (next_event(ws), next_event(ws))}
            assert got == {("public",): t["id"], ("hashtag", tag): t["id"]}
        finally:
            ws.close()
    finally:
        for n in nodes:
            n.stop()
        redis.stop()
        shutil.rmtree(redis.dir, ignore_errors=True)
