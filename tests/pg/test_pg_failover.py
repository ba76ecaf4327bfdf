"""Failover to a synchronous replica (issue 13, "Failure tests";
deploy/postgres/README.md is the same set-up for operators):

A primary and a streaming replica (pg_basebackup; the primary lists the
replica in synchronous_standby_names, so a commit returns only once the
replica has flushed it). chirp runs on both hosts with
target_session_attrs=read-write. Under write load, the primary is killed
(SIGKILL to every one of its processes) and the replica promoted. Every
tweet that got a 201 must be on the promoted server, in its `tweets` table
and through the API once chirp has reconnected, and chirp must never have
answered 500 or hung.
"""

import time

from chirp_client import ServerProc, create_user, eventually
from pgload import Load, bad_answers

# synchronous_standby_names is set once the replica streams: before that,
# every commit on the primary (CREATE DATABASE too) would wait for it.
PRIMARY_CONF = ("wal_level=replica", "max_wal_senders=5", "synchronous_commit=on")
RECONNECT_WITHIN = 30.0  # a 201 after the promotion, this long at most


def _make_synchronous(primary):
    primary.psql("ALTER SYSTEM SET synchronous_standby_names = 'replica1'")
    primary.psql("SELECT pg_reload_conf()")

    def sync():
        return primary.psql("SELECT sync_state FROM pg_stat_replication "
                            "WHERE application_name = 'replica1'") == "sync"
    eventually(sync, timeout=30, interval=0.1,
               what="replica1 streaming as the synchronous standby")


def test_acknowledged_tweets_survive_the_loss_of_the_primary(need_adapter, pg_cluster,
                                                              tmp_path):
    primary = pg_cluster(extra_conf=PRIMARY_CONF)
    primary.create_db("chirp")
    replica = pg_cluster(clone_of=primary)
    _make_synchronous(primary)
    assert replica.psql("SELECT pg_is_in_recovery()") == "t"

    url = (f"postgresql://{primary.user}@127.0.0.1:{primary.port},"
           f"127.0.0.1:{replica.port}/chirp?target_session_attrs=read-write")
    (tmp_path / "data").mkdir()
    srv = ServerProc(tmp_path / "data", tmp_path / "chirp.log", store=url)
    srv.start()
    try:
        c = srv.client()
        users = [create_user(c, "fo") for _ in range(4)]
        load = Load(c, users, writers=4, readers=1, ready_every=0.2).start()
        time.sleep(2.0)
        assert load.acked_tweets(), "no tweet acknowledged before the kill"

        primary.kill9()
        killed = load.now()
        replica.promote()
        promoted = load.now()
        assert replica.psql("SELECT pg_is_in_recovery()") == "f"

        eventually(lambda: any(e.status == 201 for e in
                               load.snapshot("post", since=promoted)),
                   timeout=RECONNECT_WITHIN, interval=0.1,
                   what="a 201 for a post after the promotion")
        time.sleep(1.0)
        load.stop()

        bad = bad_answers(load.snapshot())
        assert not bad, "a 500 or no answer within the client timeout:\n" + \
            "\n".join(repr(e) for e in bad[:15])

        acked = load.acked_tweets()
        acked_before_kill = [e for e in load.snapshot("post", until=killed)
                             if e.status == 201]
        stored = set(replica.psql("SELECT id FROM tweets", "chirp").split())
        missing = [tid for tid, _, _ in acked if tid not in stored]
        assert not missing, (f"{len(missing)} of {len(acked)} acknowledged tweets "
                             f"are not on the promoted server, e.g. {missing[:5]}")

        # Through the API: a restarted chirp (empty tweet cache) tries the
        # dead primary first and settles on the promoted one.
        srv.restart()
        c = srv.client()
        wrong = []
        for tid, text, user in acked:
            r = c.get(f"/v1/tweets/{tid}")
            if r.status != 200 or r.json.get("text") != text:
                wrong.append((tid, r.status))
        assert not wrong, f"{len(wrong)} of {len(acked)} acknowledged tweets wrong " \
            f"through the API, e.g. {wrong[:5]}"
        print(f"acknowledged {len(acked)} tweets ({len(acked_before_kill)} before the "
              f"kill at {killed:.1f}s, promoted at {promoted:.1f}s); all on the replica")
    finally:
        if srv.alive():
            assert srv.stop() == 0, srv.log_tail()
