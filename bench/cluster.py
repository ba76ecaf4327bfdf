"""make bench-cluster: feed reads, tweet reads and durable posts through
HAProxy to three chirp nodes (PostgreSQL, Redis, s3rver: tests/cluster/
cluster.py), beside one embedded chirp (SQLite, the same data) and nginx
serving a file the size of a feed response, in one run on this machine.

    bench/cluster.py [--users N] [--duration S] [--connections N]

Both chirps get the same data through the API (sign-ups, follows, tweets);
wrk then runs bench/lua/{feed,tweet,post}.lua against each and
bench/lua/static.lua against nginx. The report (Markdown) is printed and
written to bench/results/cluster-<UTC time>.md. Everything is on 127.0.0.1
and stopped at the end, also on failure.
"""

import argparse
import datetime
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
sys.path.insert(0, str(ROOT / "tests" / "http"))
from chirp_client import Client  # noqa: E402
from cluster import Cluster, PgServer, Proc, chirp_bin, free_port, wait_http  # noqa: E402

LUA = ROOT / "bench" / "lua"
NO_LIMITS = ["--no-rate-limits", "--access-log", "off"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def client(url):
    host, port = url.removeprefix("http://").split(":")
    addr = (host, int(port))
    return Client(lambda: addr)


def seed(url, users, follows, tweets_each, workdir, name):
    """Sign-ups, log-ins, follows and tweets through the API; writes
    tokens.txt ("<id> <token>") and tweet_ids.txt for the wrk scripts."""
    c = client(url)
    pw = "bench password " + secrets.token_hex(4)

    def make(i):
        h = f"b{name}{i}_{secrets.token_hex(3)}"
        r = c.post("/v1/users", {"handle": h, "password": pw})
        assert r.status == 201, r
        t = c.post("/v1/sessions", {"handle": h, "password": pw})
        assert t.status == 201, t
        return r.json["id"], t.json["token"]

    with ThreadPoolExecutor(8) as ex:
        people = list(ex.map(make, range(users)))
    rnd = random.Random(1)

    def follow_some(p):
        for q in rnd.sample(people, follows):
            if q[0] != p[0]:
                r = c.post(f"/v1/users/{q[0]}/follows", token=p[1])
                assert r.status in (200, 201), r

    def post_some(p):
        ids = []
        for k in range(tweets_each):
            r = c.post("/v1/tweets", {"text": f"seed tweet {k} of {p[0]}"}, token=p[1])
            assert r.status == 201, r
            ids.append(r.json["id"])
        return ids

    with ThreadPoolExecutor(8) as ex:
        list(ex.map(follow_some, people))
        ids = [i for batch in ex.map(post_some, people) for i in batch]
    d = workdir / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "tokens.txt").write_text("".join(f"{i} {t}\n" for i, t in people))
    (d / "tweet_ids.txt").write_text("".join(f"{i}\n" for i in ids))
    # a median feed response, for nginx's file of the same size
    sizes = sorted(len(c.get("/v1/feed?limit=20", token=t).body) for _, t in people[:51])
    return d, sizes[len(sizes) // 2]


def wrk(name, url, script, args, duration, connections, workdir):
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s",
         "-s", str(LUA / script), url, "--", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=duration + 120)
    (workdir / f"wrk-{name}.txt").write_text(out.stdout)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk {name} printed no BENCH_RESULT:\n{out.stdout[-2000:]}")
    kv = dict(f.split("=", 1) for f in line.split()[1:])
    errors = sum(int(kv.get(k, 0)) for k in
                 ("status_err", "connect_err", "read_err", "write_err", "timeout_err"))
    res = {"rps": float(kv["rps"]), "p50": int(kv["p50_us"]) / 1000,
           "p99": int(kv["p99_us"]) / 1000, "errors": errors}
    log(f"{name}: {res['rps']:.0f} req/s, p50 {res['p50']:.2f} ms, p99 {res['p99']:.2f} ms, "
        f"{errors} errors")
    return res


def machine():
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), "?")
    mem = next((ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "0")
    load = open("/proc/loadavg").read().split()[:3]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    return (f"{cpu}, {os.cpu_count()} cores, {int(mem) // 1024} MiB; "
            f"{platform.system()} {platform.release()}; load average before the run "
            f"{' '.join(load)}; chirp {commit}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--follows", type=int, default=30)
    ap.add_argument("--tweets", type=int, default=10, help="tweets per user")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    a = ap.parse_args()
    for tool in ("wrk", "nginx", "haproxy", "redis-server"):
        if not shutil.which(tool) and not Path("/usr/sbin", tool).exists():
            sys.exit(f"bench-cluster needs {tool} (scripts/deps.sh installs it)")
    work = Path(tempfile.mkdtemp(prefix="chirp-bench-cluster-"))
    os.chmod(work, 0o755)
    header = machine()
    pg = PgServer()
    cl = Cluster(work / "cluster", nodes=3, node_args=NO_LIMITS, pg=pg)
    single = nginx = None
    try:
        pg.start()
        cl.start()
        log(f"cluster up at {cl.url} ({'with' if cl.want_redis else 'without'} Redis)")
        single_port = free_port()
        (work / "single").mkdir()
        single = Proc(cl, "single", [chirp_bin(), "serve", "--listen",
                                     f"127.0.0.1:{single_port}", "--data",
                                     str(work / "single"), "--threads", "2", *NO_LIMITS]).start()
        single_url = f"http://127.0.0.1:{single_port}"
        if not wait_http(single_url + "/readyz", 60, single.proc):
            raise RuntimeError("the single chirp did not start:\n" + single.log_tail())
        log(f"seeding {a.users} users, {a.follows} follows each, {a.tweets} tweets each, twice")
        t0 = time.monotonic()
        cdir, feed_bytes = seed(cl.url, a.users, a.follows, a.tweets, work, "cluster")
        sdir, _ = seed(single_url, a.users, a.follows, a.tweets, work, "single")
        log(f"seeded in {time.monotonic() - t0:.0f} s; median feed response {feed_bytes} bytes")

        www = work / "www"
        www.mkdir()
        (www / "feed.json").write_bytes(b"x" * feed_bytes)
        nginx_port = free_port()
        prefix = work / "nginx"
        (prefix / "tmp").mkdir(parents=True)
        conf = (ROOT / "bench" / "nginx.conf.in").read_text().replace(
            "@PREFIX@", str(prefix)).replace("@PORT@", str(nginx_port)).replace("@ROOT@", str(www))
        (prefix / "nginx.conf").write_text(conf)
        nginx = Proc(cl, "nginx", ["nginx", "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                   "-e", str(prefix / "error.log")]).start()
        if not wait_http(f"http://127.0.0.1:{nginx_port}/feed.json", 30, nginx.proc):
            raise RuntimeError("nginx did not start")

        d, c = a.duration, a.connections
        rows = {}
        for who, url, data in (("cluster", cl.url, cdir), ("single", single_url, sdir)):
            # warm every timeline once, as a user population would
            cc = client(url)
            for line in (data / "tokens.txt").read_text().splitlines():
                cc.get("/v1/feed?limit=20", token=line.split()[1])
            rows[(who, "feed")] = wrk(f"{who}-feed", url, "feed.lua",
                                      [str(data / "tokens.txt")], d, c, work)
            rows[(who, "tweet")] = wrk(f"{who}-tweet", url, "tweet.lua",
                                       [str(data / "tweet_ids.txt")], d, c, work)
            rows[(who, "post")] = wrk(f"{who}-post", url, "post.lua",
                                      [str(data / "tokens.txt")], d, c, work)
        rows[("nginx", "feed")] = wrk("nginx", f"http://127.0.0.1:{nginx_port}/feed.json",
                                      "static.lua", [], d, c, work)
        report(a, header, cl, feed_bytes, rows)
    finally:
        for p in (nginx, single):
            if p is not None:
                p.stop()
        cl.stop()
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def report(a, header, cl, feed_bytes, rows):
    when = datetime.datetime.now(datetime.timezone.utc)
    lines = [f"# bench-cluster, {when:%Y-%m-%d %H:%M} UTC", "",
             f"Machine: {header}.", "",
             f"Shared machine: other work ran beside this benchmark, so the figures are "
             f"lower bounds and vary between runs. Everything (PostgreSQL, Redis, "
             f"s3rver, 3 chirps of 2 threads, HAProxy, the single chirp, nginx, wrk) "
             f"shares the same {os.cpu_count()} cores.", "",
             f"Data: {a.users} users, {a.follows} follows each, {a.tweets} tweets each, "
             f"put through the API of each setup. wrk: 2 threads, {a.connections} "
             f"connections, {a.duration} s per row. Cluster "
             f"{'with Redis (--redis)' if cl.want_redis else 'on PostgreSQL alone (this chirp has no --redis)'}; "
             f"the single chirp on SQLite. nginx serves a {feed_bytes}-byte file (the "
             f"median feed response).", "",
             "| scenario | setup | req/s | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|"]
    names = {"feed": "GET /v1/feed?limit=20", "tweet": "GET /v1/tweets/{id}",
             "post": "POST /v1/tweets (durable)"}
    for what in ("feed", "tweet", "post"):
        for who, label in (("cluster", "HAProxy → 3 nodes"), ("single", "one chirp (SQLite)")):
            r = rows[(who, what)]
            lines.append(f"| {names[what]} | {label} | {r['rps']:.0f} | {r['p50']:.2f} | "
                         f"{r['p99']:.2f} | {r['errors']} |")
    r = rows[("nginx", "feed")]
    lines.append(f"| static file, {feed_bytes} B | nginx | {r['rps']:.0f} | {r['p50']:.2f} | "
                 f"{r['p99']:.2f} | {r['errors']} |")
    text = "\n".join(lines) + "\n"
    out = ROOT / "bench" / "results" / f"cluster-{when:%Y%m%dT%H%M%SZ}.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print(text)
    log(f"report written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
