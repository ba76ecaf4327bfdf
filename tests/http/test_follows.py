"""Follow, unfollow, followers/following lists and the counts they move."""

import threading

from chirp_client import (assert_error, assert_user_shape, follow, get_user,
                          list_ids)


def _counts(api, user):
    u = get_user(api, user.id)
    return u["followers_count"], u["following_count"]


def test_follow_then_again_then_unfollow(api, make_user):
    a = make_user()
    b = make_user()
    r = api.post(f"/v1/users/{b.id}/follows", token=a.token)
    assert r.status == 201, r
    assert_user_shape(r.json)
    assert r.json["id"] == b.id
    assert r.json["followers_count"] == 1
    assert _counts(api, a) == (0, 1)
    assert _counts(api, b) == (1, 0)

    again = api.post(f"/v1/users/{b.id}/follows", token=a.token)
    assert again.status == 200, again
    assert_user_shape(again.json)
    assert again.json["id"] == b.id and again.json["followers_count"] == 1
    assert _counts(api, a) == (0, 1)
    assert _counts(api, b) == (1, 0)
    assert list_ids(api, f"/v1/users/{b.id}/followers") == [a.id]
    assert list_ids(api, f"/v1/users/{a.id}/following") == [b.id]

    r = api.delete(f"/v1/users/{b.id}/follows", token=a.token)
    assert r.status == 204, r
    assert r.body == b""
    assert _counts(api, a) == (0, 0)
    assert _counts(api, b) == (0, 0)
    assert list_ids(api, f"/v1/users/{b.id}/followers") == []
    assert list_ids(api, f"/v1/users/{a.id}/following") == []

    # Unfollow is idempotent.
    r = api.delete(f"/v1/users/{b.id}/follows", token=a.token)
    assert r.status == 204, r
    assert _counts(api, a) == (0, 0)
    assert _counts(api, b) == (0, 0)

    # And the pair can follow again.
    assert api.post(f"/v1/users/{b.id}/follows", token=a.token).status == 201
    assert _counts(api, b) == (1, 0)


def test_follow_works_without_body_or_content_type(api, make_user):
    a = make_user()
    b = make_user()
    r = api.request("POST", f"/v1/users/{b.id}/follows", token=a.token,
                    content_type=None)
    assert r.status == 201, r


def test_follow_body_cannot_pick_the_follower(api, make_user):
    me = make_user()
    victim = make_user()
    target = make_user()
    r = api.post(f"/v1/users/{target.id}/follows",
                 {"follower_id": victim.id, "user_id": victim.id,
                  "id": victim.id, "followee_id": me.id},
                 token=me.token)
    assert r.status == 201, r
    assert r.json["id"] == target.id
    assert list_ids(api, f"/v1/users/{target.id}/followers") == [me.id]
    assert _counts(api, victim) == (0, 0)
    assert list_ids(api, f"/v1/users/{victim.id}/following") == []
    assert _counts(api, me) == (0, 1)


def test_follow_self_is_422(api, make_user):
    a = make_user()
    r = api.post(f"/v1/users/{a.id}/follows", token=a.token)
    assert_error(r, 422, "cannot_follow_self")
    assert _counts(api, a) == (0, 0)
    assert list_ids(api, f"/v1/users/{a.id}/followers") == []


def test_follow_unknown_user_is_404(api, make_user):
    a = make_user()
    assert_error(api.post("/v1/users/1/follows", token=a.token), 404, "not_found")
    assert_error(api.delete("/v1/users/1/follows", token=a.token), 404, "not_found")
    assert _counts(api, a) == (0, 0)


def test_follow_bad_id_is_400(api, make_user):
    a = make_user()
    for bad in ["abc", "-1", "12x", "18446744073709551616", "%20"]:
        _bad_id_cases(api, a, bad)
    assert _counts(api, a) == (0, 0)


def _bad_id_cases(api, a, bad):
    assert_error(api.post(f"/v1/users/{bad}/follows", token=a.token), 400, "invalid_id")
    assert_error(api.delete(f"/v1/users/{bad}/follows", token=a.token), 400, "invalid_id")
    assert_error(api.get(f"/v1/users/{bad}/followers"), 400, "invalid_id")
    assert_error(api.get(f"/v1/users/{bad}/following"), 400, "invalid_id")


def test_lists_of_unknown_user_are_404(api):
    assert_error(api.get("/v1/users/1/followers"), 404, "not_found")
    assert_error(api.get("/v1/users/1/following"), 404, "not_found")


def test_lists_are_most_recent_follow_first(api, make_user):
    """Order is by follow time, not by user id: follow in a shuffled order."""
    hub = make_user("hub")
    others = [make_user("o") for _ in range(4)]
    order = [others[2], others[0], others[3], others[1]]
    for o in order:
        follow(api, hub, o.id, expect=(201,))
    for o in reversed(order):
        follow(api, o, hub.id, expect=(201,))
    r = api.get(f"/v1/users/{hub.id}/following")
    assert r.status == 200, r
    for u in r.json:
        assert_user_shape(u)
    assert [u["id"] for u in r.json] == [o.id for o in reversed(order)]
    assert list_ids(api, f"/v1/users/{hub.id}/followers") == [o.id for o in order]
    assert _counts(api, hub) == (4, 4)
    for o in others:
        assert _counts(api, o) == (1, 1)
    # Listed users carry their current counts.
    listed = {u["id"]: u for u in r.json}
    assert all(listed[o.id]["followers_count"] == 1 for o in others)


def test_parallel_follows_are_recorded_once(api, make_user):
    a = make_user()
    b = make_user()
    results = []
    barrier = threading.Barrier(8)

    def go():
        barrier.wait()
        results.append(api.post(f"/v1/users/{b.id}/follows", token=a.token))

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == [200] * 7 + [201], results
    assert all(r.json["followers_count"] == 1 for r in results), results
    assert _counts(api, b) == (1, 0)
    assert _counts(api, a) == (0, 1)
    assert list_ids(api, f"/v1/users/{b.id}/followers") == [a.id]


def test_parallel_unfollows_never_go_negative(api, make_user):
    a = make_user()
    b = make_user()
    follow(api, a, b.id, expect=(201,))
    barrier = threading.Barrier(6)
    statuses = []

    def go():
        barrier.wait()
        statuses.append(api.delete(f"/v1/users/{b.id}/follows", token=a.token).status)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [204] * 6
    assert _counts(api, b) == (0, 0)
    assert _counts(api, a) == (0, 0)
