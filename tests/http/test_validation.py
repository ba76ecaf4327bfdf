"""Request-level validation: body size, content type, JSON syntax and types,
UTF-8, header size. Bad input must change nothing."""

import json

import pytest

from chirp_client import (assert_error, create_user, get_user, random_handle,
                          random_password)

KIB = 1024


@pytest.fixture(scope="module")
def writer(chirp_server):
    return create_user(chirp_server.live_client(), "val")


def _count(api, user):
    return get_user(api, user.id)["tweets_count"]


def _padded_tweet(size):
    """A valid tweet body of exactly `size` bytes (JSON whitespace padding)."""
    head = b'{"text":"padded"'
    body = head + b" " * (size - len(head) - 1) + b"}"
    assert len(body) == size
    return body


# ------------------------------------------------------------------ size

def test_body_of_exactly_64_kib_is_accepted(api, writer):
    r = api.post("/v1/tweets", body=_padded_tweet(64 * KIB), token=writer.token)
    assert r.status == 201, r


@pytest.mark.parametrize("size", [64 * KIB + 1, 200 * KIB])
def test_body_over_64_kib_is_413(api, writer, size):
    before = _count(api, writer)
    r = api.raw_request("POST", "/v1/tweets", _padded_tweet(size),
                        token=writer.token)
    assert r is not None, "connection closed without a 413 response"
    assert_error(r, 413, "body_too_large")
    assert _count(api, writer) == before


def test_big_signup_is_413_and_creates_nothing(api):
    handle = random_handle("big")
    body = json.dumps({"handle": handle, "password": random_password(),
                       "display_name": "x" * (70 * KIB)}).encode()
    r = api.raw_request("POST", "/v1/users", body)
    assert r is not None, "connection closed without a 413 response"
    assert_error(r, 413, "body_too_large")
    assert_error(api.get(f"/v1/users/by-handle/{handle}"), 404, "not_found")


# ---------------------------------------------------------- content type

@pytest.mark.parametrize("ctype", [
    None, "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "application/jsonx", "json",
    "application/xml", "",
])
def test_post_tweet_needs_json_content_type(api, writer, ctype):
    before = _count(api, writer)
    r = api.post("/v1/tweets", {"text": "typed"}, token=writer.token,
                 content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")
    assert _count(api, writer) == before


@pytest.mark.parametrize("ctype", [
    "application/json", "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    # RFC 9110 8.3.1: optional white space (SP or HTAB) may come before the
    # ';' of a parameter, and type and subtype are case-insensitive.
    "application/json ; charset=utf-8", "application/json\t;charset=utf-8",
    "Application/JSON",
])
def test_json_content_type_with_params_is_fine(api, writer, ctype):
    r = api.post("/v1/tweets", {"text": "typed"}, token=writer.token,
                 content_type=ctype)
    assert r.status == 201, r


def _post_without_length(api, path, token, ctype=None):
    """A POST with neither Content-Length nor Transfer-Encoding: by RFC 9112
    6.3 it has no body at all (not an empty one)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close",
             f"Authorization: Bearer {token}"]
    if ctype is not None:
        lines.append(f"Content-Type: {ctype}")
    r = api.raw(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert r is not None, f"POST {path} without a length got no response"
    return r


def test_post_without_any_length_has_no_body(api, writer, make_user):
    # A follow needs no body: it works.
    target = make_user("nolen")
    r = _post_without_length(api, f"/v1/users/{target.id}/follows",
                             writer.token)
    assert r.status == 201, r
    assert get_user(api, target.id)["followers_count"] == 1
    # A tweet needs one: 415 without a type, 400 with one, and no tweet.
    before = _count(api, writer)
    assert_error(_post_without_length(api, "/v1/tweets", writer.token),
                 415, "unsupported_media_type")
    assert_error(_post_without_length(api, "/v1/tweets", writer.token,
                                      "application/json"),
                 400, "malformed_json")
    assert _count(api, writer) == before


@pytest.mark.parametrize("ctype", [None, "text/plain"])
def test_signup_and_login_need_json_content_type(api, ctype):
    handle = random_handle("ct")
    password = random_password()
    r = api.post("/v1/users", {"handle": handle, "password": password},
                 content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")
    assert_error(api.get(f"/v1/users/by-handle/{handle}"), 404, "not_found")
    r = api.post("/v1/sessions", {"handle": handle, "password": password},
                 content_type=ctype)
    assert_error(r, 415, "unsupported_media_type")


# ------------------------------------------------------------ JSON syntax

MALFORMED = [
    b"", b"{", b"}", b'{"text": }', b'{"text":"a",}', b'{"text":"a"} x',
    b"{'text':'a'}", b'{"text":"a"', b'{text:"a"}', b"nul", b'{"text":"a\x01"}',
    b'{"text":"\\x41"}', b'{"text":"\\u12"}',
]
NON_OBJECT = [b"[]", b'["text"]', b'"text"', b"5", b"null", b"true"]


@pytest.mark.parametrize("body", MALFORMED + NON_OBJECT)
def test_malformed_tweet_body_is_400(api, writer, body):
    before = _count(api, writer)
    r = api.post("/v1/tweets", body=body, token=writer.token)
    assert_error(r, 400, ("malformed_json", "wrong_type"))
    assert _count(api, writer) == before


@pytest.mark.parametrize("body", MALFORMED[:6] + NON_OBJECT[:3])
def test_malformed_signup_body_is_400(api, body):
    assert_error(api.post("/v1/users", body=body), 400,
                 ("malformed_json", "wrong_type"))
    assert_error(api.post("/v1/sessions", body=body), 400,
                 ("malformed_json", "wrong_type"))


@pytest.mark.parametrize("doc", [
    {"text": 5}, {"text": None}, {"text": ["a"]}, {"text": {"a": 1}},
    {"text": True}, {"text": "ok", "media_ids": "x"},
    {"text": "ok", "media_ids": 5}, {"text": "ok", "media_ids": {"a": "b"}},
])
def test_wrong_field_type_in_tweet_is_400(api, writer, doc):
    before = _count(api, writer)
    r = api.post("/v1/tweets", doc, token=writer.token)
    assert_error(r, 400, ("malformed_json", "wrong_type"))
    assert _count(api, writer) == before


@pytest.mark.parametrize("field,value", [
    ("handle", None), ("handle", 5), ("handle", ["x"]),
    ("password", None), ("password", 12345678), ("password", {"a": "b"}),
    ("display_name", 5), ("display_name", ["n"]), ("display_name", False),
])
def test_wrong_field_type_in_signup_is_400(api, field, value):
    handle = random_handle("wt")
    doc = {"handle": handle, "password": random_password(), "display_name": "ok"}
    doc[field] = value
    r = api.post("/v1/users", doc)
    assert_error(r, 400, ("malformed_json", "wrong_type"))
    assert_error(api.get(f"/v1/users/by-handle/{handle}"), 404, "not_found")


@pytest.mark.parametrize("field,value", [
    ("handle", None), ("handle", 5), ("password", None), ("password", 1),
])
def test_wrong_field_type_in_login_is_400(api, field, value):
    doc = {"handle": "someone", "password": "something"}
    doc[field] = value
    r = api.post("/v1/sessions", doc)
    assert_error(r, 400, ("malformed_json", "wrong_type"))


# ------------------------------------------------------------------ UTF-8

INVALID_UTF8 = [
    b"\xff", b"\xfe\xff", b"\xc3", b"\xc3(", b"\xc0\xaf",  # overlong "/"
    b"\xe0\x80\xaf", b"\xed\xa0\x80",  # UTF-8-encoded surrogate
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\x80", b"ok\xe2\x82",
]


@pytest.mark.parametrize("bad", INVALID_UTF8)
def test_invalid_utf8_in_tweet_is_400(api, writer, bad):
    before = _count(api, writer)
    r = api.post("/v1/tweets", body=b'{"text":"' + bad + b'"}',
                 token=writer.token)
    assert_error(r, 400, ("invalid_encoding", "malformed_json"))
    assert _count(api, writer) == before


@pytest.mark.parametrize("bad", INVALID_UTF8[:3])
def test_invalid_utf8_in_signup_is_400(api, bad):
    handle = random_handle("enc")
    body = (b'{"handle":"' + handle.encode() + b'","password":"pw-12345678",'
            b'"display_name":"x' + bad + b'"}')
    r = api.post("/v1/users", body=body)
    assert_error(r, 400, ("invalid_encoding", "malformed_json"))
    assert_error(api.get(f"/v1/users/by-handle/{handle}"), 404, "not_found")


# ---------------------------------------------------------------- headers

def test_headers_under_16_kib_are_fine(api):
    headers = {f"X-Pad-{i}": "p" * (3 * KIB) for i in range(4)}  # 12 KiB
    r = api.get("/healthz", headers=headers)
    assert r.status == 200, r


@pytest.mark.parametrize("layout", ["one-big", "many-small"])
def test_headers_over_16_kib_are_431_or_closed(api, layout):
    if layout == "one-big":
        pad = "X-Pad: " + "p" * (17 * KIB) + "\r\n"
    else:
        pad = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(20))
    req = ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + pad +
           "Connection: close\r\n\r\n").encode()
    r = api.raw(req)
    if r is not None:  # closing without a response is allowed too
        assert r.status < 500, r
        assert_error(r, 431, "headers_too_large")
    # The server is still fine.
    assert api.get("/healthz").status == 200


def test_chunked_body_over_64_kib_is_refused(api, writer):
    """A size limit that only trusts Content-Length would let this through."""
    before = _count(api, writer)
    payload = _padded_tweet(70 * KIB)
    chunks = b""
    for i in range(0, len(payload), 8 * KIB):
        part = payload[i:i + 8 * KIB]
        chunks += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    chunks += b"0\r\n\r\n"
    req = (f"POST /v1/tweets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           f"Authorization: Bearer {writer.token}\r\n"
           f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
           f"Connection: close\r\n\r\n").encode() + chunks
    r = api.raw(req)
    if r is not None:
        assert r.status in (400, 411, 413), r
        if r.status == 413:
            assert_error(r, 413, "body_too_large")
    assert _count(api, writer) == before
    assert api.get("/healthz").status == 200


@pytest.mark.parametrize("path,doc", [
    ("/v1/users", {"password": "pw-12345678"}),
    ("/v1/users", {"handle": "nopassword"}),
    ("/v1/users", {}),
    ("/v1/sessions", {"handle": "someone"}),
    ("/v1/sessions", {}),
])
def test_missing_required_field_is_a_4xx(api, path, doc):
    """The contract leaves 400 vs 422 open; it must be a client error."""
    r = api.post(path, doc)
    assert r.status in (400, 422), r
    assert_error(r, r.status)
    if path == "/v1/users" and "handle" in doc:
        assert_error(api.get(f"/v1/users/by-handle/{doc['handle']}"),
                     404, "not_found")


def test_missing_text_is_a_4xx(api, writer):
    before = _count(api, writer)
    r = api.post("/v1/tweets", {"media_ids": []}, token=writer.token)
    assert r.status in (400, 422), r
    assert_error(r, r.status)
    assert _count(api, writer) == before


# ------------------------------------------------------------- robustness

@pytest.mark.parametrize("depth", [100, 5000, 30000])
def test_deeply_nested_json_is_refused_cleanly(api, writer, depth):
    before = _count(api, writer)
    top = b"[" * depth + b"]" * depth
    assert_error(api.post("/v1/tweets", body=top, token=writer.token), 400,
                 ("malformed_json", "wrong_type"))
    inner = b'{"text":' + b"[" * depth + b"]" * depth + b"}"
    assert_error(api.post("/v1/tweets", body=inner, token=writer.token), 400,
                 ("malformed_json", "wrong_type"))
    assert _count(api, writer) == before
    assert api.get("/healthz").status == 200


@pytest.mark.parametrize("escape", [b"\\ud800", b"\\udc00", b"a\\ud83dz",
                                    b"\\ude00\\ud83d"])
def test_lone_surrogate_escape_never_stored_as_garbage(api, writer, escape):
    """A \\uD800-style escape is valid JSON syntax but no Unicode character.
    Refusing it (400/422) is right; if accepted, what comes back must still
    be valid UTF-8 JSON."""
    r = api.post("/v1/tweets", body=b'{"text":"x' + escape + b'"}',
                 token=writer.token)
    if r.status == 201:
        r.body.decode("utf-8")  # strict: raises on invalid UTF-8
        g = api.get(f"/v1/tweets/{r.json['id']}")
        g.body.decode("utf-8")
    else:
        assert r.status in (400, 422), r
        assert_error(r, r.status)


def test_huge_bearer_token_is_401(api):
    r = api.get("/v1/feed", headers={"Authorization": "Bearer " + "x" * 8000})
    assert_error(r, 401, "unauthorized")
