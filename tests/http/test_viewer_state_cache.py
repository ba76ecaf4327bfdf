"""The readers' likes and retweets in memory (timeline/engagement.h): with
SQLite opened exclusive (the default), a warm feed page takes the reader's
"liked" and "retweeted" from memory, and every like, unlike, retweet, undo
and delete of the reader's shows on the very next page, as without a cache.

Each test reads the feed first (so the reader's state is cached) and then
changes it: a cache that missed one of those writes fails here. With
PostgreSQL there is no such cache."""

from chirp_client import ON_POSTGRES, create_user, follow, post_tweet
from metrics_scrape import counters
from test_retweets import feed, retweet, unretweet
from test_social import like, unlike


def counts(api):
    return counters(api, "chirp_viewer_state_cache_hits_total",
                    "chirp_viewer_state_cache_misses_total")


def states(api, reader):
    """{tweet id: (liked, retweeted)} of what the reader's first page shows."""
    out = {}
    for item in feed(api, reader):
        shown = item.get("retweet_of", item)
        out[shown["id"]] = (shown["liked"], shown["retweeted"])
    return out


def a_reader(api, n=3):
    reader, author = create_user(api), create_user(api)
    follow(api, reader, author.id)
    ids = [post_tweet(api, author)["id"] for _ in range(n)]
    return reader, author, ids


def test_warm_pages_read_the_readers_state_from_memory_on_sqlite_only(api):
    reader, _, ids = a_reader(api)
    states(api, reader)  # fills
    hits, _ = counts(api)
    for _ in range(4):
        assert all(s == (False, False) for s in states(api, reader).values())
    after, _ = counts(api)
    if ON_POSTGRES:
        assert after == 0, "a cache where other nodes like too"
    else:
        assert after - hits >= 4, (hits, after)


def test_likes_and_unlikes_show_on_the_next_page(api):
    reader, _, ids = a_reader(api)
    assert states(api, reader)[ids[0]] == (False, False)
    states(api, reader)
    like(api, reader, ids[0])
    assert states(api, reader)[ids[0]] == (True, False)
    assert states(api, reader)[ids[1]] == (False, False)
    unlike(api, reader, ids[0])
    assert states(api, reader)[ids[0]] == (False, False)


def test_retweets_undos_and_deletes_show_on_the_next_page(api):
    reader, _, ids = a_reader(api)
    states(api, reader)
    rt = retweet(api, reader, ids[1]).json
    assert states(api, reader)[ids[1]] == (False, True)
    unretweet(api, reader, ids[1])
    assert states(api, reader)[ids[1]] == (False, False)
    # a retweet deleted as a tweet of the reader's own
    rt = retweet(api, reader, ids[2]).json
    like(api, reader, ids[2])
    assert states(api, reader)[ids[2]] == (True, True)
    assert api.delete(f"/v1/tweets/{rt['id']}", token=reader.token).status == 204
    assert states(api, reader)[ids[2]] == (True, False)


def test_another_readers_likes_are_not_mine(api):
    reader, author, ids = a_reader(api)
    other = create_user(api)
    follow(api, other, author.id)
    states(api, reader)
    states(api, other)
    like(api, other, ids[0])
    assert states(api, reader)[ids[0]] == (False, False)
    assert states(api, other)[ids[0]] == (True, False)


def test_a_reader_with_more_likes_than_the_cache_keeps(api):
    """Past ENGAGEMENT_MAX (16) likes in a page's span the state is read
    from the store, and is as right."""
    reader, _, ids = a_reader(api, n=24)
    for t in ids[:20]:
        like(api, reader, t)
    for _ in range(2):
        got = states(api, reader)
        assert all(got[t] == (True, False) for t in ids[:20]), got
        assert all(got[t] == (False, False) for t in ids[20:]), got
