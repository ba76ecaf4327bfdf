"""GET /v1/search/tweets and /v1/search/users (docs/api.md, "Search").

The index is updated asynchronously, so a new tweet is polled for; a deleted
tweet must be gone as soon as its DELETE returns, so that is checked at once.
Every test searches for words made up for it, so the tests sharing a server
never see each other's tweets.
"""

import os
import secrets
import sqlite3
import urllib.parse

import pytest

from chirp_client import (ON_POSTGRES, assert_error, assert_tweet_shape,
                          assert_user_shape, create_user, eventually, parse_links,
                          post_tweet)

# Consonants only: the stemmer leaves such words alone, so a test knows
# exactly which word is in the index.
LETTERS = "bcdfghjkmnpqrtvwxz"


def word(n=9):
    return "".join(secrets.choice(LETTERS) for _ in range(n))


def search(api, q, path="/v1/search/tweets", **params):
    params["q"] = q
    r = api.get(path + "?" + urllib.parse.urlencode(params))
    assert r.status == 200, r
    assert isinstance(r.json, list), r
    return r


def texts(api, q, **params):
    r = search(api, q, **params)
    for t in r.json:
        assert_tweet_shape(t)
    return [t["text"] for t in r.json]


def found(api, q, want, **params):
    """Polls until the search returns exactly `want` (in order)."""
    return eventually(lambda: texts(api, q, **params) == want,
                      what=f"search {q!r} == {want}")


def test_stemming_matches_other_forms_of_a_word(api, make_user):
    u = make_user()
    m = word()
    post_tweet(api, u, f"{m} I was running late")
    post_tweet(api, u, f"{m} she runs every day")
    post_tweet(api, u, f"{m} a good run")
    post_tweet(api, u, f"{m} nothing to see")
    want = [f"{m} a good run", f"{m} she runs every day", f"{m} I was running late"]
    for q in ("run", "running", "runs"):
        eventually(lambda: sorted(texts(api, f"{m} {q}")) == sorted(want),
                   what=f"{q!r} finds every form of run")


def test_diacritics_and_case_do_not_matter(api, make_user):
    u = make_user()
    m = word()
    post_tweet(api, u, f"{m} Café crème brûlée")
    want = [f"{m} Café crème brûlée"]
    found(api, f"{m} cafe", want)
    for q in ("CAFE", "café", "Creme", "brulee", "BRÛLÉE"):
        assert texts(api, f"{m} {q}") == want, q


def test_one_typo_still_matches(api, make_user):
    u = make_user()
    m = word()
    short = word(6)   # one edit allowed
    long_ = word(10)  # two edits allowed
    post_tweet(api, u, f"{m} {short} and {long_}")
    want = [f"{m} {short} and {long_}"]
    found(api, f"{m} {short}", want)

    def edit(w, i):
        return w[:i] + ("a" if w[i] != "a" else "e") + w[i + 1:]

    assert texts(api, f"{m} {edit(short, 2)}") == want, "one substitution"
    assert texts(api, f"{m} {short[:3] + short[4:]}") == want, "one deletion"
    assert texts(api, f"{m} {short[:3] + 'a' + short[3:]}") == want, "one insertion"
    swapped = short[:1] + short[2] + short[1] + short[3:]
    assert texts(api, f"{m} {swapped}") == want, "two neighbours swapped"
    assert texts(api, f"{m} {edit(edit(short, 1), 4)}") == [], \
        "two edits are too many for a six-letter word"
    assert texts(api, f"{m} {edit(edit(long_, 1), 6)}") == want, \
        "two edits are fine for a ten-letter word"


def test_exact_matches_rank_above_typo_matches(api, make_user):
    u = make_user()
    m = word()
    w = word(7)
    typo = w[:3] + "a" + w[4:]
    # The exact match is the older tweet: relevance must still put it first.
    post_tweet(api, u, f"{m} {w}")
    post_tweet(api, u, f"{m} {typo}")
    found(api, f"{m} {w}", [f"{m} {w}", f"{m} {typo}"])
    found(api, f"{m} {typo}", [f"{m} {typo}", f"{m} {w}"])
    # A page the exact matches fill has no typo matches (the adapters skip
    # the typo tier then); the next page has them.
    assert texts(api, f"{m} {w}", limit=1) == [f"{m} {w}"]
    assert texts(api, f"{m} {w}", limit=1, offset=1) == [f"{m} {typo}"]
    assert texts(api, f"{m} {w}", limit=1, offset=2) == []


def test_newest_first_takes_typo_matches_only_when_nothing_else_matches(api, make_user):
    u = make_user()
    m = word()
    w = word(7)
    typo = w[:3] + "a" + w[4:]
    post_tweet(api, u, f"{m} {typo}")
    found(api, f"{m} {w}", [f"{m} {typo}"], sort="recent")
    post_tweet(api, u, f"{m} {w}")
    found(api, f"{m} {w}", [f"{m} {w}"], sort="recent")
    # relevance keeps both, the exact match first
    assert texts(api, f"{m} {w}") == [f"{m} {w}", f"{m} {typo}"]


def test_phrase_needs_the_words_in_order(api, make_user):
    u = make_user()
    m = word()
    post_tweet(api, u, f"{m} the quick brown fox")
    post_tweet(api, u, f"{m} brown and quick")
    found(api, m, [f"{m} brown and quick", f"{m} the quick brown fox"], sort="recent")
    assert texts(api, f'{m} "quick brown"') == [f"{m} the quick brown fox"]
    assert sorted(texts(api, f"{m} quick brown")) == \
        sorted([f"{m} the quick brown fox", f"{m} brown and quick"])


def test_phrase_lists_newest_first_and_pages_by_offset(api, make_user):
    """A query with a phrase stops at the first page of matches newest
    first, even by relevance, where BM25 would put the oldest (the phrase
    twice in a short tweet) first."""
    u = make_user()
    m, a, b = word(), word(6), word(6)
    oldest = f"{m} {a} {b} {a} {b}"
    middle = f"{m} {a} {b} and then a good many other words to make it long"
    newest = f"{m} {a} {b} and more words that make this one long as well"
    for t in (oldest, middle, newest):
        post_tweet(api, u, t)
    found(api, m, [newest, middle, oldest], sort="recent")
    if not ON_POSTGRES:  # (ts_rank_cd does not weigh length: no telling order)
        assert texts(api, f"{m} {a} {b}")[0] == oldest, "by relevance without a phrase"
    assert texts(api, f'"{a} {b}"') == [newest, middle, oldest]
    assert texts(api, f'{m} "{a} {b}"', sort="relevance") == [newest, middle, oldest]
    assert texts(api, f'"{a} {b}"', offset=1, limit=1) == [middle]
    assert texts(api, f'"{a} {b}"', offset=2) == [oldest]
    assert texts(api, f'"{a} {b}"', offset=3) == []
    r = search(api, f'"{a} {b}"', offset=1, limit=1)
    assert "offset=2" in parse_links(r)["next"], parse_links(r)


def test_prefix(api, make_user):
    u = make_user()
    m = word()
    p = word(5)
    post_tweet(api, u, f"{m} {p}ological studies")
    post_tweet(api, u, f"{m} {p}x")
    post_tweet(api, u, f"{m} unrelated")
    found(api, f"{m} {p}*", [f"{m} {p}x", f"{m} {p}ological studies"])
    assert texts(api, f"{m} {p}olo*") == [f"{m} {p}ological studies"]
    # 2 to 4 characters: what the FTS5 prefix indexes answer (fts5.c).
    for n in (2, 3, 4):
        assert sorted(texts(api, f"{m} {p[:n]}*")) == \
            sorted([f"{m} {p}x", f"{m} {p}ological studies"]), n
        assert texts(api, f"{m} {p[:n]}*", sort="recent") == \
            [f"{m} {p}x", f"{m} {p}ological studies"], n


def test_prefix_past_the_prefix_indexes(api, make_user):
    """A prefix of 5 characters or more is searched as the words it begins
    (fts5.c, prefix_words): each is found, those with digits and the long
    ones too, and a prefix of too many words falls back to FTS5's own."""
    u = make_user()
    m, p, q = word(), word(5), word(5)
    tweets = [f"{m} {p}x", f"{m} {p}ological", f"{m} {p}42", f"{m} #{p}tag",
              f"{m} {p}{word(25)}", f"{m} {p[:4]}y"]
    many = [f"{q}{word(4)}" for _ in range(40)]  # past PREFIX_WORDS
    tweets += [f"{m} {' '.join(many[:20])}", f"{m} {' '.join(many[20:])}"]
    for t in tweets:
        post_tweet(api, u, t)
    found(api, m, list(reversed(tweets)), sort="recent", limit=20)
    want = list(reversed(tweets[:5]))
    assert texts(api, f"{m} {p}*", sort="recent") == want
    assert sorted(texts(api, f"{m} {p}*")) == sorted(want)
    assert texts(api, f"{m} {p}o*", sort="recent") == [f"{m} {p}ological"]
    assert texts(api, f"{p}4*") == [f"{m} {p}42"]
    assert texts(api, f"{m} {p}* {p}x") == [f"{m} {p}x"], "with other terms"
    assert texts(api, f"{m} {q}*", sort="recent") == list(reversed(tweets[-2:]))
    assert texts(api, f"{m} {many[3]}*") == [tweets[-2]]


def test_from_handle(api, make_user):
    alice = make_user("alice")
    bob = make_user("bob")
    m = word()
    post_tweet(api, alice, f"{m} from alice")
    post_tweet(api, bob, f"{m} from bob")
    found(api, m, [f"{m} from bob", f"{m} from alice"], sort="recent")
    assert texts(api, f"{m} from:{alice.handle}") == [f"{m} from alice"]
    assert texts(api, f"from:@{bob.handle} {m}") == [f"{m} from bob"]
    assert texts(api, f"{m} from:nobody{word(5)}") == []
    # from: alone lists the user's tweets
    assert f"{m} from bob" in texts(api, f"from:{bob.handle}", sort="recent")


def test_hashtags_and_mentions_stay_whole(api, make_user):
    u = make_user()
    m = word()
    tag = word(6)
    post_tweet(api, u, f"{m} loving #{tag} today")
    post_tweet(api, u, f"{m} the word {tag} alone")
    post_tweet(api, u, f"{m} hello @{tag}")
    eventually(lambda: len(texts(api, m, sort="recent")) == 3, what="all three indexed")
    assert texts(api, f"{m} #{tag}") == [f"{m} loving #{tag} today"]
    assert texts(api, f"{m} @{tag}") == [f"{m} hello @{tag}"]
    assert len(texts(api, f"{m} {tag}")) == 3, "the bare word finds all three"


def test_deleted_tweet_is_gone_when_delete_returns(api, make_user):
    u = make_user()
    m = word()
    keep = post_tweet(api, u, f"{m} keep me")
    gone = post_tweet(api, u, f"{m} delete me")
    found(api, m, [f"{m} delete me", f"{m} keep me"], sort="recent")
    r = api.delete(f"/v1/tweets/{gone['id']}", token=u.token)
    assert r.status == 204, r
    # At once, in both orders, whatever the index has done meanwhile.
    assert texts(api, m, sort="recent") == [keep["text"]]
    assert texts(api, m) == [keep["text"]]
    assert texts(api, f"{m} delete") == []


def test_recent_sort_and_paging(api, make_user):
    u = make_user()
    m = word()
    posted = [post_tweet(api, u, f"{m} number {i}")["id"] for i in range(7)]
    newest_first = list(reversed(posted))
    eventually(lambda: len(texts(api, m, sort="recent", limit=100)) == 7,
               what="all seven indexed")
    # sort=recent: id cursors, like every other list
    seen = []
    r = search(api, m, sort="recent", limit=3)
    while True:
        seen += [t["id"] for t in r.json]
        links = parse_links(r) or {}
        if not r.json or "next" not in links:
            break
        r = api.get(links["next"])
        assert r.status == 200, r
    assert seen == newest_first
    # relevance: offset pages, with no tweet twice and none left out
    seen = []
    r = search(api, m, limit=3)
    while True:
        seen += [t["id"] for t in r.json]
        links = parse_links(r) or {}
        if "next" not in links:
            break
        r = api.get(links["next"])
        assert r.status == 200, r
    assert sorted(seen) == sorted(posted)


@pytest.mark.parametrize("q", [
    '"', '""', '"""', '"unbalanced', 'a"b', "*", "**", "a**", "AND", "OR", "NOT",
    "a AND", "NOT a", "a OR b", "NEAR(a b)", "NEAR(a b, 2)", "text:a", "author:x",
    "author : \"from_1\"", "{text}: a", "{text author}: a", "^a", "a + b", "(((",
    ")", "-a", "a*b*", "from:", "from:@", "from:a:b", "from:" + "x" * 40, "@", "#",
    "#@#", "'; DROP TABLE tweets_fts; --", "rank MATCH 'x'", "\\", "\x00", "\x01\x02",
    "\u202e\u0000x", "🙂🙂🙂", "\u00a0", "\u3000テスト", "Ω≈ç√", "a" * 512,
    '"' * 512, "*" * 512, "(" * 256, "x" * 200 + " y",
])
def test_query_syntax_is_never_an_error(api, q):
    for path in ("/v1/search/tweets", "/v1/search/users"):
        r = api.get(path + "?" + urllib.parse.urlencode({"q": q}))
        assert r.status in (200, 422), r
        if r.status == 200:
            assert isinstance(r.json, list), r
        else:
            assert_error(r, 422)


def test_index_still_works_after_odd_queries(api, make_user):
    u = make_user()
    m = word()
    post_tweet(api, u, f"{m} still here")
    for q in ('"', "NEAR(", "'; DROP TABLE tweets_fts; --", "*"):
        api.get("/v1/search/tweets?" + urllib.parse.urlencode({"q": q}))
    found(api, m, [f"{m} still here"])


@pytest.mark.parametrize("path", ["/v1/search/tweets", "/v1/search/users"])
def test_bad_queries(api, path):
    assert_error(api.get(path), 422, "empty_query")
    assert_error(api.get(path + "?q="), 422, "empty_query")
    assert_error(api.get(path + "?q=+%20%09"), 422, "empty_query")
    assert_error(api.get(path + "?q=" + "a" * 513), 422, "query_too_long")
    assert_error(api.get(path + "?q=" + "%C3%A9" * 257), 422, "query_too_long")
    assert api.get(path + "?q=" + "a" * 512).status == 200
    assert_error(api.get(path + "?q=%ZZ"), 400, "invalid_query")
    assert_error(api.get(path + "?q=%FF"), 400, "invalid_utf8")
    assert_error(api.get(path + "?q=a&limit=0"), 422, "invalid_limit")
    assert_error(api.get(path + "?q=a&offset=1001"), 422, "invalid_offset")
    assert_error(api.get(path + "?q=a&offset=-1"), 422, "invalid_offset")
    if path.endswith("tweets"):
        assert_error(api.get(path + "?q=a&sort=oldest"), 422, "invalid_sort")
        assert_error(api.get(path + "?q=a&max_id=x"), 400, "invalid_id")


def test_users_by_handle_prefix_typo_and_name(api):
    base = word(7)

    def signup(handle, name):
        r = api.post("/v1/users", {"handle": handle, "password": "password123",
                                   "display_name": name})
        assert r.status == 201, r
        return r.json["id"]

    longer = signup(base + "xy", "Zoë Q Plumber")
    exact = signup(base, "Someone")

    def users(q):
        res = search(api, q, path="/v1/search/users")
        for x in res.json:
            assert_user_shape(x)
        return [x["id"] for x in res.json]

    # The exact handle first, though the other one also matches and is older.
    eventually(lambda: users(base) == [exact, longer], what="exact handle first")
    assert users("@" + base) == [exact, longer]
    assert users(base.upper()) == [exact, longer], "handles ignore case"
    # base + "x" is a prefix of one handle and a typo of the other.
    assert users(base + "x") == [longer, exact], "the prefix match ranks first"
    typo = base[:2] + "a" + base[3:] + "xy"
    assert users(typo)[0] == longer, "a typo in a handle"
    assert users(f"zoe plumber {base}") == [longer], "display name, diacritics aside"
    assert users(f"{base} {word(8)}") == [], "every word must match"


def test_index_catches_up_after_kill_9(server_factory):
    srv = server_factory()
    srv.start()
    api = srv.client()
    u = create_user(api, prefix="k")
    m = word()
    ids = [post_tweet(api, u, f"{m} number {i}")["id"] for i in range(30)]
    srv.kill9()
    srv.start()
    api = srv.client()
    eventually(lambda: sorted(t["id"] for t in search(
        api, m, sort="recent", limit=100).json) == sorted(ids),
        what="every acknowledged tweet searchable after a restart")
    assert [x["id"] for x in search(api, u.handle, path="/v1/search/users").json] == [u.id]


def test_users_by_a_typo_in_a_whole_handle(api):
    """A handle with '_' and digits, typed in full with a typo or two (the
    budget of a word of its length), finds its user first, as alxce_5b74a9
    finds alice_5b74a9; what matches as typed still comes before."""
    def signup(handle):
        r = api.post("/v1/users", {"handle": handle, "password": "password123",
                                   "display_name": "Someone"})
        assert r.status == 201, r
        return r.json["id"]

    def users(q):
        return [x["id"] for x in search(api, q, path="/v1/search/users").json]

    base = word(5)
    digits = f"{secrets.randbelow(10 ** 4):04d}"
    handle = f"{base}_5b{digits}"                  # 12 characters: two edits
    last = "0" if digits[-1] != "0" else "1"
    near = f"{base}_5b{digits[:3]}{last}"          # one edit from it, newer
    prefixed = f"{base}_5c{digits}zz"              # see the last case
    longer = f"{word(20)}_{digits}9"               # 26 characters, past a word's 20
    short = f"{word(3)}7"                          # 4 characters: one edit
    target, neighbour, pre, long_id, short_id = (
        signup(h) for h in (handle, near, prefixed, longer, short))
    eventually(lambda: users(short) == [short_id], what="the last user indexed")

    def swap(h, i):
        return h[:i] + h[i + 1] + h[i] + h[i + 2:]

    def change(h, i):
        return h[:i] + ("a" if h[i] != "a" else "e") + h[i + 1:]

    def expect(q, want, why):
        got = users(q)
        # On PostgreSQL a last tier of handles similar by trigrams
        # (pg_trgm), past the typo budget, may follow.
        assert (got[:len(want)] if ON_POSTGRES else got) == want, why

    # One typo, in the letters or the digits. The neighbour, newer but two
    # edits away, follows the nearer handle.
    expect(change(handle, 2), [target, neighbour], "a typo in the letters")
    expect(change(handle, 10), [target, neighbour], "a typo in the digits")
    expect(swap(handle, 7), [target, neighbour], "two neighbours swapped")
    expect(change(swap(handle, 5), 4), [target], "two edits in 12 characters")
    expect("@" + change(handle, 2).upper(), [target, neighbour], "case and @ aside")
    expect(change(short, 0), [short_id], "one edit in 4 characters")
    # Handles past FUZZY_MAX_CHARS tolerate typos too, whole.
    expect(change(longer, 3), [long_id], "a typo in a 26-character handle")
    # The handle typed exactly: it alone, without its neighbours.
    expect(handle, [target], "the handle itself")
    # A prefix of one handle and a typo of two others: the prefix match
    # first, then the typos, nearest first.
    expect(f"{base}_5c{digits}", [pre, target, neighbour], "as typed before typos")
    # No flood: three edits in 12 characters, or two in 4, find nothing
    # (PostgreSQL's trigrams may, after everything else).
    if not ON_POSTGRES:
        assert users(change(change(swap(handle, 5), 4), 0)) == []
        assert users(change(change(short, 0), 1)) == []


@pytest.mark.skipif(ON_POSTGRES, reason="search.db is the embedded index's; "
                    "tests/unit/test_search_pg.c upgrades PostgreSQL's")
def test_index_of_schema_1_learns_its_handles(server_factory):
    """search.db of schema 1 had no handles in its vocabulary: opened by
    this chirp, it indexes its users again, and a typo in a whole handle
    finds a user who signed up before the upgrade."""
    srv = server_factory()
    srv.start()
    api = srv.client()
    handle = f"{word(5)}_9q{secrets.randbelow(1000):03d}"
    r = api.post("/v1/users", {"handle": handle, "password": "password123"})
    assert r.status == 201, r
    uid = r.json["id"]

    def users(q):
        return [x["id"] for x in search(api, q, path="/v1/search/users").json]

    eventually(lambda: users(handle) == [uid], what="the user indexed")
    assert srv.stop() == 0
    db = sqlite3.connect(os.path.join(srv.data_dir, "search.db"))
    db.execute("DELETE FROM words WHERE src = 2")
    db.execute("DELETE FROM word_variants WHERE src = 2")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    srv.start()
    api = srv.client()
    typo = handle[:1] + "a" + handle[2:]
    eventually(lambda: users(typo) == [uid], what="the handle learnt again")


@pytest.mark.skipif(ON_POSTGRES, reason="search.db is the embedded index's")
def test_index_of_schema_2_is_made_again_with_prefix_indexes(server_factory):
    """search.db of schema 2 had no prefix indexes, which FTS5 cannot add
    to a table: opened by this chirp, its full-text tables are made again
    with them and every tweet and user is indexed again from the store."""
    srv = server_factory()
    srv.start()
    api = srv.client()
    u = create_user(api, prefix="p")
    m, p = word(), word(6)
    post_tweet(api, u, f"{m} {p}")
    found(api, f"{m} {p[:3]}*", [f"{m} {p}"])
    assert srv.stop() == 0
    path = os.path.join(srv.data_dir, "search.db")
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    srv.start()
    api = srv.client()
    found(api, f"{m} {p[:3]}*", [f"{m} {p}"])
    eventually(lambda: [x["id"] for x in search(api, u.handle, path="/v1/search/users").json]
               == [u.id], what="the user indexed again")
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    for table in ("tweets_fts", "users_fts"):
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        assert "prefix='2 3 4'" in sql, sql
    db.close()
