"""Mentions, hashtags and trends (issue 15): a Tweet's "entities" parsed
when it is posted, GET /v1/hashtags/{tag}/tweets and GET /v1/trends.
docs/api.md has the rules."""

import secrets
from urllib.parse import quote

from chirp_client import (assert_error, assert_newest_first, assert_tweet_shape, eventually,
                          parse_links, post_tweet)


def tag():
    return "t" + secrets.token_hex(5)


def hashtag_page(api, t, query="", token=None):
    r = api.get(f"/v1/hashtags/{t}/tweets{query}", token=token)
    assert r.status == 200, r
    for x in r.json:
        assert_tweet_shape(x)
    assert_newest_first(r.json)
    return r


def test_entities_are_parsed_when_posted(api, make_user):
    a, b = make_user(), make_user()
    text = f"é @{b.handle.upper()} see #Café and #{b.handle}x, not @nobody_{tag()} or a@b.c"
    t = post_tweet(api, a, text)
    ent = t["entities"]
    assert set(ent) == {"mentions", "hashtags"}
    assert ent["mentions"] == [{"id": b.id, "handle": b.handle, "start": 2,
                                "end": 3 + len(b.handle)}]
    tags = [h["tag"] for h in ent["hashtags"]]
    assert tags == ["Café", f"{b.handle}x"], ent
    cafe = ent["hashtags"][0]
    # Offsets are code points of the text.
    assert list(text)[cafe["start"]:cafe["end"]] == list("#Café")
    # Stored: every read path shows the same entities.
    assert api.get(f"/v1/tweets/{t['id']}").json["entities"] == ent
    plain = post_tweet(api, a, "nothing to link here")
    assert plain["entities"] == {"mentions": [], "hashtags": []}


def test_a_tags_page_is_newest_first_case_insensitive_and_paged(api, make_user):
    a, b = make_user(), make_user()
    t = tag()
    ids = [post_tweet(api, u, f"#{x} number {i}")["id"]
           for i, (u, x) in enumerate([(a, t), (b, t.upper()), (a, t.capitalize())])]
    post_tweet(api, a, f"#{t}extra is another tag")
    for spelled in (t, t.upper()):
        assert [x["id"] for x in hashtag_page(api, spelled).json] == ids[::-1]
    r = hashtag_page(api, t, "?limit=2")
    assert [x["id"] for x in r.json] == [ids[2], ids[1]]
    nxt = parse_links(r)["next"]
    r2 = api.get(nxt[nxt.index("/v1/"):])
    assert [x["id"] for x in r2.json] == [ids[0]], r2
    # A deleted tweet leaves the page.
    assert api.delete(f"/v1/tweets/{ids[2]}", token=a.token).status == 204
    assert [x["id"] for x in hashtag_page(api, t).json] == [ids[1], ids[0]]
    assert hashtag_page(api, tag()).json == []
    # Non-ASCII tags go percent-encoded in the path.
    u = "café" + secrets.token_hex(3)
    tw = post_tweet(api, a, f"#{u}")
    assert [x["id"] for x in hashtag_page(api, quote(u)).json] == [tw["id"]]


def test_bad_tags_are_400(api, make_user):
    # Long ones at every bound of the decoder (a 300-byte tag once overran
    # its buffer and crashed the server): refused, and the server lives.
    for bad in ("%23tag", "2024", "two%20words", "a-b", "%FF%FE", "x" * 51, "%" * 3,
                quote("😀"), "x" * 201, "x" * 300, "x" * 600, "x" * 601, quote("é") * 101,
                quote("é" * 200)):
        assert_error(api.get(f"/v1/hashtags/{bad}/tweets"), 400, "invalid_tag")
    assert api.get("/healthz").status == 200
    assert_error(api.get(f"/v1/hashtags/ok/tweets?limit=0"), 422, "invalid_limit")
    assert api.get("/v1/hashtags/" + "x" * 50 + "/tweets").status == 200


def test_trends_rank_tags_by_distinct_authors(api, make_user):
    users = [make_user() for _ in range(3)]
    wide, busy = tag(), tag()
    for u in users:                      # three authors once each
        post_tweet(api, u, f"#{wide}")
    for _ in range(4):                   # two authors, five tweets
        post_tweet(api, users[0], f"#{busy} #{busy.upper()}")
    post_tweet(api, users[1], f"#{busy}")

    def ranked():
        r = api.get("/v1/trends")
        assert r.status == 200, r
        assert len(r.json) <= 10
        for x in r.json:
            assert set(x) == {"tag", "authors", "tweets"}, x
        got = {x["tag"]: x for x in r.json}
        return r.json if wide in got and busy in got and got[busy]["tweets"] == 5 else None
    top = eventually(ranked, timeout=10, what="both tags in the trends")
    got = {x["tag"]: x for x in top}
    assert got[wide] == {"tag": wide, "authors": 3, "tweets": 3}
    assert got[busy] == {"tag": busy, "authors": 2, "tweets": 5}  # once per tweet
    order = [x["tag"] for x in top]
    assert order.index(wide) < order.index(busy)
    pairs = [(x["authors"], x["tweets"]) for x in top]
    assert pairs == sorted(pairs, reverse=True)
