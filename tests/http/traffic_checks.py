"""Checks over recorded traffic (chirp_client.TRAFFIC): no response carries
a password, a password hash or a token except the credential it mints; no
response has a Server header; every error has the error shape. Run by
test_zz_secrets.py on its tour, and by conftest.py over all the traffic of
a test session (each worker's, when pytest-xdist splits the suite)."""

import json

from chirp_client import is_http_parser_refusal

SECRET_KEY_PARTS = ("password", "passwd", "hash", "token", "secret", "salt")
# Keys that contain a part above and are no secret: a tweet's hashtags,
# and in the Mastodon API an image's blurhash and OAuth's token_type.
NOT_SECRET_KEYS = {"hashtags", "blurhash", "token_type"}
# The answers that hand the caller a credential of their own, and its key:
# a log-in's token; in the Mastodon API an OAuth token, a sign-up's token,
# and a registered app's client_secret (docs/mastodon.md).
MINTS = {"/v1/sessions": "token", "/oauth/token": "access_token",
         "/api/v1/accounts": "access_token", "/api/v1/apps": "client_secret"}


def _keys(doc, path=""):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield f"{path}.{k}", k
            yield from _keys(v, f"{path}.{k}")
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _keys(v, f"{path}[{i}]")


def _minted_key(resp):
    """The key of the credential this answer hands its caller, or None."""
    if resp.method == "POST" and resp.status in (200, 201):
        return MINTS.get(resp.path.split("?")[0])
    return None



def secret_problems(responses, tokens, passwords):
    problems = []
    for r in responses:
        where = f"{r.method} {r.path} -> {r.status}"
        head_text = "\n".join(f"{k}: {v}" for k, v in r.headers)
        body_text = r.body.decode("utf-8", "replace")
        if "$argon2" in body_text or "$argon2" in head_text:
            problems.append(f"{where}: contains an Argon2 hash")
        for pw in passwords:
            # Only the random ones: fixed test passwords such as "12345678"
            # could occur by chance inside an id.
            if pw.startswith("pw-") and (pw in body_text or pw in head_text):
                problems.append(f"{where}: contains a password")
        for tok in tokens:
            if tok in head_text:
                problems.append(f"{where}: a token in the headers")
        doc = None
        ct = (r.header("Content-Type") or "").lower()
        if r.body and ct.startswith("application/json"):
            try:
                doc = json.loads(body_text)
            except ValueError:
                problems.append(f"{where}: Content-Type is JSON, body is not")
        minted = _minted_key(r)
        if minted and isinstance(doc, dict):
            # Only the top-level credential, and only the one minted here.
            mine = doc.get(minted)
            rest = {k: v for k, v in doc.items() if k != minted}
            rest_text = json.dumps(rest)
            for tok in tokens:
                if tok in rest_text:
                    problems.append(f"{where}: a token outside `token`")
            others = [t for t in tokens if t != mine and t in body_text]
            if others:
                problems.append(f"{where}: another session's token")
            doc = rest
        else:
            for tok in tokens:
                if tok in body_text:
                    problems.append(f"{where}: contains a token")
        for path, key in _keys(doc):
            if key.lower() not in NOT_SECRET_KEYS and any(p in key.lower() for p in SECRET_KEY_PARTS):
                problems.append(f"{where}: secret-looking field {path}")
    return sorted(set(problems))


def server_header_problems(responses):
    return sorted({f"{r.method} {r.path} -> {r.status}"
                  for r in responses if r.header("Server") is not None})


def _mastodon(path):
    return path.startswith(("/api/", "/oauth/", "/.well-known/", "/nodeinfo/"))


def error_shape_problems(responses):
    """Every 4xx/5xx has the error shape: chirp's {"error", "code"}, or in
    the Mastodon API Mastodon's {"error"}; the OAuth sign-in page, for a
    person in a browser, answers in HTML."""
    bad = []
    for r in responses:
        if r.status < 400 or is_http_parser_refusal(r):
            continue
        ct = (r.header("Content-Type") or "").lower()
        path = r.path.split("?")[0]
        if path == "/oauth/authorize" and ct.startswith("text/html"):
            continue
        try:
            doc = json.loads(r.body)
            ok = (ct.startswith("application/json") and isinstance(doc, dict)
                  and isinstance(doc.get("error"), str)
                  and (_mastodon(path) or isinstance(doc.get("code"), str)))
        except ValueError:
            ok = False
        if not ok:
            bad.append(f"{r.method} {r.path} -> {r.status}: {r.body[:80]!r}")
    return sorted(set(bad))


def all_problems(responses, tokens, passwords):
    return (secret_problems(responses, tokens, passwords)
            + [f"Server header on {w}" for w in server_header_problems(responses)]
            + [f"not an error shape: {w}" for w in error_shape_problems(responses)])
