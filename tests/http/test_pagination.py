"""Pagination on every list: limit, max_id, since_id, min_id and Link headers.

user tweets: GET /v1/users/{id}/tweets     feed: GET /v1/feed
followers:   GET /v1/users/{id}/followers  following: GET /v1/users/{id}/following
"""

import threading
import time

import pytest

from chirp_client import (assert_error, create_user, eventually, follow,
                          parse_links, post_tweet, split_url, walk)

N_TWEETS = 25


@pytest.fixture(scope="module")
def timeline(chirp_server):
    """A user with N_TWEETS tweets; returns (user, ids oldest first), and a
    second user who follows the first, for the feed and follower lists."""
    api = chirp_server.live_client()
    u = create_user(api, "pg")
    ids = [post_tweet(api, u, f"page {i}")["id"] for i in range(N_TWEETS)]
    fan = create_user(api, "fan")
    follow(api, fan, u.id, expect=(201,))
    return u, ids, fan


def _page(api, path, token=None):
    r = api.get(path, token=token)
    assert r.status == 200, r
    return r, [t["id"] for t in r.json]


def test_default_limit_is_20(api, timeline):
    u, ids, _ = timeline
    _, got = _page(api, f"/v1/users/{u.id}/tweets")
    assert got == ids[::-1][:20]


@pytest.mark.parametrize("limit", [1, 7, 20, 100])
def test_limit(api, timeline, limit):
    u, ids, _ = timeline
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit={limit}")
    assert got == ids[::-1][:limit]


def _list_paths(timeline):
    u, _, fan = timeline
    return [
        (f"/v1/users/{u.id}/tweets", None),
        (f"/v1/users/{u.id}/followers", None),
        (f"/v1/users/{fan.id}/following", None),
        ("/v1/feed", fan.token),
    ]


@pytest.mark.parametrize("value", ["0", "101", "-1", "abc", "2.5", "1e2", "",
                                   "20x", "99999999999999999999"])
def test_invalid_limit_is_422(api, timeline, value):
    for path, token in _list_paths(timeline):
        r = api.get(f"{path}?limit={value}", token=token)
        assert_error(r, 422, "invalid_limit")


@pytest.mark.parametrize("param", ["max_id", "since_id", "min_id"])
@pytest.mark.parametrize("value", ["abc", "-1", "12x", "18446744073709551616",
                                   "", "1.5"])
def test_non_numeric_cursor_is_400(api, timeline, param, value):
    for path, token in _list_paths(timeline):
        r = api.get(f"{path}?{param}={value}", token=token)
        assert_error(r, 400, "invalid_id")


def test_max_id_is_strictly_older(api, timeline):
    u, ids, _ = timeline
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=3&max_id={ids[10]}")
    assert got == [ids[9], ids[8], ids[7]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=100&max_id={ids[2]}")
    assert got == [ids[1], ids[0]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?max_id={ids[0]}")
    assert got == []
    _, got = _page(api, f"/v1/users/{u.id}/tweets?max_id=1")
    assert got == []


def test_since_id_gives_newest_newer_items(api, timeline):
    u, ids, _ = timeline
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=3&since_id={ids[5]}")
    assert got == [ids[24], ids[23], ids[22]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=100&since_id={ids[21]}")
    assert got == [ids[24], ids[23], ids[22]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?since_id={ids[24]}")
    assert got == []


def test_min_id_gives_items_right_after(api, timeline):
    u, ids, _ = timeline
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=3&min_id={ids[5]}")
    assert got == [ids[8], ids[7], ids[6]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=100&min_id={ids[21]}")
    assert got == [ids[24], ids[23], ids[22]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?limit=4&min_id=1")
    assert got == [ids[3], ids[2], ids[1], ids[0]]
    _, got = _page(api, f"/v1/users/{u.id}/tweets?min_id={ids[24]}")
    assert got == []


def test_link_header_on_non_empty_page(api, timeline):
    u, ids, _ = timeline
    path = f"/v1/users/{u.id}/tweets"
    for query, limit in ((f"?limit=5&max_id={ids[20]}", 5), ("", 20)):
        r, got = _page(api, path + query)
        links = parse_links(r)
        assert links and "next" in links and "prev" in links, r.headers
        npath, nq = split_url(links["next"])
        ppath, pq = split_url(links["prev"])
        assert npath == path and ppath == path, links
        assert nq.get("limit") == str(limit) and nq.get("max_id") == got[-1], links
        assert pq.get("limit") == str(limit) and pq.get("min_id") == got[0], links
        assert links["next"].startswith(path + "?"), links


def test_link_header_on_empty_page(api, timeline):
    u, ids, _ = timeline
    r, got = _page(api, f"/v1/users/{u.id}/tweets?max_id={ids[0]}")
    assert got == []
    assert r.header("Link") is not None, "empty list page without Link header"


def test_walk_both_ways(api, timeline):
    u, ids, _ = timeline
    pages = walk(api, f"/v1/users/{u.id}/tweets?limit=4", "next")
    seen = [t["id"] for p in pages for t in p]
    assert seen == ids[::-1]
    assert [len(p) for p in pages] == [4] * 6 + [1]
    # Backwards from before the oldest with min_id, following rel=prev.
    pages = walk(api, f"/v1/users/{u.id}/tweets?limit=4&min_id=1", "prev")
    assert [t["id"] for p in pages for t in p] == \
        [i for chunk in [ids[k:k + 4][::-1] for k in range(0, 25, 4)] for i in chunk]


def _concurrent_walk(api, path, token, before, post_new, settle):
    """Walk rel=next over `path` while post_new() posts in a thread: every
    item of `before` is seen exactly once, and nothing else but new items.
    Then rel=prev, starting from the newest item of the walk, must yield
    exactly the new items the walk did not see, each once."""
    new_ids = []
    th = threading.Thread(target=lambda: new_ids.extend(post_new()))
    th.start()
    try:
        pages = walk(api, path, "next", token=token,
                     between=lambda: time.sleep(0.01))
    finally:
        th.join()
    walked = [t["id"] for p in pages for t in p]
    assert len(walked) == len(set(walked)), f"duplicates in walk: {walked}"
    assert walked[-len(before):] == before[::-1], "older items lost or reordered"
    assert set(walked) - set(before) <= set(new_ids)
    settle(new_ids)

    base, q = split_url(path)
    newer = walk(api, f"{base}?limit={q.get('limit', '20')}&min_id={walked[0]}",
                 "prev", token=token)
    got = [t["id"] for p in newer for t in p]
    assert len(got) == len(set(got)), f"duplicates in prev walk: {got}"
    assert not set(got) & set(walked), "prev walk repeated items"
    assert set(got) | set(walked) == set(before) | set(new_ids), \
        "prev walk missed new items"


def test_concurrent_posts_while_paging_user_tweets(api, make_user):
    u = make_user()
    before = [post_tweet(api, u, f"old {i}")["id"] for i in range(21)]

    def post_new():
        out = []
        for i in range(12):
            out.append(post_tweet(api, u, f"new {i}")["id"])
            time.sleep(0.005)
        return out

    _concurrent_walk(api, f"/v1/users/{u.id}/tweets?limit=5", None,
                     before, post_new, lambda new: None)


def test_concurrent_posts_while_paging_feed(api, make_user):
    me = make_user()
    friend = make_user()
    follow(api, me, friend.id, expect=(201,))
    before = []
    for i in range(9):
        before.append(post_tweet(api, friend, f"f{i}")["id"])
        before.append(post_tweet(api, me, f"m{i}")["id"])
    eventually(lambda: [t["id"] for t in api.get("/v1/feed?limit=100",
                                                 token=me.token).json]
               == before[::-1], what="feed holds all earlier tweets")

    def post_new():
        out = []
        for i in range(6):
            out.append(post_tweet(api, friend, f"nf{i}")["id"])
            out.append(post_tweet(api, me, f"nm{i}")["id"])
        return out

    def settle(new_ids):
        eventually(lambda: set(new_ids) <= {t["id"] for t in api.get(
            "/v1/feed?limit=100", token=me.token).json},
            what="new tweets reach the feed")

    _concurrent_walk(api, "/v1/feed?limit=4", me.token, before, post_new, settle)


def test_feed_cursors(api, make_user):
    me = make_user()
    ids = [post_tweet(api, me, f"c{i}")["id"] for i in range(6)]
    eventually(lambda: len(api.get("/v1/feed", token=me.token).json) == 6,
               what="own tweets in feed")
    r, got = _page(api, f"/v1/feed?limit=2&max_id={ids[4]}", me.token)
    assert got == [ids[3], ids[2]]
    links = parse_links(r)
    npath, nq = split_url(links["next"])
    assert npath == "/v1/feed" and nq["max_id"] == ids[2] and nq["limit"] == "2"
    _, got = _page(api, f"/v1/feed?limit=2&since_id={ids[1]}", me.token)
    assert got == [ids[5], ids[4]]
    _, got = _page(api, f"/v1/feed?limit=2&min_id={ids[1]}", me.token)
    assert got == [ids[3], ids[2]]


def test_follow_lists_page_by_follow_id(api, make_user):
    """Cursors of follower/following lists come from the Link header and are
    follow ids, so order is follow time even when user ids disagree."""
    hub = make_user("hub")
    users = [make_user("f") for _ in range(5)]  # user ids ascend in this order
    out_order = [users[i] for i in (2, 0, 4, 1, 3)]
    in_order = [users[i] for i in (1, 3, 0, 4, 2)]
    for x in out_order:
        follow(api, hub, x.id, expect=(201,))
    for x in in_order:
        follow(api, x, hub.id, expect=(201,))

    for rel_path, order in (("following", out_order), ("followers", in_order)):
        path = f"/v1/users/{hub.id}/{rel_path}"
        pages = walk(api, f"{path}?limit=2", "next", by_item_id=False)
        assert [u["id"] for p in pages for u in p] == [x.id for x in reversed(order)]
        assert [len(p) for p in pages] == [2, 2, 1]
        r = api.get(f"{path}?limit=2")
        links = parse_links(r)
        npath, nq = split_url(links["next"])
        assert npath == path and nq["limit"] == "2"
        assert nq["max_id"] not in {x.id for x in users} | {hub.id}, \
            f"follow-list cursor looks like a user id: {links}"

    # A new follower appears via rel=prev of the first page, exactly once.
    path = f"/v1/users/{hub.id}/followers"
    r = api.get(f"{path}?limit=2")
    prev = parse_links(r)["prev"]
    late = make_user("late")
    follow(api, late, hub.id, expect=(201,))
    pages = walk(api, prev, "prev", by_item_id=False)
    assert [u["id"] for p in pages for u in p] == [late.id]
    r = api.get(f"{path}?limit=100")
    assert [u["id"] for u in r.json] == [late.id] + [x.id for x in reversed(in_order)]
