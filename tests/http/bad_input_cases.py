"""The case table for test_bad_input.py: malformed, hostile or out-of-range
requests, each written as raw bytes.

A Case is built at collection time but its bytes only at run time, from a
context holding a real token and real ids (`{uid}`, `{other}`, `{tweet}` in a
target and `{token}` in a header value are substituted; bodies are sent
verbatim).

Expectation per case:
- allow: the set of acceptable statuses (None = any 4xx);
- codes: acceptable JSON error codes (None = any snake_case code);
- wire: the request is bad at the HTTP level, so h2o's own plain-text
  refusal (is_http_parser_refusal) and a close without any response are
  acceptable too. Non-wire cases must get a JSON error from chirp (except
  that a close is tolerated for oversized bodies, where the kernel may reset
  the connection before the 413 is read).

Every JSON body sent to a write endpoint is built so that it is invalid under
every reasonable reading of the framing (e.g. `{"text":5}` behind conflicting
Content-Length headers), so no case can legitimately create anything.
"""

import secrets
from dataclasses import dataclass, field
from typing import Callable, Optional

KIB = 1024
JSON = "application/json"

# Handles used in bad sign-ups: none of them may exist afterwards.
HANDLE_PREFIX = "bi" + secrets.token_hex(4)
SIGNUP_HANDLES = []


def signup_handle():
    h = f"{HANDLE_PREFIX}{len(SIGNUP_HANDLES)}"
    SIGNUP_HANDLES.append(h)
    return h


@dataclass
class Case:
    id: str
    build: Callable[[dict], bytes]
    allow: Optional[frozenset] = None
    codes: Optional[tuple] = None
    wire: bool = False
    close_ok: bool = False
    category: str = field(default="")
    xfail: str = ""   # a known, reported deviation that is not a 5xx


def _subst(s, ctx):
    for k, v in ctx.items():
        s = s.replace("{" + k + "}", str(v))
    return s


def req(method, target, headers=(), body=b"", auth=False, ct=JSON, cl="auto",
        version="HTTP/1.1", eol=b"\r\n", host=True):
    """A builder for one request. headers: list of (name, value) with str or
    bytes values; cl: "auto" (length of body), None (no header) or a raw
    value string; ct: Content-Type or None."""
    if isinstance(body, str):
        body = body.encode("utf-8")

    def build(ctx):
        lines = [f"{method} {_subst(target, ctx)} {version}".encode("latin-1")]
        if host:
            lines.append(b"Host: 127.0.0.1")
        lines.append(b"Connection: close")
        if auth:
            lines.append(f"Authorization: Bearer {ctx['token']}".encode())
        if ct is not None and (body or cl not in (None, "auto")):
            lines.append(f"Content-Type: {ct}".encode("latin-1"))
        if cl == "auto":
            if body or method in ("POST", "PUT", "PATCH"):
                lines.append(f"Content-Length: {len(body)}".encode())
        elif cl is not None:
            lines.append(f"Content-Length: {cl}".encode("latin-1"))
        for k, v in headers:
            if callable(v):
                v = v(ctx)
            if isinstance(v, str):
                v = _subst(v, ctx).encode("latin-1")
            lines.append(k.encode("latin-1") + b": " + v)
        return eol.join(lines) + eol + eol + body
    return build


def raw(data):
    """A builder for fixed bytes with {uid}/{token}... substituted."""
    def build(ctx):
        return _subst(data.decode("latin-1"), ctx).encode("latin-1")
    return build


CASES = []


def add(cid, build, allow=None, codes=None, wire=False, close_ok=False,
        category="", xfail=""):
    if allow is not None:
        allow = frozenset([allow] if isinstance(allow, int) else allow)
    if isinstance(codes, str):
        codes = (codes,)
    CASES.append(Case(cid, build, allow, codes, wire, close_ok, category, xfail))


ANY4 = None
BAD_BODY = b'{"text":5}'          # wrong_type whatever the framing
BAD_BODY_CHUNK = b'a\r\n{"text":5}\r\n0\r\n\r\n'

# ------------------------------------------------ Content-Length + Transfer-Encoding
cat = "cl_te"
add("cl-te/cl-and-chunked", req("POST", "/v1/tweets", auth=True, cl="10",
    headers=[("Transfer-Encoding", "chunked")], body=BAD_BODY_CHUNK),
    wire=True, category=cat)
add("cl-te/cl0-and-chunked-smuggle", req("POST", "/v1/tweets", auth=True, cl="0",
    headers=[("Transfer-Encoding", "chunked")],
    body=b'a\r\n{"text":5}\r\n0\r\n\r\nGET /v1/feed HTTP/1.1\r\nHost: x\r\n\r\n'),
    wire=True, category=cat)
add("cl-te/te-before-cl", req("POST", "/v1/tweets", auth=True, cl=None,
    headers=[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
    body=BAD_BODY_CHUNK), wire=True, category=cat)
add("cl-te/te-gzip-chunked", req("POST", "/v1/tweets", auth=True, cl=None,
    headers=[("Transfer-Encoding", "gzip, chunked")], body=BAD_BODY_CHUNK),
    wire=True, category=cat)
add("cl-te/te-identity-with-cl", req("POST", "/v1/tweets", auth=True,
    headers=[("Transfer-Encoding", "identity")], body=BAD_BODY),
    wire=True, category=cat)
add("cl-te/te-xchunked-with-cl", req("POST", "/v1/tweets", auth=True,
    headers=[("Transfer-Encoding", "xchunked")], body=BAD_BODY),
    wire=True, category=cat)
add("cl-te/te-chunked-twice", req("POST", "/v1/tweets", auth=True, cl=None,
    headers=[("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")],
    body=BAD_BODY_CHUNK), wire=True, category=cat)
add("cl-te/te-space-before-colon", raw(
    b"POST /v1/tweets HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    b"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
    b"Content-Length: 10\r\nTransfer-Encoding : chunked\r\n\r\n" + BAD_BODY),
    wire=True, category=cat)
add("cl-te/te-chunked-bad-size", req("POST", "/v1/tweets", auth=True, cl=None,
    headers=[("Transfer-Encoding", "chunked")], body=b"zz\r\n{}\r\n0\r\n\r\n"),
    wire=True, category=cat)
add("cl-te/te-chunked-size-overflow", req("POST", "/v1/tweets", auth=True,
    cl=None, headers=[("Transfer-Encoding", "chunked")],
    body=b"ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"), wire=True, category=cat)
add("cl-te/te-chunked-over-64k", req("POST", "/v1/tweets", auth=True, cl=None,
    headers=[("Transfer-Encoding", "chunked")],
    body=b"".join([b"4000\r\n" + b" " * 0x4000 + b"\r\n"] * 5) + b"0\r\n\r\n"),
    allow={413, 400}, wire=True, close_ok=True, category=cat)
add("cl-te/te-chunked-on-http10", req("POST", "/v1/tweets", auth=True, cl=None,
    version="HTTP/1.0", headers=[("Transfer-Encoding", "chunked")],
    body=BAD_BODY_CHUNK), wire=True, category=cat)

# ------------------------------------------------ duplicate / conflicting Content-Length
cat = "dup_cl"
add("dup-cl/5-and-10", req("POST", "/v1/tweets", auth=True, cl="5",
    headers=[("Content-Length", "10")], body=BAD_BODY), wire=True, category=cat)
add("dup-cl/10-and-5", req("POST", "/v1/tweets", auth=True, cl="10",
    headers=[("Content-Length", "5")], body=BAD_BODY), wire=True, category=cat)
add("dup-cl/same-twice", req("POST", "/v1/tweets", auth=True, cl="10",
    headers=[("Content-Length", "10")], body=BAD_BODY), wire=True, category=cat)
add("dup-cl/list-10-5", req("POST", "/v1/tweets", auth=True, cl="10, 5",
    body=BAD_BODY), wire=True, category=cat)
add("dup-cl/list-10-10", req("POST", "/v1/tweets", auth=True, cl="10, 10",
    body=BAD_BODY), wire=True, category=cat)
add("dup-cl/0-and-10-users", req("POST", "/v1/users", cl="0",
    headers=[("Content-Length", "10")], body=BAD_BODY), wire=True, category=cat)

_SMUGGLED = b"GET /v1/users/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
add("dup-cl/conflicting-on-get-healthz-smuggle", raw(
    b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
    b"Content-Length: %d\r\n\r\n" % len(_SMUGGLED) + _SMUGGLED),
    allow={400}, wire=True, close_ok=True, category=cat)
add("host/missing-on-get-healthz", raw(
    b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category="host")
add("host/duplicate-on-get-healthz", raw(
    b"GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category="host")

# ------------------------------------------------ negative / huge / non-numeric Content-Length
cat = "bad_cl"
for name, value in [("negative", "-1"), ("negative-10", "-10"),
                    ("huge-20-digits", "99999999999999999999"),
                    ("2pow64", "18446744073709551616"),
                    ("huge-1e12", "1000000000000"),
                    ("non-numeric", "abc"), ("float", "10.0"),
                    ("exponent", "1e1"), ("hex", "0xa"), ("plus-sign", "+10"),
                    ("empty", ""), ("inner-space", "1 0"),
                    ("trailing-junk", "10x")]:
    add(f"bad-cl/{name}", req("POST", "/v1/tweets", auth=True, cl=value,
        body=BAD_BODY), allow=ANY4, wire=True, close_ok=True, category=cat)
# h2o buffers whole bodies before chirp runs, up to one global cap: the
# largest blob part chirp signs (--media-part-bytes, 8 MiB). Past it h2o
# answers 413 at once; below it, chirp's JSON routes answer their own 413.
add("bad-cl/9mib-declared-nothing-sent", req("POST", "/v1/tweets", auth=True,
    cl=str(9 * KIB * KIB), body=b""), allow={413}, wire=True, close_ok=True,
    category=cat)
add("bad-cl/2mib-sent", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"' + b"a" * (2 * KIB * KIB) + b'"}'), allow={413},
    codes="body_too_large", close_ok=True, category=cat)

# ------------------------------------------------ bare LF line endings
cat = "bare_lf"
add("bare-lf/everywhere-get-bad-id", req("GET", "/v1/users/abc", eol=b"\n"),
    allow={400}, wire=True, category=cat)
add("bare-lf/everywhere-post-bad-body", req("POST", "/v1/tweets", auth=True,
    body=BAD_BODY, eol=b"\n"), allow={400}, wire=True, category=cat)
add("bare-lf/request-line-only", raw(
    b"GET /v1/users/abc HTTP/1.1\nHost: x\r\nConnection: close\r\n\r\n"),
    allow={400}, wire=True, category=cat)
add("bare-lf/one-header", raw(
    b"GET /v1/feed HTTP/1.1\r\nHost: x\nConnection: close\r\n\r\n"),
    allow={400, 401}, wire=True, category=cat)
add("bare-cr/line-endings", raw(
    b"GET /v1/users/abc HTTP/1.1\rHost: x\rConnection: close\r\r"),
    allow={400}, wire=True, close_ok=True, category=cat)
add("bare-lf/in-header-value-cr", raw(
    b"GET /v1/feed HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nConnection: close\r\n\r\n"),
    allow={400, 401}, wire=True, category=cat)

# ------------------------------------------------ oversized request line / headers / body
cat = "oversize"
add("oversize/url-64k", req("GET", "/v1/users/" + "1" * (64 * KIB)),
    wire=True, close_ok=True, category=cat)
add("oversize/query-64k", req("GET", "/v1/feed?x=" + "a" * (64 * KIB)),
    wire=True, close_ok=True, category=cat)
add("oversize/path-segments-64k", req("GET", "/v1/" + "a/" * (32 * KIB)),
    wire=True, close_ok=True, category=cat)
add("oversize/one-header-20k", req("GET", "/healthz",
    headers=[("X-Big", "a" * (20 * KIB))]), allow={431, 400}, wire=True,
    close_ok=True, category=cat)
add("oversize/one-header-64k", req("GET", "/v1/feed", auth=True,
    headers=[("X-Big", "a" * (64 * KIB))]), allow={431, 400}, wire=True,
    close_ok=True, category=cat)
add("oversize/total-headers-20x1k", req("GET", "/v1/feed", auth=True,
    headers=[(f"X-H{i}", "b" * KIB) for i in range(20)]), allow={431, 400},
    wire=True, close_ok=True, category=cat)
add("oversize/total-headers-17k-on-post", req("POST", "/v1/tweets", auth=True,
    body=BAD_BODY, headers=[(f"X-H{i}", "c" * 1000) for i in range(17)]),
    allow={431, 400}, wire=True, close_ok=True, category=cat)
add("oversize/many-small-headers-2000", req("GET", "/healthz",
    headers=[(f"X-{i}", "1") for i in range(2000)]), allow={431, 400},
    wire=True, close_ok=True, category=cat)
add("oversize/body-64k-plus-1", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"x"' + b" " * (64 * KIB - 11) + b"}"), allow={413},
    codes="body_too_large", close_ok=True, category=cat)
add("oversize/body-200k-users", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'","password":"pw-12345678","display_name":"' + b"x" * (200 * KIB) + b'"}'),
    allow={413}, codes="body_too_large", close_ok=True, category=cat)
add("oversize/body-100k-sessions", req("POST", "/v1/sessions",
    body=b'{"handle":"nobody","password":"' + b"p" * (100 * KIB) + b'"}'),
    allow={413}, codes="body_too_large", close_ok=True, category=cat)
add("oversize/body-100k-follows", req("POST", "/v1/users/{other}/follows",
    auth=True, body=b'{"pad":"' + b"p" * (100 * KIB) + b'"}'),
    allow={413}, codes="body_too_large", close_ok=True, category=cat)

# ------------------------------------------------ invalid UTF-8
cat = "utf8"
BAD_UTF8 = [("lone-ff", b"\xff"), ("lone-continuation", b"\x80"),
            ("truncated-2byte", b"\xc3"), ("truncated-3byte", b"\xe2\x82"),
            ("overlong-slash", b"\xc0\xaf"), ("overlong-nul", b"\xc0\x80"),
            ("utf16-surrogate", b"\xed\xa0\x80"),
            ("above-10ffff", b"\xf4\x90\x80\x80"),
            ("five-byte", b"\xf8\x88\x80\x80\x80"), ("fe-ff", b"\xfe\xff")]
for name, seq in BAD_UTF8:
    add(f"utf8/tweet-text-{name}", req("POST", "/v1/tweets", auth=True,
        body=b'{"text":"ab' + seq + b'cd"}'), allow={400},
        codes=("invalid_encoding", "malformed_json"), category=cat)
for name, seq in BAD_UTF8[:3]:
    add(f"utf8/signup-display-name-{name}", req("POST", "/v1/users",
        body=b'{"handle":"' + signup_handle().encode() +
        b'","password":"pw-12345678","display_name":"x' + seq + b'"}'),
        allow={400}, codes=("invalid_encoding", "malformed_json"), category=cat)
add("utf8/signup-password-invalid", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'","password":"pw-1234\xff5678"}'), allow={400},
    codes=("invalid_encoding", "malformed_json"), category=cat)
add("utf8/sessions-handle-invalid", req("POST", "/v1/sessions",
    body=b'{"handle":"al\xc3ice","password":"pw-12345678"}'), allow={400},
    codes=("invalid_encoding", "malformed_json"), category=cat)
add("utf8/key-name-invalid", req("POST", "/v1/tweets", auth=True,
    body=b'{"te\xffxt":"hello"}'), allow={400},
    codes=("invalid_encoding", "malformed_json"), category=cat)
add("utf8/lone-surrogate-escape", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"a\\ud800b"}'), allow={400, 422},
    category=cat)
add("utf8/lone-low-surrogate-escape", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"a\\udc00b"}'), allow={400, 422}, category=cat)

# ------------------------------------------------ NUL in JSON strings
cat = "nul"
add("nul/tweet-escape-u0000", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"a\\u0000b"}'), allow={422}, codes="invalid_text", category=cat)
add("nul/tweet-only-u0000", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"\\u0000"}'), allow={422}, codes="invalid_text", category=cat)
add("nul/tweet-raw-nul-byte", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"a\x00b"}'), allow={400}, codes="malformed_json", category=cat)
add("nul/tweet-raw-nul-after-object", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"ok"}\x00'), allow={400}, codes="malformed_json", category=cat)
add("nul/tweet-key-escape-u0000", req("POST", "/v1/tweets", auth=True,
    body=b'{"text\\u0000":"hello","text":5}'), allow={400}, category=cat)
add("nul/media-id-u0000", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"hi","media_ids":["\\u0000"]}'), allow={400, 422},
    category=cat)
add("nul/signup-handle-u0000", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'\\u0000x","password":"pw-12345678"}'), allow={422},
    codes="invalid_handle", category=cat)
add("nul/signup-display-name-u0000", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'","password":"pw-12345678","display_name":"A\\u0000B"}'), allow={422},
    codes="invalid_display_name", category=cat)
add("nul/signup-raw-nul-byte", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'\x00","password":"pw-12345678"}'), allow={400}, codes="malformed_json",
    category=cat)
add("nul/sessions-handle-u0000", req("POST", "/v1/sessions",
    body=b'{"handle":"a\\u0000b","password":"pw-12345678"}'), allow={401, 422},
    category=cat)

# ------------------------------------------------ deep nesting
cat = "deep"
D = 10000
add("deep/arrays-10000-top", req("POST", "/v1/tweets", auth=True,
    body=b"[" * D + b"]" * D), allow={400}, codes="malformed_json", category=cat)
add("deep/objects-10000-top", req("POST", "/v1/tweets", auth=True,
    body=b'{"a":' * D + b"1" + b"}" * D), allow={400}, codes="malformed_json",
    category=cat)
add("deep/arrays-10000-in-text", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":' + b"[" * D + b"]" * D + b"}"), allow={400}, category=cat)
add("deep/objects-10000-in-media", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"x","media_ids":' + b'{"a":' * D + b"1" + b"}" * D + b"}"),
    allow={400}, category=cat)
add("deep/arrays-10000-unclosed", req("POST", "/v1/tweets", auth=True,
    body=b"[" * D), allow={400}, codes="malformed_json", category=cat)
add("deep/mixed-12000-signup", req("POST", "/v1/users",
    body=b'[{"a":' * 6000 + b"1" + b"}]" * 6000), allow={400},
    codes="malformed_json", category=cat)
add("deep/arrays-10000-sessions", req("POST", "/v1/sessions",
    body=b'{"handle":' + b"[" * D + b"]" * D + b',"password":"x"}'),
    allow={400}, category=cat)

# ------------------------------------------------ numbers out of range
cat = "numbers"
NUMS = [("1e400", b"1e400"), ("neg-1e400", b"-1e400"),
        ("2pow64", b"18446744073709551616"), ("neg-2pow64", b"-18446744073709551617"),
        ("exp-huge", b"1e99999999999999999999"), ("exp-neg-huge", b"1e-99999999999999999999"),
        ("digits-5000", b"9" * 5000)]
for name, num in NUMS:
    add(f"numbers/text-{name}", req("POST", "/v1/tweets", auth=True,
        body=b'{"text":' + num + b"}"), allow={400},
        codes=("malformed_json", "wrong_type"), category=cat)
for name, num in NUMS[:4]:
    add(f"numbers/top-level-{name}", req("POST", "/v1/tweets", auth=True,
        body=num), allow={400}, codes="malformed_json", category=cat)
add("numbers/media-ids-1e400", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"hi","media_ids":[1e400]}'), allow={400, 422}, category=cat)
add("numbers/signup-handle-2pow64", req("POST", "/v1/users",
    body=b'{"handle":18446744073709551616,"password":"pw-12345678"}'),
    allow={400}, codes=("malformed_json", "wrong_type"), category=cat)
add("numbers/signup-password-1e400", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() + b'","password":1e400}'),
    allow={400}, codes=("malformed_json", "wrong_type"), category=cat)
add("numbers/sessions-password-neg-1e400", req("POST", "/v1/sessions",
    body=b'{"handle":"nobody","password":-1e400}'), allow={400},
    codes=("malformed_json", "wrong_type"), category=cat)
add("numbers/nan-infinity", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":NaN,"media_ids":[Infinity]}'), allow={400},
    codes="malformed_json", category=cat)

# ------------------------------------------------ wrong types for every field
cat = "types"
WRONG = [("null", "null"), ("number", "5"), ("bool", "true"),
         ("array", '["x"]'), ("object", '{"a":"b"}')]
for tname, tval in WRONG:
    h = signup_handle()
    fields = {"handle": f'"{h}"', "password": '"pw-12345678"',
              "display_name": '"Display"'}
    for fld in fields:
        body = ",".join(f'"{k}":{tval if k == fld else v}'
                        for k, v in fields.items())
        add(f"types/users-{fld}-{tname}", req("POST", "/v1/users",
            body="{" + body + "}"), allow={400}, codes="wrong_type", category=cat)
    fields = {"handle": '"nobody_here"', "password": '"pw-12345678"'}
    for fld in fields:
        body = ",".join(f'"{k}":{tval if k == fld else v}'
                        for k, v in fields.items())
        add(f"types/sessions-{fld}-{tname}", req("POST", "/v1/sessions",
            body="{" + body + "}"), allow={400}, codes="wrong_type", category=cat)
    add(f"types/tweets-text-{tname}", req("POST", "/v1/tweets", auth=True,
        body='{"text":' + tval + "}"), allow={400}, codes="wrong_type",
        category=cat)
    mval = "[5]" if tname == "array" else tval
    if tname == "null":
        # chirp treats "media_ids": null as absent and posts the tweet
        # (src/api/tweets.c check_media); sent as a scratch user so the
        # final nothing-changed check stays meaningful.
        add("types/tweets-media_ids-null", req("POST", "/v1/tweets",
            headers=[("Authorization", "Bearer {scratch_token}")],
            body='{"text":"hello","media_ids":null}'), allow={400},
            codes="wrong_type", category=cat)
        continue
    add(f"types/tweets-media_ids-{tname}", req("POST", "/v1/tweets", auth=True,
        body='{"text":"hello","media_ids":' + mval + "}"), allow={400},
        codes="wrong_type", category=cat)

# ------------------------------------------------ non-object / empty / truncated / trailing / duplicates
cat = "json_shape"
for name, body in [("array", b"[]"), ("array-of-object", b'[{"text":"hi"}]'),
                   ("string", b'"hello"'), ("number", b"1"), ("true", b"true"),
                   ("null", b"null")]:
    add(f"json/top-level-{name}-tweets", req("POST", "/v1/tweets", auth=True,
        body=body), allow={400}, codes="malformed_json", category=cat)
add("json/top-level-array-users", req("POST", "/v1/users",
    body=b'[{"handle":"x","password":"pw-12345678"}]'), allow={400},
    codes="malformed_json", category=cat)
add("json/top-level-string-sessions", req("POST", "/v1/sessions",
    body=b'"handle"'), allow={400}, codes="malformed_json", category=cat)
for ep, auth in [("/v1/tweets", True), ("/v1/users", False),
                 ("/v1/sessions", False)]:
    short = ep.rsplit("/", 1)[1]
    add(f"json/empty-body-{short}", req("POST", ep, auth=auth, body=b"",
        cl="0"), allow={400, 415}, category=cat)
add("json/whitespace-body", req("POST", "/v1/tweets", auth=True,
    body=b"   \r\n "), allow={400}, codes="malformed_json", category=cat)
for name, body in [("open-brace", b"{"), ("unterminated-string", b'{"text":"abc'),
                   ("no-value", b'{"text":'), ("no-close", b'{"text":"hi"'),
                   ("trailing-comma", b'{"text":"hi",'),
                   ("escape-at-end", b'{"text":"hi\\'),
                   ("bad-escape", b'{"text":"\\q"}'),
                   ("short-unicode-escape", b'{"text":"\\u12"}')]:
    add(f"json/truncated-{name}", req("POST", "/v1/tweets", auth=True,
        body=body), allow={400}, codes="malformed_json", category=cat)
add("json/truncated-signup", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() + b'","password":"pw-1234'),
    allow={400}, codes="malformed_json", category=cat)
for name, body in [("word", b'{"text":"hi"} x'), ("second-object", b'{"text":"hi"}{}'),
                   ("close-bracket", b'{"text":"hi"}]'),
                   ("comma", b'{"text":"hi"},'), ("comment", b'{"text":"hi"} // c'),
                   ("single-quotes", b"{'text':'hi'}"),
                   ("unquoted-key", b'{text:"hi"}'),
                   ("trailing-comma-in-object", b'{"text":"hi",}')]:
    add(f"json/garbage-{name}", req("POST", "/v1/tweets", auth=True,
        body=body), allow={400}, codes="malformed_json", category=cat)
add("json/garbage-signup-second-object", req("POST", "/v1/users",
    body=b'{"handle":"' + signup_handle().encode() +
    b'","password":"pw-12345678"} {}'), allow={400}, codes="malformed_json",
    category=cat)
add("json/dup-key-tweets-text", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"one","text":"two"}'), allow={400}, codes="malformed_json",
    category=cat)
add("json/dup-key-tweets-text-type", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":5,"text":"two"}'), allow={400}, category=cat)
add("json/dup-key-tweets-media", req("POST", "/v1/tweets", auth=True,
    body=b'{"text":"hi","media_ids":["1"],"media_ids":[]}'), allow={400, 422},
    category=cat)
h = signup_handle()
add("json/dup-key-users-handle", req("POST", "/v1/users",
    body=f'{{"handle":"{h}","handle":"{h}x","password":"pw-12345678"}}'),
    allow={400}, codes="malformed_json", category=cat)
add("json/dup-key-users-password", req("POST", "/v1/users",
    body=f'{{"handle":"{signup_handle()}","password":"pw-12345678",'
         f'"password":"pw-87654321"}}'), allow={400}, codes="malformed_json",
    category=cat)
add("json/dup-key-sessions", req("POST", "/v1/sessions",
    body=b'{"handle":"a","handle":"b","password":"pw-12345678"}'),
    allow={400}, codes="malformed_json", category=cat)

# ------------------------------------------------ limit / cursors
cat = "limit"
LIMITS = [("0", "0"), ("neg-1", "-1"), ("101", "101"), ("1e9", "1e9"),
          ("abc", "abc"), ("empty", ""), ("20-digits", "99999999999999999999"),
          ("2.5", "2.5"), ("space-padded", "%205"), ("hex", "0x10"),
          ("1000000000", "1000000000")]
for name, val in LIMITS:
    add(f"limit/user-tweets-{name}", req("GET", "/v1/users/{uid}/tweets?limit=" + val),
        allow={422}, codes="invalid_limit", category=cat)
for name, val in [("0", "0"), ("101", "101"), ("abc", "abc"),
                  ("20-digits", "99999999999999999999")]:
    add(f"limit/feed-{name}", req("GET", "/v1/feed?limit=" + val, auth=True),
        allow={422}, codes="invalid_limit", category=cat)
    add(f"limit/followers-{name}", req("GET", "/v1/users/{uid}/followers?limit=" + val),
        allow={422}, codes="invalid_limit", category=cat)
    add(f"limit/following-{name}", req("GET", "/v1/users/{uid}/following?limit=" + val),
        allow={422}, codes="invalid_limit", category=cat)
for cur in ("max_id", "since_id", "min_id"):
    for name, val in [("abc", "abc"), ("neg-1", "-1"),
                      ("2pow64", "18446744073709551616")]:
        add(f"cursor/user-tweets-{cur}-{name}",
            req("GET", f"/v1/users/{{uid}}/tweets?{cur}={val}"),
            allow={400}, codes="invalid_id", category=cat)
add("cursor/feed-max_id-abc", req("GET", "/v1/feed?max_id=abc", auth=True),
    allow={400}, codes="invalid_id", category=cat)

# ------------------------------------------------ ids in paths
cat = "ids"
IDS = [("neg-1", "-1"), ("zero", "0"), ("abc", "abc"),
       ("2pow64", "18446744073709551616"),
       ("30-digits", "999999999999999999999999999999"),
       ("space-padded", "%201%20"), ("tab-padded", "%091"),
       ("plus-sign", "%2B1"), ("float", "1.0"), ("hex", "0x10"),
       ("exponent", "1e3"), ("12x", "12x")]
ID_ENDPOINTS = [("GET", "/v1/users/{}", False), ("GET", "/v1/users/{}/tweets", False),
                ("GET", "/v1/users/{}/followers", False),
                ("GET", "/v1/users/{}/following", False),
                ("POST", "/v1/users/{}/follows", True),
                ("DELETE", "/v1/users/{}/follows", True),
                ("GET", "/v1/tweets/{}", False), ("DELETE", "/v1/tweets/{}", True)]
for method, tmpl, auth in ID_ENDPOINTS:
    short = tmpl.replace("/v1/", "").replace("/{}", "-id").replace("/", "-")
    for name, val in IDS:
        allow = {400, 404} if name == "zero" else {400}
        codes = None if name == "zero" else "invalid_id"
        add(f"ids/{method}-{short}-{name}",
            req(method, tmpl.replace("{}", val), auth=auth), allow=allow,
            codes=codes, category=cat)

# ------------------------------------------------ path traversal and odd paths
cat = "paths"
for name, target, allow in [
        ("dotdot-feed", "/v1/users/../feed", {401, 404}),
        ("encoded-dotdot-feed", "/v1/users/%2e%2e/feed", {401, 404}),
        ("encoded-dotdot-upper", "/v1/users/%2E%2E/%2E%2E/v1/feed", {401, 404}),
        ("tweets-1-dotdot-2", "/v1/tweets/1/../2", {400, 404}),
        ("double-slash-feed", "//v1/feed", {401, 404}),
        ("double-slash-inner", "/v1//users/{uid}", {400, 404}),
        ("encoded-slash-users", "/v1/users%2F{uid}", {400, 404}),
        ("encoded-slash-in-id", "/v1/users/{uid}%2Ftweets", {400, 404}),
        ("encoded-slash-tweets", "/v1/tweets%2f{tweet}", {400, 404}),
        ("dot-segment", "/v1/./feed/.", {401, 404}),
        ("backslash", "/v1\\feed", {400, 401, 404}),
        ("nul-encoded-in-id", "/v1/users/{uid}%00", {400, 404}),
        ("nul-encoded-tweet", "/v1/tweets/%00", {400, 404}),
        ("nul-encoded-route", "/v1/feed%00", {401, 404}),
        ("very-long-id-8k", "/v1/users/" + "1" * 8000, {400, 404, 414, 431}),
        ("very-long-path-8k", "/v1/" + "x" * 8000, {404, 414, 431}),
        ("unknown-route", "/v2/users", {404}),
        ("by-handle-dotdot", "/v1/users/by-handle/..", {400, 404}),
        ("by-handle-encoded-slash", "/v1/users/by-handle/a%2Fb", {400, 404}),
        ("percent-bad-escape", "/v1/users/%zz", {400, 404}),
        ("percent-truncated", "/v1/tweets/%", {400, 404}),
        ("absolute-form", "http://127.0.0.1/v1/users/abc", {400, 404}),
        ("no-leading-slash", "v1/users/abc", {400, 404}),
        ("asterisk", "*", {400, 404, 405})]:
    add(f"paths/{name}", req("GET", target), allow=allow, wire=True,
        close_ok=False, category=cat)
add("paths/raw-nul-in-request-line", raw(
    b"GET /v1/users/1\x002 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category=cat)
add("paths/raw-space-in-id", raw(
    b"GET /v1/users/ 1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    allow={400, 404}, wire=True, close_ok=True, category=cat)
add("paths/raw-high-bytes", raw(
    b"GET /v1/users/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    allow={400, 404}, wire=True, close_ok=True, category=cat)
add("paths/delete-tweet-dotdot-other", req("DELETE", "/v1/tweets/{tweet}/../0",
    auth=True), allow={400, 404}, wire=True, category=cat)

# ------------------------------------------------ bad methods and request lines
cat = "methods"
for name, method, target, allow in [
        ("put-tweets", "PUT", "/v1/tweets", {405}),
        ("patch-user", "PATCH", "/v1/users/{uid}", {405}),
        ("delete-feed", "DELETE", "/v1/feed", {405}),
        ("post-healthz", "POST", "/healthz", {405}),
        ("trace-tweet", "TRACE", "/v1/tweets/{tweet}", {405}),
        ("foo-feed", "FOO", "/v1/feed", {405}),
        ("lowercase-get", "get", "/v1/users/{uid}", {405, 400}),
        ("put-unknown", "PUT", "/v1/nothing", {404, 405}),
        ("long-method-4k", "X" * 4096, "/v1/feed", {405, 400, 431})]:
    add(f"methods/{name}", req(method, target, body=b"", cl=None),
        allow=allow, wire=True, category=cat)
add("methods/connect", raw(b"CONNECT 127.0.0.1:80 HTTP/1.1\r\nHost: 127.0.0.1:80\r\n"
                           b"Connection: close\r\n\r\n"),
    allow=ANY4, wire=True, close_ok=True, category=cat)
add("methods/control-char-in-method", raw(
    b"G\x01T /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category=cat)
add("methods/missing-version", raw(b"GET /v1/users/abc\r\nHost: x\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category=cat)
add("methods/garbage-line", raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
                                b"\r\n\r\n"),
    allow={400}, wire=True, close_ok=True, category=cat)
add("methods/no-host-http11", req("GET", "/v1/users/abc", host=False),
    allow={400}, wire=True, category=cat)

# ------------------------------------------------ bad Authorization headers
cat = "auth"
AUTHS = [("empty", ""), ("basic", "Basic dXNlcjpwYXNzd29yZA=="),
         ("bearer-only", "Bearer"), ("bearer-space", "Bearer "),
         ("bearer-spaces-only", "Bearer     "),
         ("bearer-inner-space", "Bearer abc def"),
         ("bearer-tab", "Bearer\tabcdef"),
         ("bearer-1000-chars", "Bearer " + "A" * 1000),
         ("bearer-10000-chars", "Bearer " + "A" * 10000),
         ("token-without-scheme", "{token}x"),
         ("real-token-plus-junk", "Bearer {token}x"),
         ("real-token-truncated", lambda ctx: "Bearer " + ctx["token"][:-1]),
         ("scheme-garbage", "Token abc")]
for name, value in AUTHS:
    add(f"auth/feed-{name}", req("GET", "/v1/feed", headers=[("Authorization", value)]),
        allow={401}, codes="unauthorized", wire=True, category=cat)
for name, value in AUTHS[:7]:
    add(f"auth/tweet-{name}", req("POST", "/v1/tweets", body=b'{"text":"hello"}',
        headers=[("Authorization", value)]), allow={401}, codes="unauthorized",
        wire=True, category=cat)
add("auth/feed-non-ascii-utf8", req("GET", "/v1/feed",
    headers=[("Authorization", "Bearer t\u00e9st\u2603".encode("utf-8"))]),
    allow={401, 400}, wire=True, category=cat)
add("auth/tweet-non-ascii-latin1", req("POST", "/v1/tweets", body=b'{"text":"hello"}',
    headers=[("Authorization", b"Bearer \xe9\xff\xfe")]),
    allow={401, 400}, wire=True, category=cat)
add("auth/feed-control-char", req("GET", "/v1/feed",
    headers=[("Authorization", b"Bearer abc\x01def")]),
    allow={401, 400}, wire=True, category=cat)
add("auth/two-headers-one-real", req("POST", "/v1/tweets", body=BAD_BODY,
    headers=[("Authorization", "Basic eDp5"), ("Authorization", "Bearer {token}")]),
    allow={400, 401}, wire=True, category=cat)

# ------------------------------------------------ bad Idempotency-Key
cat = "idem"
GOOD_TWEET = b'{"text":"idempotency bad key ' + HANDLE_PREFIX.encode() + b'"}'
for name, value, wire in [
        ("empty", b"", False), ("256-chars", b"k" * 256, False),
        ("1000-chars", b"k" * 1000, False), ("tab-inside", b"a\tb", False),
        ("del-char", b"a\x7fb", True), ("ctrl-01", b"a\x01b", True),
        ("ctrl-1f", b"\x1f", True), ("escape-seq", b"\x1b[31m", True),
        ("non-ascii-utf8", "cl\u00e9".encode(), True),
        ("high-byte", b"\xff", True)]:
    add(f"idem/tweet-{name}", req("POST", "/v1/tweets", auth=True, body=GOOD_TWEET,
        headers=[("Idempotency-Key", value)]), allow={400},
        codes="invalid_idempotency_key", wire=wire, category=cat)
add("idem/follow-256-chars", req("POST", "/v1/users/{other}/follows", auth=True,
    headers=[("Idempotency-Key", b"f" * 256)]), allow={400},
    codes="invalid_idempotency_key", category=cat)
add("idem/signup-empty", req("POST", "/v1/users",
    body=f'{{"handle":"{signup_handle()}","password":"pw-12345678"}}',
    headers=[("Idempotency-Key", b"")]), allow={400},
    codes="invalid_idempotency_key", category=cat)
add("idem/signup-ctrl", req("POST", "/v1/users",
    body=f'{{"handle":"{signup_handle()}","password":"pw-12345678"}}',
    headers=[("Idempotency-Key", b"k\x02")]), allow={400},
    codes="invalid_idempotency_key", wire=True, category=cat)

# ------------------------------------------------ bad Content-Type with a body
cat = "ctype"
for name, ct in [("text-plain", "text/plain"), ("jsonx", "application/jsonx"),
                 ("multipart", "multipart/form-data; boundary=xyz"),
                 ("form-urlencoded", "application/x-www-form-urlencoded"),
                 ("json-seq", "application/json-seq"), ("bare-json", "json"),
                 ("empty", ""), ("star", "*/*"),
                 ("json-comma-list", "application/json,text/plain"),
                 ("ld-json", "application/ld+json")]:
    add(f"ctype/tweet-{name}", req("POST", "/v1/tweets", auth=True,
        body=GOOD_TWEET, ct=ct), allow={415}, codes="unsupported_media_type",
        category=cat)
add("ctype/tweet-missing", req("POST", "/v1/tweets", auth=True, body=GOOD_TWEET,
    ct=None), allow={415}, codes="unsupported_media_type", category=cat)
add("ctype/multipart-real-body", req("POST", "/v1/tweets", auth=True,
    ct="multipart/form-data; boundary=xyz",
    body=b'--xyz\r\nContent-Disposition: form-data; name="text"\r\n\r\n'
         b"hello\r\n--xyz--\r\n"), allow={415}, codes="unsupported_media_type",
    category=cat)
add("ctype/signup-text-plain", req("POST", "/v1/users", ct="text/plain",
    body=f'{{"handle":"{signup_handle()}","password":"pw-12345678"}}'),
    allow={415}, codes="unsupported_media_type", category=cat)
add("ctype/signup-missing", req("POST", "/v1/users", ct=None,
    body=f'{{"handle":"{signup_handle()}","password":"pw-12345678"}}'),
    allow={415}, codes="unsupported_media_type", category=cat)
add("ctype/sessions-jsonx", req("POST", "/v1/sessions", ct="application/jsonx",
    body=b'{"handle":"nobody","password":"pw-12345678"}'),
    allow={415}, codes="unsupported_media_type", category=cat)
ids = [c.id for c in CASES]
assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
