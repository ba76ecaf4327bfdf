"""The feed at scale (timeline/feed.h): hybrid fanout, celebrity merge,
the tweet cache and its tombstones, timelines rebuilt from the store, and
pages past a timeline's cap read from the store.

These run on private servers with small limits (a celebrity threshold of 3
followers, 5 ids per timeline, 1 s idle time) so that every path of the
read side is taken with a handful of users and tweets.
"""
import re
import time

import pytest

from chirp_client import TEST_STORE, create_user, start_server
from metrics_scrape import get_metrics

THRESHOLD = 3   # --celebrity-threshold: more followers than this: celebrity
CAP = 5         # --timeline-cap


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feed-scale")
    srv = start_server(tmp, "small", "--celebrity-threshold", str(THRESHOLD),
                       "--timeline-cap", str(CAP))
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture
def api(small):
    return small.live_client()


def feed_ids(api, user, query="limit=100"):
    r = api.get(f"/v1/feed?{query}", token=user.token)
    assert r.status == 200, r
    return [t["id"] for t in r.json]


def post(api, user, text):
    r = api.post("/v1/tweets", {"text": text}, token=user.token)
    assert r.status == 201, r
    return r.json["id"]


def follow(api, who, whom):
    r = api.post(f"/v1/users/{whom.id}/follows", token=who.token)
    assert r.status in (200, 201), r
    return r.json


def unfollow(api, who, whom):
    assert api.delete(f"/v1/users/{whom.id}/follows", token=who.token).status == 204


def metric(api, name):
    text = get_metrics(api).body.decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


def eventually(check, timeout=5.0):
    """Fanout is asynchronous: a follower may see a tweet a moment late."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_fanout_reaches_a_followers_built_timeline(api):
    a, b = create_user(api, "fa"), create_user(api, "fb")
    follow(api, a, b)
    assert feed_ids(api, a) == []          # a's timeline is built now
    t = post(api, b, "fanned out")
    eventually(lambda: feed_ids(api, a) == [t])
    assert feed_ids(api, b) == [t]         # the author sees it at once


def test_follow_brings_recent_tweets_and_unfollow_takes_them(api):
    a, b = create_user(api, "fa"), create_user(api, "fb")
    mine = post(api, a, "mine")
    older = [post(api, b, f"before the follow {i}") for i in range(3)]
    assert feed_ids(api, a) == [mine]
    follow(api, a, b)
    assert feed_ids(api, a) == sorted(older + [mine], key=int, reverse=True)
    unfollow(api, a, b)
    assert feed_ids(api, a) == [mine]


def test_deleted_tweet_is_gone_from_every_feed_when_delete_returns(api):
    author = create_user(api, "da")
    readers = [create_user(api, "dr") for _ in range(2)]
    for r in readers:
        follow(api, r, author)
        feed_ids(api, r)
    t = post(api, author, "soon gone")
    for r in readers:
        eventually(lambda r=r: t in feed_ids(api, r))
    assert api.get(f"/v1/tweets/{t}").status == 200   # now in the cache
    assert api.delete(f"/v1/tweets/{t}", token=author.token).status == 204
    # No waiting: the 204 means it is gone everywhere.
    for r in readers:
        assert t not in feed_ids(api, r)
    assert t not in feed_ids(api, author)
    assert api.get(f"/v1/tweets/{t}").status == 404
    assert t not in [x["id"] for x in api.get(f"/v1/users/{author.id}/tweets").json]


def test_delete_keeps_pages_full(api):
    a, b = create_user(api, "pa"), create_user(api, "pb")
    follow(api, a, b)
    ids = [post(api, b, f"t{i}") for i in range(4)]
    eventually(lambda: len(feed_ids(api, a)) == 4)
    assert api.delete(f"/v1/tweets/{ids[3]}", token=b.token).status == 204
    # The newest is gone; a page of 3 is still 3 tweets.
    assert feed_ids(api, a, "limit=3") == ids[2::-1]


def make_celebrity(api, prefix):
    celeb = create_user(api, prefix)
    fans = [create_user(api, prefix + "f") for _ in range(THRESHOLD + 1)]
    for f in fans:
        follow(api, f, celeb)
    assert api.get(f"/v1/users/{celeb.id}").json["followers_count"] > THRESHOLD
    return celeb, fans


def test_celebrity_tweets_are_merged_at_read_time(api):
    celeb, fans = make_celebrity(api, "ce")
    reader = fans[0]
    own = post(api, reader, "a fan's own")
    t = post(api, celeb, "to my many fans")
    # Not fanned out, yet there at once: merged when the fan reads.
    for f in fans:
        assert t in feed_ids(api, f)
    assert feed_ids(api, reader)[:2] == [t, own]


def test_becoming_a_celebrity_and_back_loses_nothing(api):
    star = create_user(api, "st")
    fans = [create_user(api, "sf") for _ in range(THRESHOLD + 1)]
    for f in fans[:THRESHOLD]:
        follow(api, f, star)
    reader = fans[0]
    t1 = post(api, star, "still ordinary")
    eventually(lambda: t1 in feed_ids(api, reader))
    follow(api, fans[THRESHOLD], star)      # crosses the threshold
    t2 = post(api, star, "now a celebrity")
    assert feed_ids(api, reader)[:2] == [t2, t1]
    unfollow(api, fans[THRESHOLD], star)    # and back below it
    t3 = post(api, star, "ordinary again")
    eventually(lambda: feed_ids(api, reader)[:3] == [t3, t2, t1])


def walk(api, user, limit):
    """Every id of the user's feed, page by page through the Link header."""
    seen, path = [], f"/v1/feed?limit={limit}"
    for _ in range(50):
        r = api.get(path, token=user.token)
        assert r.status == 200, r
        if not r.json:
            return seen
        seen += [t["id"] for t in r.json]
        path = re.search(r'<([^>]*)>; rel="next"', r.header("Link")).group(1)
    raise AssertionError("the walk did not end")


def test_pages_of_several_celebrities_interleave_in_order(api):
    """Two celebrities and an ordinary author, posting in turns: each page
    (max_id pages of 2, crossing from one source to another) is the merge
    of every list, newest first, each tweet once, and no page falls back
    to the store (every list holds its part: at most CAP ids each)."""
    c1, fans = make_celebrity(api, "m1")
    c2, _ = make_celebrity(api, "m2")
    plain = create_user(api, "mp")
    reader = fans[0]
    follow(api, reader, c2)
    follow(api, reader, plain)
    feed_ids(api, reader)                   # built now: later pushes fan out
    posted = []
    for i in range(3):
        posted += [post(api, c1, f"c1 {i}"), post(api, plain, f"plain {i}"),
                   post(api, c2, f"c2 {i}")]
    expected = sorted(posted, key=int, reverse=True)
    eventually(lambda: feed_ids(api, reader) == expected)
    before = metric(api, "chirp_feed_store_pages_total")
    assert walk(api, reader, 2) == expected
    assert walk(api, reader, 4) == expected
    assert metric(api, "chirp_feed_store_pages_total") == before
    # A page that starts inside the merge: max_id is strictly older.
    mid = expected[4]
    assert feed_ids(api, reader, f"limit=3&max_id={mid}") == expected[5:8]
    # min_id pages forward from the cursor: the oldest three above it,
    # newest first; since_id keeps the newest above it.
    assert feed_ids(api, reader, f"limit=3&min_id={mid}") == expected[1:4]
    assert feed_ids(api, reader, f"limit=3&since_id={mid}") == expected[0:3]
    assert feed_ids(api, reader, f"limit=20&min_id={expected[-1]}") == expected[:-1]


def merges(api):
    return (metric(api, "chirp_feed_celebrity_merges_index_total"),
            metric(api, "chirp_feed_celebrity_merges_lists_total"))


@pytest.mark.skipif(TEST_STORE == "cluster", reason="the index is in-process: Redis "
                    "timelines are read list by list")
def test_celebrity_pages_merge_from_one_index_and_stay_exact(api):
    """Once each followed celebrity's list is built, a page takes their
    tweets from the one shared index (timeline.h, range_union), not list
    by list; what the index cannot answer exactly (a celebrity with more
    tweets than a list keeps, read below them) is read from the lists
    and the store, and every page is still the whole merge."""
    c1, fans = make_celebrity(api, "u1")
    c2, _ = make_celebrity(api, "u2")
    reader = fans[0]
    follow(api, reader, c2)
    posted = [post(api, reader, "own")]
    for i in range(2):
        posted += [post(api, c1, f"c1 {i}"), post(api, c2, f"c2 {i}")]
    expected = sorted(posted, key=int, reverse=True)
    assert feed_ids(api, reader) == expected   # builds each celebrity's list
    index, lists = merges(api)
    assert walk(api, reader, 2) == expected
    assert feed_ids(api, reader, f"limit=2&min_id={expected[-1]}") == expected[-3:-1]
    assert merges(api) == (index + 5, lists)   # 3 pages, an empty one, min_id
    # More than a list keeps, pushed while indexed: still all in the index.
    more = [post(api, c1, f"c1 more {i}") for i in range(CAP + 2)]
    expected = sorted(expected + more, key=int, reverse=True)
    index, lists = merges(api)
    assert walk(api, reader, 3) == expected
    assert merges(api)[1] == lists

    # A celebrity whose list is built already cut at the cap: pages
    # below what it holds are read the slow way, and stay whole.
    c3, fans3 = make_celebrity(api, "u3")
    old = [post(api, c3, f"c3 {i}") for i in range(CAP + 3)]
    reader3 = fans3[0]
    expected3 = sorted(old, key=int, reverse=True)
    index, lists = merges(api)
    assert feed_ids(api, reader3, "limit=2") == expected3[:2]
    assert walk(api, reader3, 2) == expected3
    now_index, now_lists = merges(api)
    assert now_index > index + 1 and now_lists > lists


def test_deleted_celebrity_tweet_leaves_merged_pages_at_once(api):
    celeb, fans = make_celebrity(api, "dc")
    reader = fans[0]
    own = [post(api, reader, f"own {i}") for i in range(2)]
    star = [post(api, celeb, f"star {i}") for i in range(3)]
    expected = sorted(own + star, key=int, reverse=True)
    assert feed_ids(api, reader) == expected
    gone = star[1]
    assert api.delete(f"/v1/tweets/{gone}", token=celeb.token).status == 204
    # No waiting: the merged page is without it, and a page is still full.
    rest = [t for t in expected if t != gone]
    assert feed_ids(api, reader) == rest
    assert feed_ids(api, reader, "limit=3") == rest[:3]
    assert walk(api, reader, 2) == rest


def test_celebrity_dropping_below_the_threshold_keeps_order_beside_another(api):
    """One followed celebrity goes back below the threshold while another
    stays: the tweets posted meanwhile (never fanned out) stay in the
    reader's feed, in order, beside the other's."""
    stay, fans = make_celebrity(api, "ks")
    drop, drop_fans = make_celebrity(api, "kd")
    reader = fans[0]
    follow(api, reader, drop)
    a = [post(api, drop, "while famous"), post(api, stay, "always famous")]
    assert feed_ids(api, reader) == a[::-1]
    for f in drop_fans[:2]:
        unfollow(api, f, drop)              # back to THRESHOLD followers
    assert api.get(f"/v1/users/{drop.id}").json["followers_count"] <= THRESHOLD
    b = [post(api, drop, "ordinary now"), post(api, stay, "still famous")]
    expected = (a + b)[::-1]
    eventually(lambda: feed_ids(api, reader) == expected)
    assert walk(api, reader, 1) == expected


def test_paging_past_the_cap_reads_the_store(api):
    a, b = create_user(api, "ca"), create_user(api, "cb")
    follow(api, a, b)
    feed_ids(api, a)
    posted = [post(api, b, f"deep {i}") for i in range(3 * CAP)]
    expected = sorted(posted, key=int, reverse=True)
    eventually(lambda: feed_ids(api, a, "limit=1") == expected[:1])
    before = metric(api, "chirp_feed_store_pages_total")
    seen, path = [], "/v1/feed?limit=4"
    for _ in range(20):
        r = api.get(path, token=a.token)
        assert r.status == 200
        if not r.json:
            break
        seen += [t["id"] for t in r.json]
        path = re.search(r'<([^>]*)>; rel="next"', r.header("Link")).group(1)
    assert seen == expected                # every tweet once, in order
    assert metric(api, "chirp_feed_store_pages_total") > before


def test_no_duplicates_across_pages_while_tweets_arrive(api):
    a, b = create_user(api, "na"), create_user(api, "nb")
    follow(api, a, b)
    first = [post(api, b, f"early {i}") for i in range(8)]
    eventually(lambda: len(feed_ids(api, a)) == 8)
    seen, path, late = [], "/v1/feed?limit=3", []
    for _ in range(10):
        r = api.get(path, token=a.token)
        if not r.json:
            break
        seen += [t["id"] for t in r.json]
        late.append(post(api, b, "arrives while paging"))
        path = re.search(r'<([^>]*)>; rel="next"', r.header("Link")).group(1)
    assert len(seen) == len(set(seen))
    assert seen == sorted(first, key=int, reverse=True)
    # The newer ones are all there, once each, from the top.
    eventually(lambda: set(late) <= set(feed_ids(api, a)))
    top = feed_ids(api, a)
    assert len(top) == len(set(top))


def test_idle_timeline_is_dropped_and_rebuilt(tmp_path):
    srv = start_server(tmp_path, "idle", "--timeline-idle", "1")
    try:
        api = srv.client()
        a, b = create_user(api, "ia"), create_user(api, "ib")
        follow(api, a, b)
        t1 = post(api, b, "before the nap")
        eventually(lambda: feed_ids(api, a) == [t1])
        rebuilds = metric(api, "chirp_timeline_rebuilds_total")
        time.sleep(1.5)                      # a stops reading for a while
        t2 = post(api, b, "during the nap")  # not fed to an idle timeline
        assert feed_ids(api, a) == [t2, t1]  # rebuilt from the store
        assert metric(api, "chirp_timeline_rebuilds_total") > rebuilds
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_restart_loses_no_tweets_and_rebuilds_timelines(tmp_path):
    srv = start_server(tmp_path, "restart")
    api = srv.client()
    a, b = create_user(api, "ra"), create_user(api, "rb")
    follow(api, a, b)
    feed_ids(api, a)
    ids = [post(api, b, f"before the crash {i}") for i in range(5)]
    srv.kill9()                              # memory is gone, the store is not
    srv.start()
    try:
        api = srv.client()
        assert feed_ids(api, a) == ids[::-1]
        assert metric(api, "chirp_timeline_rebuilds_total") >= 1
    finally:
        assert srv.stop() == 0, srv.log_tail()


def reads_on_the_loop(srv):
    """Whether srv reads its store on the event loops (embedded SQLite,
    not --offload-reads): only then can a read move off a loop."""
    return TEST_STORE == "sqlite" and "--offload-reads" not in srv.extra_args


def test_a_rebuild_moves_off_the_loop_and_a_warm_read_stays(tmp_path):
    """A feed read on an event loop that finds its timeline gone (here: a
    restart) is answered by a worker, which rebuilds it; the next read is
    answered on the loop from the rebuilt timeline. Both pages are whole."""
    srv = start_server(tmp_path, "cold")
    api = srv.client()
    a, b, c = create_user(api, "ka"), create_user(api, "kb"), create_user(api, "kc")
    follow(api, a, b)
    follow(api, a, c)
    ids = [post(api, u, f"cold {i}") for i in range(4) for u in (b, c)]
    srv.kill9()
    srv.start()
    try:
        api = srv.client()
        moved = "chirp_feed_reads_moved_off_loop_total"
        assert metric(api, moved) == 0
        want = sorted(ids, key=int, reverse=True)
        assert feed_ids(api, a) == want                       # rebuilt on a worker
        assert feed_ids(api, a, "limit=3") == want[:3]        # from memory
        r = api.get(f"/v1/feed?limit=3&max_id={want[2]}", token=a.token)
        assert [t["id"] for t in r.json] == want[3:6]
        on_loop = reads_on_the_loop(srv)
        assert metric(api, moved) == (1 if on_loop else 0)
        assert metric(api, "chirp_timeline_rebuilds_total") == 1
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_pages_past_the_cap_move_off_the_loop_and_stay_whole(tmp_path):
    """A page below a timeline's cap is read from the store, on a worker
    when reads run on the loop: paging the whole feed gives every tweet
    once, in order, as it does from memory."""
    srv = start_server(tmp_path, "deep", "--timeline-cap", str(CAP))
    try:
        api = srv.client()
        a, b = create_user(api, "da"), create_user(api, "db")
        follow(api, a, b)
        feed_ids(api, a)
        posted = [post(api, b, f"deep {i}") for i in range(3 * CAP)]
        expected = sorted(posted, key=int, reverse=True)
        eventually(lambda: feed_ids(api, a, "limit=1") == expected[:1])
        moved = metric(api, "chirp_feed_reads_moved_off_loop_total")
        seen, path = [], "/v1/feed?limit=4"
        for _ in range(20):
            r = api.get(path, token=a.token)
            assert r.status == 200
            if not r.json:
                break
            seen += [t["id"] for t in r.json]
            path = re.search(r'<([^>]*)>; rel="next"', r.header("Link")).group(1)
        assert seen == expected
        after = metric(api, "chirp_feed_reads_moved_off_loop_total")
        assert (after > moved) == reads_on_the_loop(srv)
    finally:
        assert srv.stop() == 0, srv.log_tail()
