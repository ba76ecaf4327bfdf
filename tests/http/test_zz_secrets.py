"""No response ever carries a password, a password hash or a token, except
the `token` field of the log-in response; and no response has a Server
header; every error has the error shape (traffic_checks.py). Runs last
(file name) so it also scans the traffic of every earlier test in the
session, or of its worker's share when pytest-xdist splits the suite (then
conftest.py's traffic_checked scans each worker's at its end); its own
tour makes it meaningful when run alone."""

import pytest

from chirp_client import TRAFFIC, create_user, follow, login, new_token, post_tweet
from traffic_checks import error_shape_problems, secret_problems, server_header_problems


@pytest.fixture(scope="module")
def tour(chirp_server):
    """A representative walk over every endpoint, run once."""
    api = chirp_server.live_client()
    a = create_user(api, "tour")
    b = create_user(api, "tour")
    extra = new_token(api, a)
    follow(api, a, b.id, expect=(201,))
    follow(api, a, b.id, expect=(200,))
    t = post_tweet(api, b, "tour tweet")
    post_tweet(api, a, "tour tweet a", headers={"Idempotency-Key": "tour-key"})
    post_tweet(api, a, "tour tweet a", headers={"Idempotency-Key": "tour-key"})
    for path in (f"/v1/users/{a.id}", f"/v1/users/by-handle/{a.handle}",
                 f"/v1/users/{a.id}/tweets", f"/v1/users/{b.id}/followers",
                 f"/v1/users/{a.id}/following", f"/v1/tweets/{t['id']}",
                 "/healthz", "/readyz", "/v1/nope"):
        api.get(path)
    api.get("/v1/feed", token=a.token)
    api.get("/v1/feed", token=extra)
    login(api, a.handle, a.password + "x")
    api.post("/v1/users", {"handle": a.handle, "password": a.password})
    api.post("/v1/users", {"handle": "bad handle", "password": a.password})
    api.post("/v1/tweets", {"text": ""}, token=a.token)
    api.delete(f"/v1/tweets/{t['id']}", token=a.token)
    api.delete(f"/v1/users/{b.id}/follows", token=a.token)
    api.delete("/v1/sessions/current", token=extra)
    api.get("/v1/feed", token=extra)
    api.get("/v1/sessions", token=a.token)
    api.request("PUT", "/v1/users/me/password", token=a.token,
                json_body={"current_password": a.password + "x", "new_password": a.password})


def test_no_secrets_in_any_response(tour):
    responses, tokens, passwords = TRAFFIC.snapshot()
    assert tokens and passwords and len(responses) > 25  # the tour alone makes 32
    problems = secret_problems(responses, tokens, passwords)
    assert not problems, "\n".join(problems[:50])


def test_no_server_header_anywhere(tour):
    responses, _, _ = TRAFFIC.snapshot()
    bad = server_header_problems(responses)
    assert not bad, "Server header on:\n" + "\n".join(bad[:30])


def test_errors_are_json_everywhere(tour):
    """Every 4xx/5xx seen in the session has the error shape: chirp's
    {"error", "code"}, or in the Mastodon API Mastodon's {"error"}; the
    OAuth sign-in page, for a person in a browser, answers in HTML."""
    responses, _, _ = TRAFFIC.snapshot()
    bad = error_shape_problems(responses)
    assert not bad, "\n".join(bad[:30])
