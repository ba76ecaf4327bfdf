"""Media hardening (issue 19), black-box; docs/reliability.md ("Threat
model") lists each defence with its test. The finding's number heads each
section.

12. A signed blob URL counts in its one canonical form only: the same
    values spelt another way (upper-case signature, a leading zero,
    parameters reordered, repeated or added) are refused, so an edge cache
    keyed on the URI cannot be walked around.
"""

import os
import urllib.parse

import pytest

from chirp_client import ServerProc, assert_error, chirp_bin, create_user
from test_media import create, jpeg, put, settled, upload


@pytest.fixture
def private_server(tmp_path):
    started = []

    def make(*flags, name=None):
        path = chirp_bin()
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            pytest.fail(f"chirp binary not found at {path}: run `make`", pytrace=False)
        name = name or f"msec{len(started)}"
        data = tmp_path / f"{name}-data"
        data.mkdir()
        srv = ServerProc(data, tmp_path / f"{name}.log", extra_args=list(flags))
        srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            assert srv.stop() == 0, srv.log_tail()


def variants(url):
    """The same signed values, spelt every other way."""
    path, _, query = url.partition("?")
    pairs = urllib.parse.parse_qsl(query)
    q = dict(pairs)
    out = {
        "upper-case signature": dict(q, sig=q["sig"].upper()),
        "leading zero": dict(q, expires="0" + q["expires"]),
    }
    out = {k: path + "?" + urllib.parse.urlencode(v) for k, v in out.items()}
    out["reordered"] = path + "?" + urllib.parse.urlencode(list(reversed(pairs)))
    out["unknown parameter"] = url + "&cachebuster=1"
    out["unknown parameter first"] = path + "?x=1&" + query
    out["repeated signature"] = url + "&sig=" + q["sig"]
    out["repeated expiry"] = path + f"?expires={q['expires']}&" + query
    out["empty parameter"] = url + "&"
    out["percent-encoded"] = url.replace("expires=", "%65xpires=")
    return out


# ===================================================== 12. canonical URLs

def test_a_blob_url_counts_in_its_canonical_form_only(api):
    u = create_user(api, "canon")
    mid = upload(api, u, jpeg(64, 48))
    md = settled(api, u, mid)
    assert md["status"] == "ready", md
    for url in (md["url"], md["thumbnail_url"]):
        assert api.get(url).status == 200
        for what, bad in variants(url).items():
            r = api.get(bad)
            assert_error(r, 403, "invalid_signature")
            assert not r.header("ETag"), (what, r.headers)


def test_an_upload_url_counts_in_its_canonical_form_only(api):
    u = create_user(api, "canon")
    data = jpeg(32, 32)
    m = create(api, u, data)
    url = m["upload"]["url"]
    for what, bad in variants(url).items():
        assert_error(put(api, bad, data), 403, "invalid_signature")
    assert put(api, url, data).status == 200
