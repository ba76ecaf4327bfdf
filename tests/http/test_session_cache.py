"""The gateway's session cache (core/session_cache.h): with SQLite opened
exclusive (the default), a token's session comes from memory after its
first request, and every write that ends a session or adds or removes a
block or a mute is seen by the very next request, as without a cache.

Each test uses a token (so that it is cached) before it ends or changes
what the cache holds: a cache that missed one of those writes fails here.
With PostgreSQL (and a cluster), where other nodes log out too, there is
no cache: every request reads its session."""

import pytest

from chirp_client import (ON_POSTGRES, assert_error, create_user, follow, new_token, post_tweet,
                          start_server)
from metrics_scrape import counters
from test_mastodon import make_app, password_token
from test_session_management import change_password
from test_social import block, feed_ids, mute


def cache_counts(api):
    return counters(api, "chirp_session_cache_hits_total", "chirp_session_cache_misses_total")


def used(api, token, times=2):
    """The token works, and (on SQLite) is now cached."""
    for _ in range(times):
        r = api.get("/v1/feed", token=token)
        assert r.status == 200, r


def refused(api, token):
    assert_error(api.get("/v1/feed", token=token), 401, "unauthorized")


def test_repeat_requests_are_answered_from_memory_on_sqlite_only(api):
    u = create_user(api)
    hits, _ = cache_counts(api)
    used(api, u.token, times=5)
    after, _ = cache_counts(api)
    if ON_POSTGRES:
        assert after == 0, "a cache where other nodes end sessions too"
    else:
        assert after - hits >= 4, (hits, after)  # the first may be the miss


def test_log_out_reaches_a_cached_token(api):
    u = create_user(api)
    other = new_token(api, u)
    used(api, u.token)
    used(api, other)
    assert api.delete("/v1/sessions/current", token=u.token).status == 204
    refused(api, u.token)
    used(api, other)  # only that session ended


def test_ending_a_session_by_id_reaches_its_cached_token(api):
    u = create_user(api)
    laptop = new_token(api, u)
    used(api, laptop)
    mine = api.get("/v1/sessions", token=u.token).json
    [laptop_id] = [s["id"] for s in mine if not s["current"]]
    assert api.delete(f"/v1/sessions/{laptop_id}", token=u.token).status == 204
    refused(api, laptop)
    used(api, u.token)


def test_log_out_everywhere_reaches_cached_tokens(api):
    u, bystander = create_user(api), create_user(api)
    tokens = [u.token, new_token(api, u), new_token(api, u)]
    for t in tokens + [bystander.token]:
        used(api, t)
    assert api.delete("/v1/sessions", token=u.token).status == 204
    for t in tokens:  # the one that asked too
        refused(api, t)
    used(api, bystander.token)


def test_password_change_reaches_cached_tokens(api):
    u = create_user(api)
    other = new_token(api, u)
    used(api, other)
    assert change_password(api, u.token, u.password, "a-cached-new-password").status == 204
    refused(api, other)
    used(api, u.token)


def test_oauth_revoke_reaches_a_cached_token(api):
    app = make_app(api)
    u = create_user(api, "m")
    token = password_token(api, app, u)
    used(api, token)
    r = api.post("/oauth/revoke", {"client_id": app["client_id"],
                                   "client_secret": app["client_secret"], "token": token})
    assert r.status == 200, r
    refused(api, token)


def test_blocks_and_mutes_reach_a_cached_reader_at_once(api):
    """A reader who blocks and mutes nobody skips reading relations; the
    cache holds that, so every block and mute, the reader's or another's,
    must move it on."""
    reader, loud, rude = create_user(api), create_user(api), create_user(api)
    follow(api, reader, loud.id)
    follow(api, reader, rude.id)
    t_loud, t_rude = post_tweet(api, loud)["id"], post_tweet(api, rude)["id"]
    assert {t_loud, t_rude} <= set(feed_ids(api, reader))
    used(api, reader.token)

    mute(api, reader, loud.id)  # the reader's own
    assert t_loud not in feed_ids(api, reader)
    assert api.delete(f"/v1/users/{loud.id}/mutes", token=reader.token).status == 204
    assert t_loud in feed_ids(api, reader)

    block(api, rude, reader.id)  # another user's, on the reader
    assert t_rude not in feed_ids(api, reader)
    assert api.delete(f"/v1/users/{reader.id}/blocks", token=rude.token).status == 204
    follow(api, reader, rude.id)  # the block ended the follow
    assert t_rude in feed_ids(api, reader)


@pytest.mark.skipif(ON_POSTGRES, reason="the flag is SQLite's")
def test_no_cache_when_other_processes_may_write(tmp_path):
    """--sqlite-lock shared lets sqlite3 change the database (end a
    session) behind chirp's back: then nothing is cached."""
    srv = start_server(tmp_path, "shared", "--sqlite-lock", "shared")
    api = srv.live_client()
    u = create_user(api)
    used(api, u.token, times=3)
    assert cache_counts(api) == (0, 0)
    assert srv.stop() == 0, srv.log_tail()
