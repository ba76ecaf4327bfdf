"""Request framing (issue 19, finding 5), black-box on raw sockets.

h2o 2.2.5 read requests two ways where RFC 9112 says to refuse them:
Content-Length with Transfer-Encoding (chunked won, the connection stayed
open), a chunk size "0x11" (read as the last chunk), junk trailers, obs-fold
and bare LF, Transfer-Encoding on HTTP/1.0, two differing Content-Lengths
(the first won, the rest was read as another request), no Host or two. chirp
now checks each request's framing on the connection's bytes before h2o's
parser sees them (src/http/framing.c): such a request gets 400 and the
connection is closed, and nothing hidden in it is ever answered. Each case is
sent whole and also a byte at a time (a check that only looks at whole
packets would miss the second). Good requests, pipelined and chunked, still
work. docs/reliability.md lists the defence.
"""

import json
import socket
import time

import pytest

from chirp_client import REQUEST_TIMEOUT, create_user

SMUGGLED = b"GET /v1/users/abc HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(addr, data, trickle=False):
    """Sends data (a byte at a time if trickle) and reads until the server
    closes; every response's status, in order."""
    sock = socket.create_connection(addr, timeout=REQUEST_TIMEOUT)
    try:
        if trickle:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                try:
                    sock.sendall(data[i:i + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                time.sleep(0.0005)
        else:
            sock.sendall(data)
        got = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
    finally:
        sock.close()
    return statuses(got), got


def statuses(got):
    out = []
    for part in got.split(b"HTTP/1.1 ")[1:]:
        out.append(int(part[:3]))
    return out


def post(token, extra_headers, body, version="HTTP/1.1", host=True):
    head = f"POST /v1/tweets {version}\r\n"
    if host:
        head += "Host: x\r\n"
    head += f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    return head.encode() + extra_headers + b"\r\n" + body


CHUNKED_BAD = b'a\r\n{"text":5}\r\n0\r\n\r\n'


def cases(token):
    return {
        "Content-Length with chunked": post(
            token, b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
            CHUNKED_BAD + SMUGGLED),
        "chunked before Content-Length": post(
            token, b"Transfer-Encoding: chunked\r\nContent-Length: 44\r\n",
            CHUNKED_BAD + SMUGGLED),
        "chunk size 0x11": post(
            token, b"Transfer-Encoding: chunked\r\n",
            b"0x11\r\n" + SMUGGLED[:17] + b"\r\n0\r\n\r\n" + SMUGGLED),
        "chunk size with junk": post(
            token, b"Transfer-Encoding: chunked\r\n", b"1 junk\r\na\r\n0\r\n\r\n" + SMUGGLED),
        "chunk size of 17 digits": post(
            token, b"Transfer-Encoding: chunked\r\n",
            b"00000000000000001\r\na\r\n0\r\n\r\n" + SMUGGLED),
        "chunk data without CRLF": post(
            token, b"Transfer-Encoding: chunked\r\n", b"1\r\naXX0\r\n\r\n" + SMUGGLED),
        "chunked on HTTP/1.0": post(
            token, b"Transfer-Encoding: chunked\r\n", CHUNKED_BAD + SMUGGLED,
            version="HTTP/1.0"),
        "gzip, chunked": post(
            token, b"Transfer-Encoding: gzip, chunked\r\n", CHUNKED_BAD + SMUGGLED),
        "differing Content-Lengths": (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
            b"Content-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED),
        "differing Content-Lengths in one line": (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0, %d\r\n\r\n"
            % len(SMUGGLED) + SMUGGLED),
        "obs-fold": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"
                     + SMUGGLED),
        "space before the colon": (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n" + SMUGGLED),
        "bare LF": b"GET /healthz HTTP/1.1\nHost: x\n\n" + SMUGGLED,
        "bare LF in one header": b"GET /healthz HTTP/1.1\r\nHost: x\nX: 1\r\n\r\n" + SMUGGLED,
        "bare CR": b"GET /healthz HTTP/1.1\r\nHost: x\rX: 1\r\n\r\n" + SMUGGLED,
        "no Host": b"GET /healthz HTTP/1.1\r\n\r\n" + SMUGGLED,
        "two Hosts": b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" + SMUGGLED,
    }


@pytest.fixture(scope="module")
def token(chirp_server):
    return create_user(chirp_server.client(), "frm").token


@pytest.mark.parametrize("trickle", [False, True], ids=["whole", "byte-by-byte"])
@pytest.mark.parametrize("name", list(cases("t")))
def test_ambiguous_framing_is_400_and_closed(chirp_server, token, name, trickle):
    """The request is answered 400 (h2o's fixed one) and the connection
    closed; the request smuggled behind it never gets an answer."""
    got_statuses, got = exchange(chirp_server.address(), cases(token)[name], trickle)
    assert got_statuses == [400], (name, got[:500])
    assert b"Connection: close" in got or b"connection: close" in got.lower(), got[:300]


def test_junk_trailers_end_the_connection(chirp_server, token):
    """A trailer line that is not a field line: the request before it is
    whole, so it may be answered, but nothing after it is read."""
    data = post(token, b"Transfer-Encoding: chunked\r\n",
                b'a\r\n{"text":5}\r\n0\r\njunk\r\n\r\n' + SMUGGLED)
    for trickle in (False, True):
        got_statuses, got = exchange(chirp_server.address(), data, trickle)
        assert got_statuses in ([400, 400], [400]), got[:500]
        assert b"invalid_id" not in got, got  # the smuggled GET /v1/users/abc


def test_good_requests_still_work(chirp_server, token):
    """Pipelined requests, a chunked body with an extension and a trailer,
    Content-Length bodies and empty lines between requests: all answered."""
    body = json.dumps({"text": "framed"}).encode()
    chunked = (b"%x;name=value\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: yes\r\n\r\n")
    data = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
            + post(token, b"Transfer-Encoding: chunked\r\n", chunked)
            + b"\r\n"
            + post(token, b"Content-Length: %d\r\n" % len(body), body)
            + b"GET /healthz HTTP/1.0\r\n\r\n")
    for trickle in (False, True):
        got_statuses, got = exchange(chirp_server.address(), data, trickle)
        assert got_statuses == [200, 201, 201, 200], got[:800]
