#!/usr/bin/env python3
"""search_lag.py — how long until a new tweet can be found by search.

Posts tweets carrying a word made up for each one, takes the time at which
the 201 arrives, then polls `GET /v1/search/tweets?q=<word>&sort=recent`
until the tweet is in the answer. The delay is the indexing lag a user sees
(the issue's target: under 1 s).

Standard library only; one keep-alive connection. Every wait is bounded.
Prints one line for bench/search.sh:
  SEARCH_LAG samples=N p50_ms=F p99_ms=F max_ms=F timeouts=N
"""

import argparse
import http.client
import json
import random
import string
import sys
import time


def request(conn, method, path, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, data


def percentile(values, p):
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tokens", required=True, help="chirp-gen's tokens.txt")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=5.0, help="per sample, s")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    rnd = random.Random(args.seed)
    with open(args.tokens) as f:
        tokens = [line.split()[1] for line in f if line.strip()]
    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
    lags, timeouts = [], 0
    for _ in range(args.samples):
        word = "".join(rnd.choice("bcdfghjkmnpqrtvwxz") for _ in range(12))
        status, data = request(conn, "POST", "/v1/tweets", rnd.choice(tokens),
                               {"text": f"lag probe {word}"})
        if status != 201:
            print(f"search_lag: POST answered {status}: {data[:200]!r}", file=sys.stderr)
            return 1
        t0 = time.monotonic()
        tweet_id = json.loads(data)["id"]
        while True:
            status, data = request(conn, "GET", f"/v1/search/tweets?q={word}&sort=recent")
            if status != 200:
                print(f"search_lag: search answered {status}", file=sys.stderr)
                return 1
            if any(t["id"] == tweet_id for t in json.loads(data)):
                lags.append((time.monotonic() - t0) * 1000)
                break
            if time.monotonic() - t0 > args.timeout:
                timeouts += 1
                break
            time.sleep(0.001)
    if not lags:
        print(f"SEARCH_LAG samples=0 timeouts={timeouts}")
        return 0
    print(f"SEARCH_LAG samples={len(lags)} p50_ms={percentile(lags, 50):.1f} "
          f"p99_ms={percentile(lags, 99):.1f} max_ms={max(lags):.1f} timeouts={timeouts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
