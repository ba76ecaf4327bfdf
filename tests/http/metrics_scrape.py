"""GET /metrics as a scraper does it: with the bearer token of the server's
--metrics-token-file (by default DATA/metrics.token), since /metrics is
not public (issue 19, finding 11).

The tests' helpers hold a Client, which knows only the server's address,
and the shared server's data dir lives in conftest.py; so the token is
found from the address: the chirp process whose command line says
`--listen HOST:PORT` tells its `--data` (or `--metrics-token-file`).
"""

import os
import re


def _server_args(host, port):
    want = f"{host}:{port}"
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        for i, a in enumerate(args[:-1]):
            if (a == "--listen" and args[i + 1] == want) or a == f"--listen={want}":
                return pid, args
    raise AssertionError(f"no chirp process listens on {want}")


def _flag(args, name):
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


def metrics_token(client):
    """The token of the server `client` talks to."""
    host, port = client.address
    from chirp_client import CLUSTER_TOKENS  # HAProxy in front of a cluster
    if (host, port) in CLUSTER_TOKENS:
        with open(CLUSTER_TOKENS[(host, port)]) as fh:
            return fh.readline().rstrip("\r\n")
    pid, args = _server_args(host, port)
    path = _flag(args, "--metrics-token-file") or os.path.join(
        _flag(args, "--data") or "./data", "metrics.token")
    if not os.path.isabs(path):
        path = os.path.join(os.readlink(f"/proc/{pid}/cwd"), path)
    with open(path) as fh:
        return fh.readline().rstrip("\r\n")


def get_metrics(client, **kw):
    """GET /metrics with the server's token; the Resp."""
    return client.get("/metrics", token=metrics_token(client), **kw)


def counters(client, *names):
    """The values of unlabelled metrics `names`, in order, from one scrape."""
    r = get_metrics(client)
    assert r.status == 200, r
    text = r.body.decode()
    values = []
    for name in names:
        m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
        assert m, f"{name} missing from /metrics"
        values.append(int(m.group(1)))
    return tuple(values)
