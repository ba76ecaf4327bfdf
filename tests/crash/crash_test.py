#!/usr/bin/python3
"""Crash-recovery test for chirp: kill -9 under write load, restart, and
check that nothing acknowledged was lost ("durable before acknowledged",
docs/reliability.md).

    /usr/bin/python3 tests/crash/crash_test.py --cycles 100 [--seconds-per-cycle 2] [--seed 7]

Each cycle, on the same data directory (empty before the first one):

 1. start `chirp serve` (CHIRP_BIN, default ./chirp);
 2. writer threads, each with its own users, send sign-ups (few: Argon2 is
    slow), posts, replies, tweet deletes, follows, unfollows, likes,
    unlikes, retweets and unretweets at full speed on keep-alive
    connections, and record only what got a 2xx;
 3. after a seeded random delay, kill -9 the server: at that instant, in
    the middle of the traffic ("timer" cycles), or ("ack" cycles) once the
    writers pause, right after the acknowledgement of one more write (a
    post, like, retweet or reply, in turn), where a write acknowledged
    before its commit would be lost (see Killer);
    --kill mixed, the default, alternates the two, timer first;
 4. restart it on the same data and check every acknowledged write: each
    tweet exists (GET /v1/tweets/{id}, text and author intact) and is in its
    author's timeline (all pages); each deleted tweet is gone (404 and not
    listed, nor in any feed); each follow edge is in the state of its last
    acknowledged follow or unfollow (following and followers lists); each
    retweet is in its retweeter's timeline in the state of its last
    acknowledged retweet or unretweet; each like shows as `liked` to its
    user in the state of the last like or unlike; every sign-up can log in
    and every token still works; user counts match the lists, and each
    tweet's like_count, retweet_count, reply_count and in_reply_to_id match
    the acknowledged likes, retweets and replies; the first feed page
    (retweets included) is exactly what the data implies;
 5. stop the server with SIGTERM (exit 0 expected) and check the store's
    own integrity: PRAGMA integrity_check on DATA/chirp.db, opened
    read-only; on PostgreSQL, amcheck on every table and index.

The store is SQLite in DATA, or with CHIRP_TEST_STORE=postgres a throwaway
PostgreSQL started for the run (`make crash-pg`): the checks of step 4 go
through the API either way; only step 5 and the ack kill's checkpoint
(see Killer) look at the store itself.

A write that was in flight at the kill (no answer) may or may not have
landed: the check allows both outcomes for exactly those writes, then adopts
what it sees, so the model is exact again at the start of the next cycle.
Each writer stops at its first request without an answer, so at most one
write per writer is in doubt and no later write of the same writer can be
reordered with it.

A non-2xx answer counts as "not applied" (docs/api.md: a request that fails
changes nothing). 429 and 503 (rate limit, load shedding) are counted and
reported; any other non-2xx answer fails the run as an anomaly, as does a
request that got no answer while the server was not being killed.

Exit status: 0 when every cycle passed, 1 on any loss or failed check,
2 when the harness itself could not run (no binary, server does not start).
"""

import argparse
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "http"))

from chirp_client import (LINK_RE, ON_POSTGRES, TIMEOUT_FACTOR,  # noqa: E402
                          ServerProc, TEST_STORE, chirp_bin, db_integrity_check,
                          db_query)

REQUEST_TIMEOUT = 10 * TIMEOUT_FACTOR   # a request with no answer this long is an anomaly
JOIN_TIMEOUT = 2 * REQUEST_TIMEOUT + 5  # writers must be gone this long after the kill
PAGE = 100                              # the API's largest page
KINDS = ("signup", "post", "reply", "delete", "follow", "unfollow",
         "like", "unlike", "retweet", "unretweet")
# The writers' mix (sign-ups aside), in percent; "heavy" once a writer has
# SOFT_ALIVE_CAP live tweets, so that the data stops growing.
MIX = {"post": 30, "reply": 10, "delete": 20, "like": 10, "unlike": 5,
       "retweet": 7, "unretweet": 3, "follow": 9, "unfollow": 6}
MIX_HEAVY = dict(MIX, post=20, reply=5, delete=35)
UNDO = {"unfollow": "follow", "unlike": "like", "unretweet": "retweet"}
ACK_KINDS = ("post", "like", "retweet", "reply")  # the ack kills' write, in turn
SIGNUP_RATE = 0.003                     # per write; each costs an Argon2 hash
MAX_SIGNUPS = 1                         # per writer and cycle
REFUSED = (429, 503)                    # "a request that fails changes nothing": not an anomaly
SOFT_ALIVE_CAP = 1500                   # per writer: beyond it, delete as often as post
SAMPLE_OLD = 100                        # older tweets (and likes) re-fetched one by one per cycle
SHOW = 20                               # ids shown per failure line


# ------------------------------------------------------------------ client

class NoAnswer(Exception):
    """The request got no complete answer: it may or may not have landed.
    status is set when the status line arrived but the body did not."""

    def __init__(self, cause, status=None):
        super().__init__(f"{cause!r}" + (f" after status {status}" if status else ""))
        self.cause = cause
        self.status = status


class Reply:
    __slots__ = ("status", "body", "links")

    def __init__(self, status, body, links):
        self.status = status
        self.body = body
        self.links = links

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


class Conn:
    """One keep-alive HTTP/1.1 connection to 127.0.0.1:port (reopened after
    an error or a `Connection: close`). Not thread-safe: one per thread."""

    def __init__(self, port, timeout=REQUEST_TIMEOUT):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, token=None):
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                   timeout=self.timeout)
        status = None
        try:
            self.conn.request(method, path, body=data, headers=headers)
            r = self.conn.getresponse()
            status = r.status
            payload = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise NoAnswer(e, status) from None
        links = {rel: url for url, rel in
                 LINK_RE.findall(",".join(r.headers.get_all("Link") or []))}
        if r.will_close:
            self.close()
        return Reply(status, payload, links)


class ReadClient:
    """Reads for the verification, from a pool of threads, each with its own
    keep-alive connection. A read that gets no answer is retried once (the
    server may have closed an idle connection)."""

    def __init__(self, port):
        self.port = port
        self.local = threading.local()

    def _conn(self):
        c = getattr(self.local, "conn", None)
        if c is None or c.port != self.port:
            c = self.local.conn = Conn(self.port)
        return c

    def request(self, method, path, body=None, token=None):
        try:
            return self._conn().request(method, path, body, token)
        except NoAnswer:
            if method != "GET":
                raise
            return self._conn().request(method, path, body, token)

    def get(self, path, token=None):
        return self.request("GET", path, token=token)

    def walk(self, path, token=None, max_pages=100000):
        """Every item of a paginated list, following rel="next" until an
        empty page. Raises AssertionError on a malformed page."""
        items = []
        url = path
        for _ in range(max_pages):
            r = self.get(url, token=token)
            if r.status != 200:
                raise AssertionError(f"GET {url} -> {r!r}")
            page = r.json()
            if not isinstance(page, list):
                raise AssertionError(f"GET {url}: not a list: {r!r}")
            if not page:
                return items
            items.extend(page)
            if "next" not in r.links:
                raise AssertionError(f"GET {url}: non-empty page without rel=next")
            url = r.links["next"]
        raise AssertionError(f"walk of {path} did not end in {max_pages} pages")


# ------------------------------------------------------------------- model

class UserM:
    """What the acknowledged writes say about one user."""

    def __init__(self, uid, handle, password, writer):
        self.id = uid
        self.handle = handle
        self.password = password
        self.writer = writer
        self.token = None
        self.alive = {}        # tweet id -> text
        self.alive_list = []   # the same ids, for a random pick
        self.alive_pos = {}
        self.deleted = set()   # tweet ids whose delete was acknowledged
        self.out = {}          # followee id -> True (follows) / False (does not)
        self.parent = {}       # reply id -> the tweet it replies to
        self.likes = {}        # tweet id -> True (likes) / False (unliked)
        self.rts = {}          # original id -> its retweet's id, None once undone
        self.offsets = {}      # --keep-going: count drift already reported

    def add_tweet(self, tid, text):
        self.alive[tid] = text
        self.alive_pos[tid] = len(self.alive_list)
        self.alive_list.append(tid)

    def remove_tweet(self, tid):
        del self.alive[tid]
        i = self.alive_pos.pop(tid)
        last = self.alive_list.pop()
        if last != tid:
            self.alive_list[i] = last
            self.alive_pos[last] = i
        self.deleted.add(tid)

    def __repr__(self):
        return f"user {self.handle} ({self.id})"


class Doubt:
    """A write that was sent but got no answer (or only part of one)."""

    def __init__(self, kind, user=None, text=None, tweet=None, target=None,
                 handle=None, password=None, status=None):
        self.kind = kind          # one of KINDS
        self.user = user          # the UserM acting (None for a sign-up)
        self.text = text          # post
        self.tweet = tweet        # delete, like, retweet (and undo): the tweet;
                                  # reply: the tweet it answers
        self.target = target      # follow / unfollow: the followee id
        self.handle = handle      # sign-up
        self.password = password  # sign-up
        self.status = status      # a 2xx status line seen before the body was cut
        self.during_kill = True
        self.landed = None        # decided by the verification

    @property
    def acked(self):
        return self.status is not None and 200 <= self.status < 300

    def __repr__(self):
        if self.kind in ("post", "reply"):
            what = f"text {self.text!r}" + (f" to {self.tweet}" if self.tweet else "")
        elif self.kind in ("follow", "unfollow"):
            what = f"-> {self.target}"
        elif self.kind == "signup":
            what = f"handle {self.handle}"
        else:
            what = f"tweet {self.tweet}"
        who = f" by {self.user}" if self.user else ""
        return f"{self.kind}{who} {what}"


class Killer:
    """kill -9 of the server, once per cycle.

    timer: at a random instant, whatever the writers are doing.
    ack:   the writers stop sending new requests (those in flight finish),
           the WAL is checkpointed from outside (PRAGMA wal_checkpoint,
           PASSIVE, as any SQLite client may), one more write (ACK_KINDS,
           in turn) goes out on a raw socket, and the server is killed the
           instant the first byte of its answer arrives.

    Right after an acknowledgement is when a write acknowledged before its
    commit is still only in the server's memory (kill -9 spares what has
    reached the OS, synced or not). In steady state that window is a few
    microseconds, as the commit's WAL frames are written right after: a
    Python harness under full load hits it once in tens of kills. After a
    checkpoint the next commit first restarts the WAL from its start (more
    I/O before its frames are written), as the server's own commits do
    after each automatic checkpoint; that widens the window so that most
    ack kills land in it (19 of 20 in the measurements of README.md).
    On PostgreSQL there is no checkpoint to make from outside: the kill
    is the same, its window only as wide as the server makes it."""

    def __init__(self, pid):
        self.pid = pid
        self.killing = threading.Event()  # set just before the signal
        self.pause = threading.Event()    # ack: writers send nothing new
        self.lock = threading.Lock()
        self.by = None
        self.ack_kind = None              # ack: the kind of the last write

    def fire(self, by):
        with self.lock:
            if self.by is None:
                self.by = by
                self.killing.set()
                os.kill(self.pid, signal.SIGKILL)

    def post_and_kill(self, port, db_path, writer, rng, cycle, tweets):
        """The ack kill: a write by one of `writer`'s users, recorded in the
        model like any other (acknowledged, or in doubt). Its kind takes
        turns (ACK_KINDS); a like, retweet or reply aims at one of `tweets`,
        the live tweets of every writer (all parked, so none is being
        deleted), and falls back to a post when there is none."""
        if not ON_POSTGRES:
            try:
                con = sqlite3.connect(str(db_path), timeout=1)
                try:
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    con.close()
            except sqlite3.Error:
                pass  # only the window is narrower
        user = rng.choice(writer.users)
        text = f"c{cycle} kill-on-ack {rng.getrandbits(32):08x}"
        kind = ACK_KINDS[writer.ack_kills % len(ACK_KINDS)]
        writer.ack_kills += 1
        aims = [t for a, t in tweets if not (kind == "retweet" and a is user)]
        tid = rng.choice(aims) if aims else None
        if tid is None:
            kind = "post"
        self.ack_kind = kind
        path = {"post": "/v1/tweets", "reply": "/v1/tweets",
                "like": f"/v1/tweets/{tid}/likes",
                "retweet": f"/v1/tweets/{tid}/retweets"}[kind]
        body = json.dumps({"text": text} if kind == "post" else
                          {"text": text, "in_reply_to_id": tid} if kind == "reply"
                          else {}).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\n"
                f"Authorization: Bearer {user.token}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        data = b""
        try:
            with socket.create_connection(("127.0.0.1", port),
                                          timeout=REQUEST_TIMEOUT) as sock:
                sock.sendall(head + body)
                select.select([sock], [], [], REQUEST_TIMEOUT)
                self.fire("ack")
                sock.settimeout(5)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            pass
        finally:
            self.fire("ack")
        writer.ops += 1
        status, reply = parse_response(data)
        if status in (200, 201) and reply is not None:
            new_id = json.loads(reply)["id"]
            if kind in ("post", "reply"):
                user.add_tweet(new_id, text)
                if kind == "reply":
                    user.parent[new_id] = tid
                writer.posted.append((user, new_id))
            else:
                if kind == "like":
                    user.likes[tid] = True
                else:
                    user.rts[tid] = new_id
                writer.engaged.append((user, tid))
            writer.acked[kind] += 1
        elif kind in ("post", "reply"):
            writer.doubt = Doubt(kind, user=user, text=text, tweet=tid, status=status)
        else:
            writer.doubt = Doubt(kind, user=user, tweet=tid, status=status)


def parse_response(data):
    """(status, body) of one HTTP/1.1 response in `data`; body is None when
    it did not arrive whole, status None when not even the status line did."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) < 2 or not parts[1].isdigit():
        return None, None
    status = int(parts[1])
    if not sep:
        return status, None
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return status, (rest[:length] if len(rest) >= length else None)


class Writer:
    """One load thread and the users only it writes for."""

    def __init__(self, index, seed):
        self.index = index
        self.seed = seed
        self.users = []
        self.handles = 0
        self.ack_kills = 0    # the kill writer's: which of ACK_KINDS is next
        self.reset_cycle()

    def reset_cycle(self):
        self.acked = dict.fromkeys(KINDS, 0)
        self.posted = []      # (user, tweet id) acknowledged this cycle
        self.removed = []     # (user, tweet id) deletes acknowledged this cycle
        self.signed_up = []   # UserM acknowledged this cycle
        self.engaged = []     # (user, tweet id) of likes, retweets and their
                              # undoing acknowledged this cycle
        self.doubt = None
        self.anomalies = []
        self.refused = 0
        self.ops = 0
        self.parked = threading.Event()

    def alive_count(self):
        return sum(len(u.alive) for u in self.users)

    def is_alive(self, tid):
        return any(tid in u.alive for u in self.users)

    def pick_tweet(self, rng, not_by=None):
        """A live tweet of one of this writer's users (other than not_by), or
        None. Likes, retweets and replies aim only at those: the writer that
        deletes a tweet is then the one that engages with it, so the order
        of the two is well defined (no 404 races with another writer's
        delete)."""
        authors = [u for u in self.users if u.alive_list and u is not not_by]
        if not authors:
            return None
        return rng.choice(rng.choice(authors).alive_list)

    def new_handle(self, rng):
        self.handles += 1
        return f"w{self.index}n{self.handles}x{rng.getrandbits(24):06x}"

    def run(self, port, cycle, targets, stop, killer):
        killing = killer.killing
        rng = random.Random(f"{self.seed}/{cycle}/{self.index}")
        conn = Conn(port)
        mine = [u for u in self.users if u.token]  # (a lost sign-up has none)
        signups = 0
        seq = 0
        try:
            while not stop.is_set():
                if killer.pause.is_set():
                    self.parked.set()
                    stop.wait()
                    return
                seq += 1
                if signups < MAX_SIGNUPS and rng.random() < SIGNUP_RATE:
                    signups += 1
                    if not self._signup(conn, rng, killing):
                        return
                    continue
                if not mine:
                    return
                user = rng.choice(mine)
                mix = MIX_HEAVY if self.alive_count() >= SOFT_ALIVE_CAP else MIX
                kind = rng.choices(list(mix), weights=list(mix.values()))[0]
                text = f"c{cycle} w{self.index} #{seq} {rng.getrandbits(32):08x}"
                if kind == "post":
                    ok = self._post(conn, user, text, killing)
                elif kind == "reply":
                    ok = self._reply(conn, rng, user, text, killing)
                elif kind == "delete":
                    ok = self._delete(conn, rng, user, killing)
                elif kind in ("follow", "unfollow"):
                    ok = self._follow(conn, rng, user, targets, kind == "follow", killing)
                else:
                    ok = self._engage(conn, rng, user, kind, killing)
                if not ok:
                    return
        finally:
            conn.close()

    # Each returns False when the writer must stop (a request got no answer).

    def _send(self, conn, doubt, killing, method, path, body=None, token=None):
        self.ops += 1
        try:
            return conn.request(method, path, body, token)
        except NoAnswer as e:
            doubt.status = e.status
            doubt.during_kill = killing.is_set()
            if not doubt.during_kill:
                self.anomalies.append(f"no answer while the server was up: "
                                      f"{doubt!r}: {e}")
            self.doubt = doubt
            return None

    def _unexpected(self, what, reply):
        if reply.status in REFUSED:  # load shedding or a rate limit
            self.refused += 1
            time.sleep(0.01)
        else:
            self.anomalies.append(f"{what} -> {reply!r}")

    def _signup(self, conn, rng, killing):
        handle = self.new_handle(rng)
        password = f"pw-{rng.getrandbits(64):016x}"
        d = Doubt("signup", handle=handle, password=password)
        r = self._send(conn, d, killing, "POST", "/v1/users",
                       {"handle": handle, "password": password})
        if r is None:
            return False
        if r.status == 201:
            u = UserM(r.json()["id"], handle, password, self)
            self.signed_up.append(u)
            self.acked["signup"] += 1
        else:
            self._unexpected(f"sign-up {handle}", r)
        return True

    def _post(self, conn, user, text, killing):
        d = Doubt("post", user=user, text=text)
        r = self._send(conn, d, killing, "POST", "/v1/tweets", {"text": text},
                       token=user.token)
        if r is None:
            return False
        if r.status == 201:
            tid = r.json()["id"]
            user.add_tweet(tid, text)
            self.posted.append((user, tid))
            self.acked["post"] += 1
        else:
            self._unexpected(f"post by {user}", r)
        return True

    def _reply(self, conn, rng, user, text, killing):
        parent = self.pick_tweet(rng)
        if parent is None:
            return self._post(conn, user, text, killing)
        d = Doubt("reply", user=user, text=text, tweet=parent)
        r = self._send(conn, d, killing, "POST", "/v1/tweets",
                       {"text": text, "in_reply_to_id": parent}, token=user.token)
        if r is None:
            return False
        if r.status == 201:
            tid = r.json()["id"]
            user.add_tweet(tid, text)
            user.parent[tid] = parent
            self.posted.append((user, tid))
            self.acked["reply"] += 1
        else:
            self._unexpected(f"reply by {user} to {parent}", r)
        return True

    def _engage(self, conn, rng, user, kind, killing):
        """A like, unlike, retweet or unretweet by `user`. An undo aims
        mostly at what the user has (else at any live tweet: undoing what
        is not there is a 204 too). Nobody retweets their own tweets: on
        its author's timeline the retweet would stand in for the tweet on
        the page it shares with it, which the model does not follow."""
        do = UNDO.get(kind, kind)
        state = user.likes if do == "like" else user.rts
        tid = None
        if kind in UNDO and rng.random() < 0.7:
            present = [t for t, on in state.items() if on and self.is_alive(t)]
            tid = rng.choice(present) if present else None
        if tid is None:
            tid = self.pick_tweet(rng, not_by=user if do == "retweet" else None)
            if tid is None:
                return self._post(conn, user, f"filler {rng.getrandbits(48):012x}", killing)
        d = Doubt(kind, user=user, tweet=tid)
        r = self._send(conn, d, killing, "DELETE" if kind in UNDO else "POST",
                       f"/v1/tweets/{tid}/{do}s", token=user.token)
        if r is None:
            return False
        if r.status in ((204,) if kind in UNDO else (200, 201)):
            if do == "like":
                user.likes[tid] = kind == "like"
            else:
                user.rts[tid] = None if kind in UNDO else r.json()["id"]
            self.engaged.append((user, tid))
            self.acked[kind] += 1
        else:
            self._unexpected(f"{kind} of {tid} by {user}", r)
        return True

    def _delete(self, conn, rng, user, killing):
        if not user.alive_list:
            return self._post(conn, user, f"filler {rng.getrandbits(48):012x}", killing)
        tid = rng.choice(user.alive_list)
        d = Doubt("delete", user=user, tweet=tid)
        r = self._send(conn, d, killing, "DELETE", f"/v1/tweets/{tid}",
                       token=user.token)
        if r is None:
            return False
        if r.status == 204:
            user.remove_tweet(tid)
            self.removed.append((user, tid))
            self.acked["delete"] += 1
        else:
            self._unexpected(f"delete of {tid} by {user}", r)
        return True

    def _follow(self, conn, rng, user, targets, follow, killing):
        if not follow and rng.random() < 0.7:
            present = [t for t, on in user.out.items() if on]
            target = rng.choice(present) if present else None
        else:
            target = None
        if target is None:
            target = rng.choice(targets)
            if target == user.id:
                return True
        kind = "follow" if follow else "unfollow"
        d = Doubt(kind, user=user, target=target)
        r = self._send(conn, d, killing, "POST" if follow else "DELETE",
                       f"/v1/users/{target}/follows", token=user.token)
        if r is None:
            return False
        if r.status in ((200, 201) if follow else (204,)):
            user.out[target] = follow
            self.acked[kind] += 1
        else:
            self._unexpected(f"{kind} {user} -> {target}", r)
        return True


# ----------------------------------------------------------- verification

class Failures:
    def __init__(self):
        self.lines = []
        self.lost_keys = set()         # one per lost write, whichever checks saw it
        self.resurrected_keys = set()

    @property
    def lost(self):
        return len(self.lost_keys)

    @property
    def resurrected(self):
        return len(self.resurrected_keys)

    def add(self, what, ids=(), lost=False, resurrected=False):
        """ids: what to show; with lost/resurrected, each is also one lost or
        resurrected write, identified by its text up to " ->"."""
        ids = list(ids)
        keys = {str(i).split(" ->")[0] for i in ids}
        if lost:
            self.lost_keys |= keys
        if resurrected:
            self.resurrected_keys |= keys
        line = what
        if ids:
            more = f" (+{len(ids) - SHOW} more)" if len(ids) > SHOW else ""
            line += f": {', '.join(map(str, ids[:SHOW]))}{more}"
        self.lines.append(line)

    def __bool__(self):
        return bool(self.lines)


class Observed:
    __slots__ = ("profile", "tweets", "following", "followers", "feed",
                 "feed_status", "error")

    def __init__(self):
        self.error = None


def observe(rc, u):
    o = Observed()
    try:
        r = rc.get(f"/v1/users/{u.id}")
        if r.status != 200:
            o.error = f"GET /v1/users/{u.id} -> {r!r}"
            return o
        o.profile = r.json()
        o.tweets = rc.walk(f"/v1/users/{u.id}/tweets?limit={PAGE}")
        o.following = [x["id"] for x in rc.walk(f"/v1/users/{u.id}/following?limit={PAGE}")]
        o.followers = [x["id"] for x in rc.walk(f"/v1/users/{u.id}/followers?limit={PAGE}")]
        o.feed = None
        o.feed_status = None
        if u.token:
            r = rc.get(f"/v1/feed?limit={PAGE}", token=u.token)
            o.feed_status = r.status
            if r.status == 200:
                o.feed = [x["id"] for x in r.json()]
    except (NoAnswer, AssertionError, ValueError, KeyError, TypeError) as e:
        o.error = f"reading {u}: {e}"
    return o


def is_retweet(item):
    return item.get("retweet_of") is not None


def check_retweets(users, obs, doubt_of, author_of, fails, keep_going):
    """Each user's timeline holds exactly one retweet per original the model
    says it retweets (last acknowledged retweet or unretweet) that is still
    alive, with the id the retweet's answer gave; the retweet in doubt is
    taken as the timeline shows it."""
    lost, resurrected, phantom, wrong = [], [], [], []
    for u in users:
        o = obs[u.id]
        if o.error:
            continue
        have = {}
        for t in o.tweets:
            if is_retweet(t):
                orig = t.get("retweet_of_id") or t["retweet_of"].get("id")
                if orig in have:
                    wrong.append(f"{u.handle}: two retweets of {orig}")
                have[orig] = t["id"]
        d = doubt_of.get(u.id)
        dt = d.tweet if d and d.kind in ("retweet", "unretweet") else None
        if dt is not None:
            d.landed = (dt in have) == (d.kind == "retweet")
            if d.acked and not d.landed:
                (lost if d.kind == "retweet" else resurrected).append(
                    f"{u.handle} rt {dt}(2xx seen, body cut)")
            u.rts[dt] = have.get(dt)
        want = {t: rid for t, rid in u.rts.items()
                if rid is not None and t in author_of}
        for t in set(want) | set(have):
            if t == dt:
                continue
            if t not in have:
                lost.append(f"{u.handle} rt {t}")
                if keep_going:
                    u.rts[t] = None
            elif t not in want:
                (resurrected if t in u.rts else phantom).append(
                    f"{u.handle} rt {t} (as {have[t]})")
                if keep_going:
                    u.rts[t] = have[t]
            elif have[t] != want[t]:
                wrong.append(f"{u.handle} rt {t}: id {have[t]}, its answer said {want[t]}")
                if keep_going:
                    u.rts[t] = have[t]
    if lost:
        fails.add(f"LOST acknowledged retweets ({len(lost)})", lost, lost=True)
    if resurrected:
        fails.add(f"RESURRECTED undone retweets, or retweets of deleted tweets "
                  f"({len(resurrected)})", resurrected, resurrected=True)
    if phantom:
        fails.add(f"unexpected retweets, not from any write in doubt ({len(phantom)})",
                  phantom)
    if wrong:
        fails.add("retweets listed wrong", wrong)


def check_engagement(rc, pool, writers, users, doubt_of, author_of, rng, fails,
                     keep_going):
    """The reader's own view: GET /v1/tweets/{id} with the user's token says
    `liked` and `retweeted` as the user's last acknowledged like or unlike,
    retweet or unretweet left them. Every pair this cycle touched, the pair
    in doubt (taken as the server shows it) and a sample of older ones; the
    like and retweet counts of every tweet are checked with the timelines."""
    pairs = [p for w in writers for p in w.engaged]
    in_doubt = {}
    for d in doubt_of.values():
        if d.kind in ("like", "unlike", "retweet", "unretweet"):
            pairs.append((d.user, d.tweet))
            in_doubt[(d.user.id, d.tweet)] = d
    older = [(u, t) for u in users for t in sorted(set(u.likes) | set(u.rts))]
    pairs += rng.sample(older, min(SAMPLE_OLD, len(older)))
    pairs = [(u, t) for (_, t), u in
             {(u.id, t): u for u, t in pairs}.items() if t in author_of and u.token]

    def get_one(pair):
        u, tid = pair
        r = rc.get(f"/v1/tweets/{tid}", token=u.token)
        if r.status != 200:
            return pair, None, f"GET /v1/tweets/{tid} as {u.handle} -> {r!r}"
        t = r.json()
        return pair, (t.get("liked"), t.get("retweeted")), None

    lost, resurrected, phantom = [], [], []
    for (u, tid), seen, err in pool.map(get_one, pairs):
        if err:
            fails.add(err)
            continue
        liked, retweeted = seen
        d = in_doubt.get((u.id, tid))
        if d and d.kind in ("like", "unlike"):
            d.landed = liked == (d.kind == "like")
            if d.acked and not d.landed:
                (lost if d.kind == "like" else resurrected).append(
                    f"{u.handle} like {tid}(2xx seen, body cut)")
            u.likes[tid] = liked
        elif liked != bool(u.likes.get(tid)):
            if not liked:
                lost.append(f"{u.handle} like {tid}")
            else:
                (resurrected if tid in u.likes else phantom).append(
                    f"{u.handle} like {tid}")
            if keep_going:
                u.likes[tid] = liked
        if retweeted != (u.rts.get(tid) is not None):
            fails.add(f"{u.handle}: GET /v1/tweets/{tid} says retweeted "
                      f"{retweeted}, the acknowledged writes the opposite")
    if lost:
        fails.add(f"LOST acknowledged likes: `liked` is false ({len(lost)})", lost,
                  lost=True)
    if resurrected:
        fails.add(f"RESURRECTED unlikes: `liked` is true ({len(resurrected)})",
                  resurrected, resurrected=True)
    if phantom:
        fails.add(f"unexpected likes, not from any write in doubt ({len(phantom)})",
                  phantom)


def feed_page(u, followees, author_of):
    """The first page of u's feed the model implies: the tweets and retweets
    of u and its followees, newest first, each tweet once (the newest item
    that carries it), without others' retweets of u's own tweets."""
    items = []
    for a in [u] + followees:
        items += [(int(t), t) for t in a.alive]
        items += [(int(rid), orig) for orig, rid in a.rts.items()
                  if rid is not None and orig in author_of
                  and author_of[orig] is not u]
    page, seen = [], set()
    for key, target in sorted(items, reverse=True):
        if target not in seen:
            seen.add(target)
            page.append(str(key))
            if len(page) == PAGE:
                break
    return page


def verify(rc, pool, writers, rng, fails, keep_going):
    """Check the restarted server against the model, then adopt the outcome
    of every write in doubt. Returns the writes in doubt."""
    users = [u for w in writers for u in w.users]
    doubts = [w.doubt for w in writers if w.doubt is not None]

    # Sign-ups: acknowledged ones join the model; doubtful ones are looked up.
    for w in writers:
        for u in w.signed_up:
            w.users.append(u)
            users.append(u)
    for d in doubts:
        if d.kind != "signup":
            continue
        r = rc.get(f"/v1/users/by-handle/{quote(d.handle)}")
        if r.status == 200:
            d.landed = True
            owner = next(w for w in writers if w.doubt is d)
            u = UserM(r.json()["id"], d.handle, d.password, owner)
            owner.users.append(u)
            users.append(u)
        elif r.status == 404:
            d.landed = False
            if d.acked:
                fails.add("LOST sign-up (201 seen, body cut)", [d.handle], lost=True)
        else:
            fails.add(f"GET by-handle {d.handle} -> {r!r}")

    obs = dict(zip([u.id for u in users], pool.map(lambda u: observe(rc, u), users)))
    doubt_of = {d.user.id: d for d in doubts if d.user is not None}
    by_id = {u.id: u for u in users}

    lost_t, resur_t, phantom_t, bad_text, order = [], [], [], [], []
    lost_f, resur_f, phantom_f = [], [], []
    for u in users:
        o = obs[u.id]
        if o.error:
            fails.add(o.error)
            continue
        if o.profile.get("handle") != u.handle:
            fails.add(f"{u}: profile handle is {o.profile.get('handle')!r}")
        d = doubt_of.get(u.id)
        ids = [t["id"] for t in o.tweets]
        if [int(i) for i in ids] != sorted((int(i) for i in ids), reverse=True) \
                or len(set(ids)) != len(ids):
            order.append(u.id)
        # The timeline holds the user's tweets and retweets (checked below).
        listed = {t["id"]: t for t in o.tweets if not is_retweet(t)}
        for t in o.tweets:
            if t.get("author_id") != u.id:
                bad_text.append(f"{t['id']}(author {t.get('author_id')})")
        # Acknowledged tweets must be listed, acknowledged deletes must not.
        for tid, text in list(u.alive.items()):
            if tid not in listed:
                if d and d.kind == "delete" and d.tweet == tid:
                    d.landed = True
                    u.remove_tweet(tid)
                else:
                    lost_t.append(f"{tid}({u.handle})")
                    if keep_going:
                        u.remove_tweet(tid)
            elif listed[tid].get("text") != text:
                bad_text.append(tid)
        if d and d.kind == "delete" and d.landed is None:
            d.landed = False
            if d.acked:
                resur_t.append(f"{d.tweet}(204 seen, body cut)")
        for tid in [t for t in u.deleted if t in listed]:
            resur_t.append(f"{tid}({u.handle})")
            if keep_going:
                u.deleted.discard(tid)
                u.add_tweet(tid, listed[tid].get("text"))
        # Anything else listed must be the post in doubt.
        for tid, t in listed.items():
            if tid in u.alive or tid in u.deleted:
                continue
            if d and d.kind in ("post", "reply") and not d.landed \
                    and t.get("text") == d.text:
                d.landed = True
                u.add_tweet(tid, d.text)
                if d.kind == "reply":
                    u.parent[tid] = d.tweet
            else:
                phantom_t.append(f"{tid}({u.handle}: {t.get('text')!r})")
                if keep_going:
                    u.add_tweet(tid, t.get("text"))
        if d and d.kind in ("post", "reply") and not d.landed:
            d.landed = False
            if d.acked:
                lost_t.append(f"({u.handle}: {d.text!r}, 201 seen, body cut)")
        # Follow edges: the state of the last acknowledged follow/unfollow.
        following = set(o.following)
        if len(following) != len(o.following):
            fails.add(f"{u}: duplicate ids in following list")
        dt = d.target if d and d.kind in ("follow", "unfollow") else None
        for t in following | set(k for k, on in u.out.items() if on):
            want = u.out.get(t, False)
            have = t in following
            if t == dt:
                d.landed = have == (d.kind == "follow")
                if d.acked and not d.landed:
                    (lost_f if d.kind == "follow" else resur_f).append(
                        f"{u.handle}->{t}(2xx seen, body cut)")
                u.out[t] = have
            elif want and not have:
                lost_f.append(f"{u.handle}->{t}")
                if keep_going:
                    u.out[t] = False
            elif have and not want:
                (resur_f if t in u.out else phantom_f).append(f"{u.handle}->{t}")
                if keep_going:
                    u.out[t] = True
        if dt is not None and d.landed is None:
            # Neither followed before nor now: an unfollow that changed nothing.
            d.landed = d.kind == "unfollow"
            u.out[dt] = False
    if lost_t:
        fails.add(f"LOST acknowledged tweets ({len(lost_t)})", lost_t, lost=True)
    if resur_t:
        fails.add(f"RESURRECTED deleted tweets ({len(resur_t)})", resur_t,
                  resurrected=True)
    if phantom_t:
        fails.add(f"unexpected tweets, not from any write in doubt ({len(phantom_t)})",
                  phantom_t)
    if bad_text:
        fails.add(f"tweets with the wrong text or author ({len(bad_text)})", bad_text)
    if order:
        fails.add("user timelines not strictly newest first", order)
    if lost_f:
        fails.add(f"LOST acknowledged follows ({len(lost_f)})", lost_f, lost=True)
    if resur_f:
        fails.add(f"RESURRECTED unfollowed edges ({len(resur_f)})", resur_f,
                  resurrected=True)
    if phantom_f:
        fails.add(f"unexpected follow edges ({len(phantom_f)})", phantom_f)

    # Tweets are settled now (the deletes in doubt too): which are alive.
    author_of = {tid: a for a in users for tid in a.alive}
    check_retweets(users, obs, doubt_of, author_of, fails, keep_going)
    check_engagement(rc, pool, writers, users, doubt_of, author_of, rng, fails,
                     keep_going)

    # Followers lists, counts and feeds against the (now exact) model.
    followers = {u.id: set() for u in users}
    for u in users:
        for t, on in u.out.items():
            if on:
                followers.setdefault(t, set()).add(u.id)
    likes, retweets, replies = {}, {}, {}  # tweet id -> how many the model says
    for u in users:
        for tid, on in u.likes.items():
            if on:
                likes[tid] = likes.get(tid, 0) + 1
        for tid, rid in u.rts.items():
            if rid is not None:
                retweets[tid] = retweets.get(tid, 0) + 1
        for tid, parent in u.parent.items():
            if tid in u.alive:
                replies[parent] = replies.get(parent, 0) + 1
    bad_followers, bad_counts, bad_feed, lost_sessions = [], [], [], []
    bad_tweet_counts = []
    for u in users:
        o = obs[u.id]
        if o.error:
            continue
        if set(o.followers) != followers[u.id] or len(o.followers) != len(followers[u.id]):
            bad_followers.append(
                f"{u.handle}: missing {sorted(followers[u.id] - set(o.followers))} "
                f"extra {sorted(set(o.followers) - followers[u.id])}")
        want = {"tweets_count": len(u.alive),
                "following_count": sum(1 for on in u.out.values() if on),
                "followers_count": len(followers[u.id])}
        for k, v in want.items():
            have = o.profile.get(k)
            v += u.offsets.get(k, 0)
            if have != v:
                bad_counts.append(f"{u.handle}.{k}={have} want {v}")
                if keep_going and isinstance(have, int):
                    u.offsets[k] = u.offsets.get(k, 0) + have - v
        # Each live tweet's counts are the likes, retweets and replies the
        # model has for it, and a reply names the tweet it answers.
        for t in o.tweets:
            tid = t["id"]
            if is_retweet(t) or tid not in u.alive:
                continue
            want = {"like_count": likes.get(tid, 0),
                    "retweet_count": retweets.get(tid, 0),
                    "reply_count": replies.get(tid, 0),
                    "in_reply_to_id": u.parent.get(tid)}
            for k, v in want.items():
                have = t.get(k)
                if k != "in_reply_to_id":
                    v += u.offsets.get((tid, k), 0)
                if have != v:
                    bad_tweet_counts.append(f"{tid}({u.handle}).{k}={have} want {v}")
                    if keep_going and isinstance(have, int) and isinstance(v, int):
                        u.offsets[(tid, k)] = u.offsets.get((tid, k), 0) + have - v
        if u.token:
            if o.feed_status == 401:
                lost_sessions.append(u.handle)
            elif o.feed_status != 200:
                fails.add(f"GET /v1/feed as {u} -> {o.feed_status}")
            else:
                want_feed = feed_page(u, [by_id[t] for t, on in u.out.items()
                                          if on and t in by_id], author_of)
                if o.feed != want_feed:
                    gone = set(o.feed) - set(want_feed)
                    bad_feed.append(f"{u.handle}: {len(o.feed)} ids, want "
                                    f"{len(want_feed)}; unexpected {sorted(gone)[:5]} "
                                    f"missing {sorted(set(want_feed) - set(o.feed))[:5]}")
    if bad_followers:
        fails.add("followers lists disagree with the follow edges", bad_followers)
    if bad_counts:
        fails.add("counts disagree with the lists", bad_counts)
    if bad_tweet_counts:
        fails.add(f"tweet counts or in_reply_to_id disagree with the acknowledged "
                  f"likes, retweets and replies ({len(bad_tweet_counts)})",
                  bad_tweet_counts)
    if lost_sessions:
        fails.add(f"LOST sessions: acknowledged tokens now 401 ({len(lost_sessions)})",
                  lost_sessions, lost=True)
    if bad_feed:
        fails.add("first feed page differs from what the data implies", bad_feed)

    # One by one: this cycle's acknowledged tweets and deletes, and a sample
    # of older ones (the timeline walks above already cover all of them).
    gets = []
    for w in writers:
        for u, tid in w.posted:
            gets.append((u, tid))
        for u, tid in w.removed:
            gets.append((u, tid))
    every_alive = [(u, t) for u in users for t in u.alive_list]
    every_gone = [(u, t) for u in users for t in sorted(u.deleted)]
    gets += rng.sample(every_alive, min(SAMPLE_OLD, len(every_alive)))
    gets += rng.sample(every_gone, min(SAMPLE_OLD, len(every_gone)))
    gets = list({tid: (u, tid) for u, tid in gets}.values())

    def get_one(item):
        u, tid = item
        r = rc.get(f"/v1/tweets/{tid}")
        if tid in u.alive:
            if r.status != 200:
                return ("lost", f"{tid}({u.handle}) -> {r.status}")
            t = r.json()
            if t.get("text") != u.alive[tid] or t.get("author_id") != u.id:
                return ("bad", f"{tid}: {r!r}")
        elif tid in u.deleted and r.status != 404:
            return ("resurrected", f"{tid}({u.handle}) -> {r.status}")
        return None

    bad = {"lost": [], "resurrected": [], "bad": []}
    for res in pool.map(get_one, gets):
        if res:
            bad[res[0]].append(res[1])
    if bad["lost"]:
        fails.add(f"LOST: GET /v1/tweets/{{id}} of acknowledged tweets "
                  f"({len(bad['lost'])})", bad["lost"], lost=True)
    if bad["resurrected"]:
        fails.add(f"RESURRECTED: GET /v1/tweets/{{id}} of deleted tweets is not 404 "
                  f"({len(bad['resurrected'])})", bad["resurrected"],
                  resurrected=True)
    if bad["bad"]:
        fails.add("GET /v1/tweets/{id} with the wrong text or author", bad["bad"])

    # Every acknowledged (or landed) sign-up can log in; its token is kept.
    def login(u):
        r = rc.request("POST", "/v1/sessions", {"handle": u.handle, "password": u.password})
        if r.status == 201:
            u.token = r.json()["token"]
            return None
        return f"{u.handle} -> {r!r}"

    new = [u for u in users if u.token is None]
    bad_login = [x for x in pool.map(login, new) if x]
    if bad_login:
        fails.add(f"LOST sign-ups: cannot log in ({len(bad_login)})", bad_login,
                  lost=True)

    return doubts


# -------------------------------------------------------------------- run

class Result:
    def __init__(self):
        self.ok = True
        self.cycles = 0
        self.failed_cycles = []
        self.acked = dict.fromkeys(KINDS, 0)
        self.doubts = {k: [0, 0] for k in KINDS}  # kind -> [in flight at kill, landed]
        self.refused = 0
        self.lost = 0
        self.resurrected = 0
        self.integrity = {}
        self.outbox_left = 0  # PostgreSQL: outbox rows kills left, all replayed
        self.summary = ""
        self.data_dir = None
        self.elapsed = 0.0
        self.harness_error = False


def outbox_count(data):
    """Rows in PostgreSQL's outbox (None on SQLite, which has none)."""
    if not ON_POSTGRES:
        return None
    return int(db_query(data, "SELECT count(*) FROM outbox")[0][0])


# Every count column against the rows it counts, and no like or retweet of
# a tweet that is gone: a write whose rows landed only in part shows here.
# One statement, the same on SQLite and PostgreSQL.
STORE_COUNTS_SQL = """
SELECT 'tweet ' || t.id || ' like_count ' || t.like_count || ', likes rows '
       || (SELECT count(*) FROM likes l WHERE l.tweet_id = t.id)
  FROM tweets t
 WHERE t.like_count <> (SELECT count(*) FROM likes l WHERE l.tweet_id = t.id)
UNION ALL
SELECT 'tweet ' || t.id || ' retweet_count ' || t.retweet_count || ', retweet rows '
       || (SELECT count(*) FROM tweets r WHERE r.retweet_of = t.id)
  FROM tweets t
 WHERE t.retweet_count <> (SELECT count(*) FROM tweets r WHERE r.retweet_of = t.id)
UNION ALL
SELECT 'tweet ' || t.id || ' reply_count ' || t.reply_count || ', reply rows '
       || (SELECT count(*) FROM tweets r WHERE r.in_reply_to_id = t.id)
  FROM tweets t
 WHERE t.reply_count <> (SELECT count(*) FROM tweets r WHERE r.in_reply_to_id = t.id)
UNION ALL
SELECT 'user ' || u.id || ' tweets_count ' || u.tweets_count || ', tweet rows '
       || (SELECT count(*) FROM tweets t WHERE t.author_id = u.id AND t.retweet_of IS NULL)
  FROM users u
 WHERE u.tweets_count <> (SELECT count(*) FROM tweets t
                           WHERE t.author_id = u.id AND t.retweet_of IS NULL)
UNION ALL
SELECT 'like ' || l.id || ' of missing tweet ' || l.tweet_id
  FROM likes l WHERE NOT EXISTS (SELECT 1 FROM tweets t WHERE t.id = l.tweet_id)
UNION ALL
SELECT 'retweet ' || r.id || ' of missing tweet ' || r.retweet_of
  FROM tweets r
 WHERE r.retweet_of IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM tweets t WHERE t.id = r.retweet_of)
"""


def store_counts_check(data):
    """The lines of STORE_COUNTS_SQL: empty when every count matches. The
    SQLite file is opened read-only, as for integrity_check."""
    if ON_POSTGRES:
        return [row[0] for row in db_query(data, STORE_COUNTS_SQL)]
    db = sqlite3.connect(f"file:{data / 'chirp.db'}?mode=ro", uri=True, timeout=10)
    try:
        return [row[0] for row in db.execute(STORE_COUNTS_SQL)]
    finally:
        db.close()


def serve_help():
    """`chirp serve --help` of the binary under test ("" if it fails): an
    older binary lacks some flags."""
    try:
        return subprocess.run([chirp_bin(), "serve", "--help"], capture_output=True,
                              text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def serve_flags(extra=()):
    """Flags for `chirp serve`: rate limits off when the binary has them
    (the writers send at full speed on purpose), then `extra`."""
    flags = ["--no-rate-limits"] if "--no-rate-limits" in serve_help() else []
    return flags + list(extra)


def lock_flags(mode):
    """--sqlite-lock shared for a cycle of ack kills on SQLite (their
    checkpoint from outside needs it), when the binary has the flag."""
    if mode != "ack" or ON_POSTGRES or "--sqlite-lock" not in serve_help():
        return []
    return ["--sqlite-lock", "shared"]


def run(cycles=10, seconds=2.0, seed=None, writers=4, users_per_writer=3,
        workdir=None, keep=False, keep_going=False, threads=2, server_args=(),
        kill_mode="mixed", after_kill=None, out=print):
    """Run the crash cycles; returns a Result (result.ok, result.summary).
    after_kill(cycle, data_dir, writers), if given, runs between the kill and
    the restart (the self-test uses it to damage the data on purpose)."""
    if seed is None:
        seed = random.SystemRandom().randrange(1, 10 ** 9)
    rng = random.Random(seed)
    res = Result()
    t_start = time.monotonic()
    own_workdir = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="chirp-crash-"))
    data = workdir / "data"
    if data.exists() and any(data.iterdir()):
        raise SystemExit(f"{data} is not empty: the first cycle must start empty")
    data.mkdir(parents=True, exist_ok=True)
    log = workdir / "server.log"
    res.data_dir = str(data)
    flags = serve_flags(server_args)
    out(f"chirp crash test: binary {chirp_bin()}, store {TEST_STORE}, {cycles} "
        f"cycles of up to {seconds:g}s, {writers} writers, seed {seed}; "
        f"data in {data}")
    if flags:
        out(f"server flags: {' '.join(flags)}")

    srv = ServerProc(data, log, threads=threads)
    # exactly these, whatever ServerProc adds by default (cycle 1's kill is
    # by timer, unless every kill is by ack)
    srv.extra_args = flags + lock_flags(kill_mode)
    ws = [Writer(i, seed) for i in range(writers)]  # the load
    kw = Writer(writers, seed)  # its users post the ack kills' tweets
    allw = ws + [kw]
    pool = ThreadPoolExecutor(max_workers=4)

    def fail_report(cycle, fails):
        res.ok = False
        res.failed_cycles.append(cycle)
        out(f"cycle {cycle}: FAILED")
        for line in fails.lines:
            out(f"  - {line}")
        out(f"  server log tail ({log}):")
        for line in srv.log_tail(3000).splitlines():
            out(f"  | {line}")

    try:
        # The users each writer writes for, signed up and logged in before the
        # first cycle's traffic (they count as acknowledged sign-ups).
        srv.start()
        rc = ReadClient(srv.port)

        def setup(w):
            wrng = random.Random(f"{seed}/setup/{w.index}")
            for _ in range(users_per_writer):
                h, p = w.new_handle(wrng), f"pw-{wrng.getrandbits(64):016x}"
                r = rc.request("POST", "/v1/users", {"handle": h, "password": p})
                if r.status != 201:
                    raise RuntimeError(f"setup sign-up {h} -> {r!r}")
                u = UserM(r.json()["id"], h, p, w)
                for attempt in range(20):
                    r = rc.request("POST", "/v1/sessions", {"handle": h, "password": p})
                    if r.status != 401:
                        break
                    time.sleep(0.1)
                if r.status != 201:
                    raise RuntimeError(f"setup log-in {h} -> {r!r}")
                if attempt:
                    setup_fails.append(f"{h}: log-in right after the 201 of its "
                                       f"sign-up got 401 {attempt} time(s): "
                                       f"acknowledged before committed?")
                u.token = r.json()["token"]
                w.users.append(u)
        setup_fails = []
        list(pool.map(setup, allw))
        res.acked["signup"] += len(allw) * users_per_writer

        for cycle in range(1, cycles + 1):
            t0 = time.monotonic()
            fails = Failures()
            if cycle == 1:
                for f in setup_fails:
                    fails.add(f"setup: {f}")
            mode = kill_mode if kill_mode != "mixed" else ("timer", "ack")[(cycle - 1) % 2]
            if cycle > 1:
                # An ack kill checkpoints the WAL from outside first, which
                # SQLite's default --sqlite-lock exclusive shuts out: those
                # cycles share the file, the others run the default.
                srv.extra_args = flags + lock_flags(mode)
                srv.start()
            for w in allw:
                w.reset_cycle()
            targets = [u.id for w in allw for u in w.users]
            stop = threading.Event()
            killer = Killer(srv.proc.pid)
            delay = rng.uniform(0.05, 1.0) * seconds
            threads_ = [threading.Thread(target=w.run, name=f"writer{w.index}",
                                         args=(srv.port, cycle, targets, stop,
                                               killer), daemon=True)
                        for w in ws]
            for t in threads_:
                t.start()
            time.sleep(delay)
            if mode == "ack":
                killer.pause.set()
                deadline = time.monotonic() + REQUEST_TIMEOUT
                while time.monotonic() < deadline and not all(
                        w.parked.is_set() or not t.is_alive()
                        for w, t in zip(ws, threads_)):
                    time.sleep(0.0005)
                if srv.alive():
                    live = [(a, t) for w in allw for a in w.users for t in a.alive_list]
                    killer.post_and_kill(srv.port, data / "chirp.db", kw, rng, cycle,
                                         live)
            killer.fire("timer")
            srv.kill9()  # reaps it
            stop.set()
            for t in threads_:
                t.join(JOIN_TIMEOUT)
            hung = [t.name for t in threads_ if t.is_alive()]
            if hung:
                raise RuntimeError(f"writers still running {JOIN_TIMEOUT:.0f}s "
                                   f"after the kill: {hung}")
            for w in ws:
                for a in w.anomalies:
                    fails.add(f"anomaly (writer {w.index}): {a}")
            if after_kill is not None:
                after_kill(cycle, data, allw)
            # PostgreSQL's outbox: the rows of writes whose effects the
            # killed process had not run; the restart must run them all.
            outbox_left = outbox_count(data)
            if outbox_left:
                res.outbox_left += outbox_left

            srv.start()
            rc = ReadClient(srv.port)
            doubts = []
            try:
                doubts = verify(rc, pool, allw, rng, fails, keep_going)
            except NoAnswer as e:
                fails.add(f"the restarted server stopped answering during the "
                          f"checks ({e}); alive: {srv.alive()}")
                keep_going = False
            if outbox_left is not None:
                deadline = time.monotonic() + 10
                while outbox_count(data) and time.monotonic() < deadline:
                    time.sleep(0.1)
                still = outbox_count(data)
                if still:
                    fails.add(f"outbox: {still} of the {outbox_left} rows the kill "
                              f"left were not processed 10 s after the restart")
            try:
                rc_stop = srv.stop()
                if rc_stop != 0:
                    fails.add(f"SIGTERM after the checks: exit code {rc_stop}")
            except AssertionError as e:  # did not exit in time: killed
                fails.add(str(e).splitlines()[0])
            try:
                integ = db_integrity_check(data)
            except (sqlite3.Error, subprocess.CalledProcessError) as e:
                integ = [f"cannot run: {e}"]
            integ_s = "ok" if integ == ["ok"] else "; ".join(integ[:10])
            res.integrity[integ_s] = res.integrity.get(integ_s, 0) + 1
            if integ != ["ok"]:
                fails.add(f"store integrity check: {integ_s}")
            try:
                bad_rows = store_counts_check(data)
            except (sqlite3.Error, subprocess.CalledProcessError) as e:
                bad_rows = [f"cannot run: {e}"]
            if bad_rows:
                fails.add(f"store: counts disagree with the rows ({len(bad_rows)})",
                          bad_rows)

            acked = {k: sum(w.acked[k] for w in allw) for k in KINDS}
            for k in KINDS:
                res.acked[k] += acked[k]
            for d in doubts:
                res.doubts[d.kind][0] += 1
                res.doubts[d.kind][1] += bool(d.landed)
            refused = sum(w.refused for w in ws)
            res.refused += refused
            res.lost += fails.lost
            res.resurrected += fails.resurrected
            res.cycles = cycle
            out(f"cycle {cycle}/{cycles}: kill -9 after {delay:.2f}s "
                f"({'on the ack of a ' + killer.ack_kind if killer.by == 'ack' else 'timer'}); acked "
                + " ".join(f"{k} {acked[k]}" for k in KINDS)
                + (f"; refused (429/503) {refused}" if refused else "")
                + f"; in flight at kill {len(doubts)} (landed "
                f"{sum(1 for d in doubts if d.landed)}); "
                f"lost {fails.lost}, resurrected {fails.resurrected}; "
                f"integrity {integ_s}, counts against rows "
                f"{'ok' if not bad_rows else 'BAD'}; {time.monotonic() - t0:.1f}s")
            if fails:
                fail_report(cycle, fails)
                if not keep_going:
                    break
    except Exception as e:  # the harness could not do its job
        res.ok = False
        res.summary = f"harness error: {e}"
        out(f"HARNESS ERROR in cycle {res.cycles + 1}: {e}")
        out(traceback.format_exc())
        out(f"server log tail ({log}):\n{srv.log_tail(3000)}")
        res.harness_error = True
    finally:
        pool.shutdown(wait=True)
        if srv.alive():
            srv.kill9()

    res.elapsed = time.monotonic() - t_start
    total = sum(res.acked.values())
    summary = (
        f"{'PASS' if res.ok else 'FAIL'}: {res.cycles} cycles in {res.elapsed:.1f}s "
        f"(seed {seed}); acknowledged writes {total}: "
        + ", ".join(f"{k} {res.acked[k]}" for k in KINDS)
        + (f"; refused (429/503) {res.refused}" if res.refused else "")
        + "; in flight at kill (landed/total) "
        + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in res.doubts.items())
        + "; "
        f"lost acknowledged writes {res.lost}; resurrected deletes and undos "
        f"{res.resurrected}; store integrity "
        + ", ".join(f"{k} x{v}" for k, v in res.integrity.items()))
    if ON_POSTGRES:
        summary += (f"; outbox rows left by the kills {res.outbox_left}, "
                    f"all replayed after the restarts")
    if res.failed_cycles:
        summary += f"; failed cycles {res.failed_cycles}"
    if res.summary:
        summary += f"; {res.summary}"
    res.summary = summary
    out(summary)
    if res.ok and own_workdir and not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        out(f"data and server log kept in {workdir}")
    return res


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cycles", type=int, default=10)
    p.add_argument("--seconds-per-cycle", type=float, default=2.0,
                   help="longest traffic phase; the kill comes after a random "
                        "5-100%% of it [2]")
    p.add_argument("--seed", type=int, default=None, help="random by default; printed")
    p.add_argument("--writers", type=int, default=4)
    p.add_argument("--users-per-writer", type=int, default=3)
    p.add_argument("--threads", type=int, default=2, help="server event-loop threads")
    p.add_argument("--server-arg", action="append", default=[],
                   help="one more `chirp serve` flag (repeatable)")
    p.add_argument("--workdir", help="where data/ and server.log go (default: a "
                   "temporary directory, removed on success)")
    p.add_argument("--keep", action="store_true", help="keep the data even on success")
    p.add_argument("--kill", choices=("mixed", "timer", "ack"), default="mixed",
                   help="how the kill comes (see Killer): at a random instant "
                        "mid-traffic (timer), or right after the acknowledgement "
                        "of one more write once the load pauses (ack); mixed, the "
                        "default, alternates them, timer first")
    p.add_argument("--keep-going", action="store_true",
                   help="after a failed cycle, adopt what the server has and go on "
                        "(to see how often a loss shows up)")
    a = p.parse_args(argv)
    binary = chirp_bin()
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print(f"chirp binary not found at {binary}: run `make` or set CHIRP_BIN",
              file=sys.stderr)
        return 2
    if a.cycles < 1 or a.seconds_per_cycle <= 0 or a.writers < 1 or a.users_per_writer < 2:
        p.error("need --cycles >= 1, --seconds-per-cycle > 0, --writers >= 1, "
                "--users-per-writer >= 2")
    res = run(cycles=a.cycles, seconds=a.seconds_per_cycle, seed=a.seed,
              writers=a.writers, users_per_writer=a.users_per_writer,
              workdir=a.workdir, keep=a.keep, keep_going=a.keep_going,
              threads=a.threads, server_args=a.server_arg, kill_mode=a.kill,
              out=lambda s: print(s, flush=True))
    if res.harness_error:
        return 2
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
