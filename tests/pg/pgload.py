"""Traffic for the PostgreSQL failure tests: threads that post tweets and
read while the database goes away under chirp, recording every request's
answer and how long it took, so a test can say what each phase of the
outage looked like.

Every request has a client timeout (CLIENT_TIMEOUT): chirp runs each
statement with a statement timeout (STATEMENT_TIMEOUT, issue 13), so a
request still unanswered past it plus a margin is a hang, and is recorded
as one (status None).
"""

import random
import threading
import time

from chirp_client import TIMEOUT_FACTOR

# chirp's statement_timeout on PostgreSQL (store/postgres.c).
STATEMENT_TIMEOUT = 5.0
CLIENT_TIMEOUT = (STATEMENT_TIMEOUT + 2.0) * TIMEOUT_FACTOR


class Event:
    __slots__ = ("start", "end", "kind", "status", "body", "error")

    def __init__(self, start, end, kind, status, body=b"", error=None):
        self.start = start
        self.end = end
        self.kind = kind      # "post", "read", "readyz"
        self.status = status  # None: no answer within CLIENT_TIMEOUT
        self.body = body
        self.error = error

    @property
    def took(self):
        return self.end - self.start

    def __repr__(self):
        return (f"<{self.kind} at {self.start:.2f}s -> {self.status} in "
                f"{self.took:.2f}s{' ' + repr(self.error) if self.error else ''} "
                f"{self.body[:120]!r}>")


class Load:
    """`writers` threads posting as `users` (one user per thread, round
    robin) and `readers` threads reading tweets already acknowledged,
    users and feeds; one thread polling /readyz every `ready_every` s.
    Times are seconds since the Load was made (Load.now())."""

    def __init__(self, client, users, writers=3, readers=2, ready_every=0.1):
        self.client = client
        self.users = users
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.events = []
        self.acked = []   # (tweet id, text, user) of every 201
        self.stop_flag = threading.Event()
        self.threads = (
            [threading.Thread(target=self._write, args=(i,), daemon=True)
             for i in range(writers)]
            + [threading.Thread(target=self._read, args=(i,), daemon=True)
               for i in range(readers)]
            + ([threading.Thread(target=self._ready, args=(ready_every,),
                                 daemon=True)] if ready_every else []))

    def now(self):
        return time.monotonic() - self.t0

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(CLIENT_TIMEOUT + 5)
        hung = [t.name for t in self.threads if t.is_alive()]
        assert not hung, f"load threads still running: {hung}"

    def _request(self, kind, method, path, **kw):
        start = self.now()
        try:
            r = self.client.request(method, path, timeout=CLIENT_TIMEOUT, **kw)
            ev = Event(start, self.now(), kind, r.status, r.body)
        except OSError as e:  # refused, reset, or the client timeout
            ev = Event(start, self.now(), kind, None, error=e)
            r = None
        with self.lock:
            self.events.append(ev)
        return r

    def _write(self, i):
        user = self.users[i % len(self.users)]
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            text = f"load w{i} #{n} {random.getrandbits(32):08x}"
            r = self._request("post", "POST", "/v1/tweets", json_body={"text": text},
                              token=user.token)
            if r is not None and r.status == 201:
                with self.lock:
                    self.acked.append((r.json["id"], text, user))
            elif r is None or r.status >= 500:
                time.sleep(0.02)  # keep the outage's record readable

    def _read(self, i):
        rng = random.Random(i)
        while not self.stop_flag.is_set():
            with self.lock:
                tid = rng.choice(self.acked)[0] if self.acked else None
            user = rng.choice(self.users)
            roll = rng.random()
            if tid and roll < 0.4:
                self._request("read", "GET", f"/v1/tweets/{tid}")
            elif roll < 0.7:
                self._request("read", "GET", f"/v1/users/{user.id}")
            else:
                self._request("read", "GET", "/v1/feed", token=user.token)
            time.sleep(0.005)

    def _ready(self, every):
        while not self.stop_flag.is_set():
            self._request("readyz", "GET", "/readyz")
            self.stop_flag.wait(every)

    def snapshot(self, kind=None, since=None, until=None):
        """Events of `kind`, sent in [since, until)."""
        with self.lock:
            evs = list(self.events)
        return [e for e in evs
                if (kind is None or e.kind == kind)
                and (since is None or e.start >= since)
                and (until is None or e.start < until)]

    def acked_tweets(self):
        with self.lock:
            return list(self.acked)


def bad_answers(events):
    """Events that no outage excuses: a 5xx other than 503 (a 500 is a bug
    even with the database gone), and no answer within CLIENT_TIMEOUT."""
    return [e for e in events
            if e.status is None or (e.status >= 500 and e.status != 503)]
