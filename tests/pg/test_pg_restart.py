"""PostgreSQL restarts under chirp while it serves reads and writes
(issue 13, "Failure tests"):

- /readyz says 503, with the reason in its JSON error, while the database
  is down, and 200 again within 10 s of it being back;
- no request gets a 500 or waits past the statement timeout (every request
  has a client timeout, pgload.CLIENT_TIMEOUT);
- a write sent while the database is down gets a fast 503;
- writes work again once it is back, and every acknowledged tweet is there.
"""

import json
import time

from chirp_client import TIMEOUT_FACTOR, ServerProc, create_user, eventually
from pgload import Load, bad_answers

DOWN_FOR = 3.0      # seconds the database stays stopped
BACK_WITHIN = 10.0  # /readyz 200 again this long after it is back (issue 13)
FAST = 1.0 * TIMEOUT_FACTOR  # "a fast 503": a write during the outage, answered within


def _show(events, n=15):
    return "\n".join(repr(e) for e in events[:n])


def test_readyz_and_writes_through_a_postgres_restart(need_adapter, pg_cluster,
                                                       tmp_path):
    pg = pg_cluster()
    (tmp_path / "data").mkdir()
    srv = ServerProc(tmp_path / "data", tmp_path / "chirp.log",
                     store=pg.create_db("chirp"))
    srv.start()
    try:
        c = srv.client()
        users = [create_user(c, "rs") for _ in range(3)]
        load = Load(c, users).start()
        time.sleep(1.5)

        stopping = load.now()
        pg.stop("fast")          # backends gone, connections closed
        down = load.now()
        time.sleep(DOWN_FOR)
        back_start = load.now()
        pg.start()               # same port, same data
        back = load.now()

        # /readyz must come back on its own, within BACK_WITHIN of `back`.
        eventually(lambda: any(e.status == 200 for e in
                               load.snapshot("readyz", since=back)),
                   timeout=BACK_WITHIN + 1, interval=0.1,
                   what="/readyz 200 after PostgreSQL restarted")
        # Writes work again: a 201 sent after /readyz said ready.
        ready_again = min(e.end for e in load.snapshot("readyz", since=back)
                          if e.status == 200)
        eventually(lambda: any(e.status == 201 for e in
                               load.snapshot("post", since=ready_again)),
                   timeout=BACK_WITHIN, interval=0.1,
                   what="a 201 for a post after /readyz said ready")
        time.sleep(0.5)
        load.stop()
        end = load.now()

        everything = load.snapshot()
        bad = bad_answers(everything)
        assert not bad, f"a 500 or no answer within the client timeout:\n{_show(bad)}"

        before = load.snapshot("post", until=stopping)
        assert any(e.status == 201 for e in before), _show(before)

        ready_down = [e for e in load.snapshot("readyz", since=down, until=back_start)]
        not_ready = [e for e in ready_down if e.status == 503]
        assert not_ready, f"/readyz never said 503 while PostgreSQL was down:\n{_show(ready_down)}"
        for e in not_ready:
            doc = json.loads(e.body)
            assert isinstance(doc.get("code"), str) and doc["code"], e
            assert isinstance(doc.get("error"), str) and doc["error"], e
        assert not [e for e in ready_down if e.status == 200 and e.start > down + 1.0], \
            f"/readyz said ready with PostgreSQL down:\n{_show(ready_down)}"
        first_ok = min(e.end for e in load.snapshot("readyz", since=back)
                       if e.status == 200)
        assert first_ok - back <= BACK_WITHIN, (first_ok, back)

        # Writes sent while the database was down (and answered before it
        # was back): every one a 503, and fast.
        outage = [e for e in load.snapshot("post", since=down + 0.2)
                  if e.end < back_start]
        assert outage, "no write was sent while PostgreSQL was down"
        not_503 = [e for e in outage if e.status != 503]
        assert not not_503, f"writes during the outage not refused:\n{_show(not_503)}"
        slow = [e for e in outage if e.took > FAST]
        assert not slow, f"writes during the outage slower than {FAST}s:\n{_show(slow)}"

        print(f"PostgreSQL down {down:.1f}s-{back:.1f}s; {len(outage)} writes refused "
              f"meanwhile, slowest in {max(e.took for e in outage):.3f}s; /readyz "
              f"503 x{len(not_ready)}, 200 again {first_ok - back:.1f}s after restart")

        # Everything acknowledged, before and after, is readable. A restart
        # of chirp empties its tweet cache, so these reads reach PostgreSQL.
        acked = load.acked_tweets()
        assert any(e.status == 201 for e in load.snapshot("post", since=back)), \
            "no write acknowledged after the restart"
        srv.restart()
        c = srv.client()
        missing = [(tid, text) for tid, text, _ in acked
                   if c.get(f"/v1/tweets/{tid}").status != 200]
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged tweets " \
            f"missing, e.g. {missing[:5]} (run of {end:.1f}s)"
    finally:
        if srv.alive():
            assert srv.stop() == 0, srv.log_tail()
