#!/usr/bin/env python3
"""fanout_delay.py — how long until a follower sees a new tweet.

For authors taken from chirp-gen's fanout_pairs.txt
(`<author_id> <author_token> <followers_count> <follower_token>`), post a
tweet as the author, take the time at which the 201 arrives, then poll the
follower's `GET /v1/feed?limit=5` until the new tweet's id is in it. The
delay is that wait: the time a fanout job (or, for celebrities, the merge at
read time) takes to make an acknowledged tweet visible.

Authors at or below the celebrity threshold are fanned out on post; they are
sampled evenly over their follower counts and reported overall and by size
band. Authors above it are not fanned out (their tweets are merged in at
read time) and are reported on their own.

Before sampling, every follower's feed is read once, so a sample measures
fanout, not the rebuild of a cold timeline (run.sh reports that separately).

Standard library only; two keep-alive connections (author, follower). Every
wait is bounded: --timeout per sample, --max-seconds for the whole run.
Prints `FANOUT key=value ...` lines for bench/run.sh, one per group:
  FANOUT group=all_fanned samples=N p50_ms=F p99_ms=F max_ms=F timeouts=N polls_p50=N ...
Exit status 0 even when some samples time out (they are counted, not hidden);
1 on a request error (non-2xx or a broken connection).
"""

import argparse
import http.client
import json
import random
import sys
import time


class Conn:
    """One keep-alive HTTP/1.1 connection that reconnects once if the
    server closed it while idle."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.c = None

    def request(self, method, path, token, body=None):
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=self.timeout)
            try:
                self.c.request(method, path, body=body, headers=headers)
                r = self.c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def read_pairs(path):
    pairs = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            author_id, author_token, followers, follower_token = parts
            pairs.append((author_id, author_token, int(followers),
                          follower_token))
    return pairs


def spread(pairs, n):
    """Up to n pairs evenly spaced over the list sorted by follower count,
    cycling through the authors if there are fewer than n."""
    if not pairs:
        return []
    s = sorted(pairs, key=lambda p: p[2])
    if len(s) >= n:
        return [s[int(i * (len(s) - 1) / max(1, n - 1))] for i in range(n)]
    return [s[i % len(s)] for i in range(n)]


def sample(author, follower, pair, args, nonce, seq):
    """Post one tweet, wait for it in the follower's feed. Returns
    (delay_ms or None on timeout, polls)."""
    _, author_token, _, follower_token = pair
    text = "fanout probe %s %d" % (nonce, seq)
    status, body = author.request("POST", "/v1/tweets", author_token,
                                  json.dumps({"text": text}))
    acked = time.perf_counter()
    if status != 201:
        raise RuntimeError("POST /v1/tweets -> %d %r" % (status, body[:200]))
    needle = ('"id":"%s"' % json.loads(body)["id"]).encode()
    deadline = acked + args.timeout
    polls = 0
    while True:
        status, feed = follower.request("GET", "/v1/feed?limit=5",
                                        follower_token)
        now = time.perf_counter()
        polls += 1
        if status != 200:
            raise RuntimeError("GET /v1/feed -> %d %r" % (status, feed[:200]))
        if needle in feed:
            return (now - acked) * 1000.0, polls
        if now >= deadline:
            return None, polls
        time.sleep(args.poll_ms / 1000.0)


def report(group, results):
    delays = [d for d, _, _ in results if d is not None]
    timeouts = sum(1 for d, _, _ in results if d is None)
    polls = [p for _, p, _ in results]
    followers = [f for _, _, f in results]
    fields = ["group=%s" % group, "samples=%d" % len(results),
              "timeouts=%d" % timeouts]
    if followers:
        fields.append("followers=%d..%d" % (min(followers), max(followers)))
    if delays:
        fields += ["p50_ms=%.2f" % percentile(delays, 50),
                   "p99_ms=%.2f" % percentile(delays, 99),
                   "max_ms=%.2f" % max(delays),
                   "polls_p50=%d" % percentile(polls, 50)]
    print("FANOUT " + " ".join(fields), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pairs", required=True, help="fanout_pairs.txt")
    ap.add_argument("--threshold", type=int, default=10000,
                    help="celebrity threshold the server runs with")
    ap.add_argument("--samples", type=int, default=200,
                    help="samples for fanned-out authors")
    ap.add_argument("--celebrity-samples", type=int, default=20,
                    help="samples for authors above the threshold")
    ap.add_argument("--poll-ms", type=float, default=1.0,
                    help="pause between two polls of the feed")
    ap.add_argument("--timeout", type=float, default=5.0,
                    help="seconds one sample may wait before it counts as "
                         "a timeout")
    ap.add_argument("--max-seconds", type=float, default=300.0,
                    help="stop sampling after this long")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    pairs = read_pairs(args.pairs)
    if not pairs:
        print("fanout_delay: no pairs in %s" % args.pairs, file=sys.stderr)
        return 1
    random.seed(args.seed)
    fanned = spread([p for p in pairs if p[2] <= args.threshold],
                    args.samples)
    celebs = spread([p for p in pairs if p[2] > args.threshold],
                    args.celebrity_samples)
    # Interleave the sizes so a slow stretch of the run does not land on one
    # band only.
    random.shuffle(fanned)

    author = Conn(args.host, args.port, args.timeout + 5)
    follower = Conn(args.host, args.port, args.timeout + 5)
    nonce = "%d.%d" % (time.time(), random.randrange(1 << 30))
    stop_at = time.monotonic() + args.max_seconds
    out = {"fanned": [], "celebrity": []}
    seq = 0
    try:
        for token in sorted({p[3] for p in fanned + celebs}):
            status, body = follower.request("GET", "/v1/feed?limit=5", token)
            if status != 200:
                raise RuntimeError("warming GET /v1/feed -> %d %r"
                                   % (status, body[:200]))
        for group, todo in (("fanned", fanned), ("celebrity", celebs)):
            for pair in todo:
                if time.monotonic() >= stop_at:
                    print("fanout_delay: --max-seconds reached, stopping "
                          "early", file=sys.stderr)
                    break
                seq += 1
                delay, polls = sample(author, follower, pair, args, nonce, seq)
                out[group].append((delay, polls, pair[2]))
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        print("fanout_delay: %s" % e, file=sys.stderr)
        return 1

    report("all_fanned", out["fanned"])
    bands = [(1, 100), (101, 1000), (1001, args.threshold)]
    for lo, hi in bands:
        band = [r for r in out["fanned"] if lo <= r[2] <= hi]
        if band:
            report("fanned_%d_%d" % (lo, hi), band)
    report("celebrity", out["celebrity"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
