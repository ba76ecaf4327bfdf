"""pytest entry points for the crash-recovery test (crash_test.py).

- test_acknowledged_writes_survive_kill_9: the crash cycles themselves,
  CHIRP_CRASH_CYCLES of them (10 by default), seed from CHIRP_CRASH_SEED
  (random by default, printed in the report).
- test_harness_detects_lost_writes: the harness's own check: after the
  first kill by which an acknowledged tweet, follow, like and retweet
  exist (up to 3 cycles), all four are removed from the database before
  the restart; the run must fail and name all four.

Environment: CHIRP_BIN (default ./chirp at the top of the repo),
CHIRP_TIMEOUT_FACTOR (slower builds, e.g. the sanitizer one),
CHIRP_TEST_STORE=postgres (the same cycles on a throwaway PostgreSQL).
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import crash_test  # noqa: E402
from chirp_client import ON_POSTGRES, db_query, store_adapter_missing  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _require_binary_and_store(tmp_path_factory):
    path = crash_test.chirp_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"chirp binary not found at {path}: run `make` or set "
                    f"CHIRP_BIN", pytrace=False)
    missing = store_adapter_missing(tmp_path_factory.mktemp("store-probe"))
    if missing:
        pytest.exit(missing, returncode=1)


def test_acknowledged_writes_survive_kill_9(tmp_path):
    cycles = int(os.environ.get("CHIRP_CRASH_CYCLES", "10"))
    seed = os.environ.get("CHIRP_CRASH_SEED")
    lines = []

    def out(line):
        lines.append(line)
        print(line, flush=True)

    res = crash_test.run(cycles=cycles, seconds=1.5,
                         seed=int(seed) if seed else None,
                         workdir=tmp_path, out=out)
    assert res.ok, "\n".join(lines)
    assert res.cycles == cycles


def test_harness_detects_lost_writes(tmp_path):
    removed = {}

    def damage(cycle, data_dir, writers):
        if removed:
            return
        tweet = edge = like = retweet = None
        doubted = {w.doubt.tweet for w in writers if w.doubt is not None}
        alive = {tid for w in writers for u in w.users for tid in u.alive}
        for w in writers:
            d = w.doubt
            for u in w.users:
                for tid in u.alive:
                    if tweet is None and tid not in doubted:
                        tweet = (u, tid)
                for t, on in u.out.items():
                    if edge is None and on and not (d and d.user is u and d.target == t):
                        edge = (u, t)
        if tweet is None:
            return  # a busy machine: maybe by the next kill
        # A like and a retweet of other live tweets than the one removed.
        for w in writers:
            for u in w.users:
                for tid, on in u.likes.items():
                    if like is None and on and tid in alive - doubted - {tweet[1]}:
                        like = (u, tid)
                for tid, rid in u.rts.items():
                    if retweet is None and rid and tid in alive - doubted - {tweet[1]}:
                        retweet = (u, tid, rid)
        if not (edge and like and retweet):
            return
        db_query(data_dir, f"DELETE FROM tweets WHERE id = {int(tweet[1])}")
        db_query(data_dir, f"DELETE FROM follows WHERE follower_id = {int(edge[0].id)} "
                           f"AND followee_id = {int(edge[1])}")
        # Only the rows: the counts on the tweets stay, as after a write
        # that landed in part.
        db_query(data_dir, f"DELETE FROM likes WHERE user_id = {int(like[0].id)} "
                           f"AND tweet_id = {int(like[1])}")
        db_query(data_dir, f"DELETE FROM tweets WHERE id = {int(retweet[2])}")
        if ON_POSTGRES:
            # A write a store loses takes its outbox row with it; left
            # behind, the row's replay would cache the tweet again.
            db_query(data_dir, "DELETE FROM outbox")
        removed["tweet"] = f"{tweet[1]}({tweet[0].handle})"
        removed["edge"] = f"{edge[0].handle}->{edge[1]}"
        removed["like"] = f"{like[0].handle} like {like[1]}"
        removed["retweet"] = f"{retweet[0].handle} rt {retweet[1]}"

    lines = []
    # Long enough for each kind to be acknowledged after the sign-ups
    # (Argon2id), on most machines in the first cycle; a busy one gets more
    # cycles (the run stops at the first failed one).
    res = crash_test.run(cycles=3, seconds=4.0, seed=1, kill_mode="timer",
                         workdir=tmp_path, after_kill=damage,
                         out=lines.append)
    report = "\n".join(lines)
    assert removed, f"no acknowledged tweet, follow, like and retweet to remove " \
                    f"in 3 cycles:\n{report}"
    assert not res.ok, report
    assert res.lost >= 4, report
    lost_lines = [line for line in lines if "LOST" in line]
    for what in ("tweet", "edge", "like", "retweet"):
        assert any(removed[what] in line for line in lost_lines), (what, report)
    # The counts left without their rows are a half-written record.
    assert any("counts disagree with the rows" in line for line in lines), report
