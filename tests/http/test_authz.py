"""A token acts only for its owner: posting, deleting, following and logging
out never touch another user, whatever the body or path says."""

from chirp_client import (assert_error, eventually, get_user, list_ids,
                          new_token, post_tweet)


def test_cannot_act_as_another_user(api, make_user):
    alice = make_user("alice")
    bob = make_user("bob")
    carol = make_user("carol")
    bob_tweet = post_tweet(api, bob, "bob's")

    # Post: author is the token's owner whatever the body claims.
    r = api.post("/v1/tweets", {"text": "spoof", "author_id": bob.id,
                                "user_id": bob.id}, token=alice.token)
    assert r.status == 201 and r.json["author_id"] == alice.id, r
    assert list_ids(api, f"/v1/users/{bob.id}/tweets") == [bob_tweet["id"]]

    # Delete: bob's tweet stays.
    assert_error(api.delete(f"/v1/tweets/{bob_tweet['id']}", token=alice.token),
                 404, "not_found")
    assert api.get(f"/v1/tweets/{bob_tweet['id']}").status == 200
    assert get_user(api, bob.id)["tweets_count"] == 1

    # Follow: the follower is alice even if the body names bob.
    r = api.post(f"/v1/users/{carol.id}/follows",
                 {"follower_id": bob.id, "user_id": bob.id}, token=alice.token)
    assert r.status == 201, r
    assert list_ids(api, f"/v1/users/{carol.id}/followers") == [alice.id]
    assert list_ids(api, f"/v1/users/{bob.id}/following") == []

    # Unfollow with a body naming bob: bob follows carol, alice unfollows.
    assert api.post(f"/v1/users/{carol.id}/follows", token=bob.token).status == 201
    r = api.delete(f"/v1/users/{carol.id}/follows", token=alice.token,
                   body=b'{"follower_id":"%s"}' % bob.id.encode())
    assert r.status == 204, r
    assert list_ids(api, f"/v1/users/{carol.id}/followers") == [bob.id]
    assert get_user(api, carol.id)["followers_count"] == 1

    # Log out: only alice's token dies.
    assert api.delete("/v1/sessions/current", token=alice.token).status == 204
    assert api.get("/v1/feed", token=bob.token).status == 200
    assert api.get("/v1/feed", token=carol.token).status == 200
    assert_error(api.get("/v1/feed", token=alice.token), 401, "unauthorized")


def test_feed_is_the_token_owners(api, make_user):
    a = make_user()
    b = make_user()
    ta = post_tweet(api, a, "a's")
    post_tweet(api, b, "b's")
    eventually(lambda: [t["id"] for t in api.get(
        f"/v1/feed?user_id={b.id}", token=a.token).json] == [ta["id"]],
        what="a's feed is a's, whatever the query says")


def test_logout_from_one_device_keeps_others(api, make_user):
    u = make_user()
    tokens = [u.token, new_token(api, u), new_token(api, u)]
    assert api.delete("/v1/sessions/current", token=tokens[1]).status == 204
    assert api.get("/v1/feed", token=tokens[0]).status == 200
    assert api.get("/v1/feed", token=tokens[2]).status == 200
    assert_error(api.get("/v1/feed", token=tokens[1]), 401, "unauthorized")
