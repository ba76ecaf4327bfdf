"""Bad-input corpus: hostile, malformed and out-of-range requests, each sent
as raw bytes on a fresh socket (cases in bad_input_cases.py).

Every case must end in a 4xx -- a JSON Error with Content-Type
application/json, or, for requests that are not valid HTTP, h2o's own
plain-text 400 refusal -- or in the connection being closed without a
response where the HTTP RFCs allow it. Never a 5xx, never a hang, and the
server must answer GET /healthz after every case. At the end, nothing any
bad write attempted may have happened.
"""

import collections
import http.client
import socket
import time

import pytest

from bad_input_cases import CASES, SIGNUP_HANDLES
from chirp_client import (ServerProc, assert_error, chirp_bin, create_user,
                          get_user, is_http_parser_refusal, post_tweet,
                          TIMEOUT_FACTOR)

CASE_TIMEOUT = 5 * TIMEOUT_FACTOR
TALLY = collections.Counter()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-input")
    (base / "data").mkdir()
    srv = ServerProc(base / "data", base / "server.log")  # --no-rate-limits
    srv.start()
    start = time.monotonic()
    yield srv
    elapsed = time.monotonic() - start
    print(f"\nbad-input tally over {sum(TALLY.values())} cases in "
          f"{elapsed:.1f}s: {dict(sorted(TALLY.items(), key=str))}")
    if srv.alive():
        srv.stop()


@pytest.fixture(scope="module")
def ctx(server):
    client = server.client()
    me = create_user(client, "bim")
    other = create_user(client, "bio")
    scratch = create_user(client, "bis")  # for cases that may write
    tweet = post_tweet(client, me)
    state = {
        "token": me.token, "uid": me.id, "other": other.id,
        "scratch_token": scratch.token,
        "tweet": tweet["id"],
        "_before": {
            "me": get_user(client, me.id),
            "other": get_user(client, other.id),
        },
    }
    return state


@pytest.fixture
def healthy(server):
    """After each case: the server is alive and still answers /healthz."""
    yield server
    if not server.alive():
        log = server.log_tail()
        server.start()  # let the remaining cases run
        pytest.fail(f"server died (exit code {server.proc.returncode}) "
                    f"after this case:\n{log}", pytrace=False)
    try:
        r = server.client().get("/healthz", timeout=CASE_TIMEOUT)
    except OSError as e:
        pytest.fail(f"GET /healthz failed after this case: {e!r}\n"
                    + server.log_tail(), pytrace=False)
    assert r.status == 200, f"GET /healthz after this case: {r!r}"


def _show(data, n=300):
    return repr(data[:n]) + (f"... ({len(data)} bytes)" if len(data) > n else "")


def _h2o_refusal(resp):
    """h2o's own plain-text refusal of a request it will not pass on:
    is_http_parser_refusal's fixed "Bad Request", or one of h2o's other
    fixed texts for broken framing ("broken content-length header",
    "unknown transfer-encoding", "broken chunked-encoding") or an
    over-limit declared length (413 "request entity is too large")."""
    if is_http_parser_refusal(resp):
        return "parser-refusal"
    ct = (resp.header("Content-Type") or "").lower()
    if resp.status in (400, 413) and ct.startswith("text/plain") \
            and not resp.body.lstrip().startswith(b"{"):
        return f"h2o-plain-{resp.status}"
    return None


PARAMS = [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(
              strict=True, reason=c.xfail)] if c.xfail else [])
          for c in CASES]


@pytest.mark.parametrize("case", PARAMS)
def test_bad_input(case, ctx, healthy):
    data = case.build(ctx)
    client = healthy.client()
    what = f"case {case.id}: sent {_show(data)}"
    try:
        r = client.raw(data, timeout=CASE_TIMEOUT)
    except (socket.timeout, TimeoutError):
        TALLY["hang"] += 1
        pytest.fail(f"HANG: no answer and no close within {CASE_TIMEOUT}s; "
                    f"{what}", pytrace=False)
    except (http.client.HTTPException, OSError) as e:
        TALLY["garbled"] += 1
        pytest.fail(f"unparseable answer or socket error {e!r}; {what}",
                    pytrace=False)

    if r is None:
        TALLY["closed"] += 1
        assert case.wire or case.close_ok, \
            f"connection closed without a response; {what}"
        return
    if r.status >= 500:
        TALLY[r.status] += 1
        pytest.fail(f"BUG: {r.status} answer; {what}; got {r!r} "
                    f"headers={r.headers}", pytrace=False)
    refusal = _h2o_refusal(r)
    if refusal:
        TALLY[refusal] += 1
        assert case.wire, (f"h2o plain-text refusal {r!r} for a request "
                           f"chirp should answer with JSON; {what}")
        if case.allow is not None and r.status != 400:
            assert r.status in case.allow, \
                f"expected one of {sorted(case.allow)}; {what}; got {r!r}"
        return
    TALLY[r.status] += 1
    assert 400 <= r.status < 500, f"expected a 4xx; {what}; got {r!r}"
    if case.allow is not None:
        assert r.status in case.allow, \
            f"expected one of {sorted(case.allow)}; {what}; got {r!r}"
    assert_error(r, r.status, case.codes)


def test_zz_nothing_changed(server, ctx):
    """No bad write did anything: counts and handles are as before."""
    client = server.client()
    for who in ("me", "other"):
        before = ctx["_before"][who]
        after = get_user(client, before["id"])
        for k in ("tweets_count", "followers_count", "following_count"):
            assert after[k] == before[k], \
                f"{who}.{k} changed {before[k]} -> {after[k]}: a bad request " \
                f"was carried out"
    created = [h for h in SIGNUP_HANDLES
               if client.get(f"/v1/users/by-handle/{h}").status != 404]
    assert not created, f"bad sign-ups created users: {created}"
    r = client.get(f"/v1/tweets/{ctx['tweet']}")
    assert r.status == 200, f"the setup tweet is gone: {r!r}"
