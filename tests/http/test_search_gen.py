"""bench/chirp-gen's tweet text, which the search benchmark relies on
(bench/gen.c, "text"): words drawn with a Zipf law from a dictionary, the
theme words at the top ranks, hashtags and mentions, the same for the same
seed; and chirp searches a data set it made.

chirp-gen is built by `make bench-tools` (CHIRP_GEN overrides where it is).
"""

import collections
import os
import sqlite3
import subprocess

import pytest

from chirp_client import ON_POSTGRES, eventually
from test_search import search

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = os.environ.get("CHIRP_GEN", os.path.join(ROOT, "build/release/bench/chirp-gen"))
WORDS = "/usr/share/dict/words"

pytestmark = [
    pytest.mark.skipif(not os.access(GEN, os.X_OK),
                       reason=f"no chirp-gen at {GEN}: make bench-tools"),
    pytest.mark.skipif(not os.path.exists(WORDS),
                       reason=f"no {WORDS}: make deps (package wamerican)"),
]


def generate(path, *args, tweets=3000):
    subprocess.run([GEN, "--data", str(path), "--users", "50", "--follows", "5",
                    "--tweets", str(tweets), "--tokens", "5", *args],
                   check=True, capture_output=True, timeout=120)
    return path


def tweets(path):
    db = sqlite3.connect(os.path.join(str(path), "chirp.db"))
    rows = [r[0] for r in db.execute("SELECT text FROM tweets ORDER BY id")]
    db.close()
    return rows


def test_text_is_zipf_over_a_dictionary_with_tags_and_mentions(tmp_path):
    texts = tweets(generate(tmp_path / "a", "--seed", "7"))
    assert texts == tweets(generate(tmp_path / "b", "--seed", "7")), "same seed, same text"
    assert texts != tweets(generate(tmp_path / "c", "--seed", "8"))

    words = collections.Counter(w for t in texts for w in t.split()
                                if w[0] not in "#@")
    ranked = [w for w, _ in words.most_common()]
    # The theme words lead, in their order; a long tail of dictionary words.
    assert ranked[:3] == ["the", "feed", "timeline"], ranked[:10]
    assert words["the"] > 3 * words["coffee"] > 0  # ranks 1 and 5: 5 times, by Zipf
    assert len(words) > 2000, "a dictionary's vocabulary, not a few dozen words"
    with open(WORDS, encoding="utf-8", errors="replace") as f:
        dictionary = {line.strip() for line in f}
    assert len([w for w in words if w not in dictionary]) <= 37, "the theme words, else the dictionary's"
    tags = [t for t in texts if "#" in t]
    mentions = [w for t in texts for w in t.split() if w.startswith("@")]
    assert 0.1 < len(tags) / len(texts) < 0.5
    assert mentions and all(w[1:5] == "user" and int(w[5:]) < 50 for w in mentions)
    assert all(0 < len(t) <= 280 for t in texts)


def test_add_tweets_and_a_missing_dictionary(tmp_path):
    path = generate(tmp_path / "a")
    subprocess.run([GEN, "--data", str(path), "--add-tweets", "500"], check=True,
                   capture_output=True, timeout=120)
    assert len(tweets(path)) == 3500
    r = subprocess.run([GEN, "--data", str(tmp_path / "b"), "--users", "5", "--follows", "1",
                        "--tweets", "5", "--words", str(tmp_path / "none")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "wamerican" in r.stderr, r.stderr


@pytest.mark.skipif(ON_POSTGRES, reason="chirp-gen writes a SQLite store")
def test_chirp_searches_a_generated_data_set(tmp_path, server_factory):
    path = generate(tmp_path / "data", "--seed", "3", tweets=500)
    texts = tweets(path)
    srv = server_factory(data_dir=path)
    srv.start()
    api = srv.client()
    want = sum("coffee" in t.split() for t in texts)
    # (Each new word brings its typo variants: slow to index under the
    # sanitizers.)
    eventually(lambda: len(search(api, "coffee", sort="recent", limit=100).json)
               >= min(want, 100), timeout=120, what="the generated tweets indexed")
    found = search(api, "coff*", limit=40).json
    assert found and all("coff" in t["text"] for t in found)
