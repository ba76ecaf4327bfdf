"""Media with the S3 blob adapter (--blob-s3-*), against s3rver (npm; see
tests/http/s3rver.py), a real S3-compatible server: the flow is the same as
with the local adapter; the bytes go to the bucket, and chirp's download
URLs redirect there.

s3rver does not verify SigV4 signatures, nor the part ETags a multipart
upload is completed with, so the two tests that need a store to refuse
those (test_the_store_refuses_a_tampered_url,
test_a_wrong_part_etag_is_refused) run against fake_s3.FakeS3, which
checks both as S3 does."""

import http.client
import io
import urllib.parse

import pytest
from PIL import Image

import fake_s3
from chirp_client import ServerProc, assert_error, create_user, eventually
from s3rver import ACCESS_KEY, SECRET_KEY, S3rver
from test_media import GPS_IFD, create, jpeg, noise_png, settled


def _serve(tmp_path, store, key, secret):
    started = []

    def serve(*flags):
        data = tmp_path / f"data{len(started)}"
        data.mkdir()
        srv = ServerProc(data, tmp_path / f"chirp{len(started)}.log", extra_args=[
            "--blob-s3-endpoint", store.endpoint, "--blob-s3-bucket", store.bucket,
            "--blob-s3-key", key, "--blob-s3-secret", secret, *flags])
        srv.start()
        started.append(srv)
        return srv

    return serve, started


@pytest.fixture(scope="module")
def s3rver_store():
    """One s3rver for the module (node takes a second or two to start);
    tests keep apart by their media ids, which every key begins with."""
    store = S3rver().start()
    yield store
    store.stop()


@pytest.fixture
def s3(tmp_path, s3rver_store):
    serve, started = _serve(tmp_path, s3rver_store, ACCESS_KEY, SECRET_KEY)
    yield s3rver_store, serve
    for srv in started:
        if srv.alive():
            srv.stop()


@pytest.fixture
def signing_s3(tmp_path):
    """fake_s3.FakeS3: checks every presigned URL's SigV4 signature."""
    store = fake_s3.FakeS3().start()
    serve, started = _serve(tmp_path, store, fake_s3.ACCESS_KEY, fake_s3.SECRET_KEY)
    yield store, serve
    for srv in started:
        if srv.alive():
            srv.stop()
    store.stop()


class StoreResp:
    """An answer of the S3 store. Requests to it do not go through
    chirp_client.Client, whose traffic log the session's checks of chirp's
    own responses (test_zz_secrets) read."""

    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.getheaders()}
        self.body = r.read()

    def header(self, name):
        return self.headers.get(name.lower())


def store_request(method, url, data=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path + "?" + parts.query, body=data)
        return StoreResp(conn.getresponse())
    finally:
        conn.close()


def absolute_put(client, url, data):
    return store_request("PUT", url, data)


def absolute_get(url):
    return store_request("GET", url)


def test_the_store_refuses_a_tampered_url(signing_s3):
    fake, serve = signing_s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(64, 64)
    m = create(c, u, data)
    url = m["upload"]["url"]
    assert "X-Amz-Signature=" in url
    # the store refuses a tampered URL: the signature is real SigV4
    bad = url.replace("X-Amz-Expires=", "X-Amz-Expires=1")
    assert absolute_put(c, bad, data).status == 403
    assert m["id"] + ".orig" not in fake.objects
    q = urllib.parse.urlsplit(url).query
    assert absolute_put(c, url, data).status == 200, q
    assert fake.objects[m["id"] + ".orig"] == data
    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert r.status == 202, r
    assert settled(c, u, m["id"])["status"] == "ready"


def test_single_upload_goes_to_the_bucket(s3):
    store, serve = s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(900, 600)
    m = create(c, u, data)
    url = m["upload"]["url"]
    assert url.startswith(store.endpoint + "/chirp/" + m["id"] + ".orig?")
    assert "X-Amz-Signature=" in url

    assert store.get(m["id"] + ".orig") is None
    q = urllib.parse.urlsplit(url).query
    assert absolute_put(c, url, data).status == 200, q
    assert store.get(m["id"] + ".orig") == data

    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert r.status == 202, r
    md = settled(c, u, m["id"])
    assert md["status"] == "ready" and (md["width"], md["height"]) == (900, 600), md
    # the original (with its GPS) is gone from the bucket (removed once
    # "ready" is committed, so a moment after it shows); the outputs are there
    eventually(lambda: m["id"] + ".orig" not in store.keys(), timeout=30,
               what="the original removed from the bucket")
    assert {m["id"] + ".jpg", m["id"] + "_t.jpg"} <= store.keys()

    # chirp's URL (stable, in tweets) redirects to a fresh presigned GET
    r = c.get(md["url"])
    assert r.status == 302, r
    loc = r.header("Location")
    assert loc.startswith(store.endpoint + "/chirp/" + m["id"] + ".jpg?")
    img = absolute_get(loc)
    assert img.status == 200
    assert img.header("Content-Type") == "image/jpeg"
    assert img.header("Cache-Control") == "public, max-age=300"
    got = Image.open(io.BytesIO(img.body))
    assert got.size == (900, 600) and not got.getexif()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD), "the upload had GPS"

    t = c.post("/v1/tweets", {"text": "from s3", "media_ids": [m["id"]]}, token=u.token)
    assert t.status == 201 and t.json["media"][0]["url"] == md["url"]


def test_a_mastodon_upload_goes_to_the_bucket(s3):
    """POST /api/v2/media: chirp puts the file into the bucket itself."""
    from test_mastodon import multipart
    store, serve = s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(320, 200)
    body, ctype = multipart({"description": "a bucketed square"}, data)
    r = c.post("/api/v2/media", body=body, content_type=ctype, token=u.token)
    assert r.status == 202, r
    mid = r.json["id"]
    assert r.json["description"] == "a bucketed square"
    md = settled(c, u, mid)
    assert md["status"] == "ready" and (md["width"], md["height"]) == (320, 200), md
    assert {mid + ".jpg", mid + "_t.jpg"} <= store.keys()
    r = c.get(f"/api/v1/media/{mid}", token=u.token)
    assert r.status == 200 and r.json["url"], r
    loc = c.get(md["url"]).header("Location")
    assert loc.startswith(store.endpoint + "/chirp/" + mid + ".jpg?")
    got = Image.open(io.BytesIO(absolute_get(loc).body))
    assert got.size == (320, 200) and not got.getexif()


def test_size_is_checked_at_complete(s3):
    store, serve = s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(64, 64)
    m = create(c, u, data)
    assert absolute_put(c, m["upload"]["url"], data + b"extra").status == 200
    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert_error(r, 422, "size_mismatch")
    r = c.post(f"/v1/media/{create(c, u, data)['id']}/complete", {}, token=u.token)
    assert_error(r, 409, "upload_missing")


def upload_parts(c, u, data):
    """Creates a multipart media of `data` (parts of 65536 bytes) and PUTs
    every part; returns the media and the parts' ETags as complete wants them."""
    m = create(c, u, data, "image/png")
    parts = m["parts"]
    assert len(parts) > 2
    assert all("uploadId=" in p["url"] and f"partNumber={p['part_number']}" in p["url"]
               for p in parts)
    etags = []
    for p in parts:
        off = (p["part_number"] - 1) * 65536
        r = absolute_put(c, p["url"], data[off:off + p["size"]])
        assert r.status == 200, r
        etags.append({"part_number": p["part_number"], "etag": r.header("ETag")})
    return m, etags


def test_multipart_upload_to_the_bucket(s3):
    store, serve = s3
    c = serve("--media-part-bytes", "65536").client()
    u = create_user(c)
    data = noise_png(260, 260)
    m, etags = upload_parts(c, u, data)
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": etags}, token=u.token)
    assert r.status == 202, r
    md = settled(c, u, m["id"])
    assert md["status"] == "ready" and md["content_type"] == "image/png", md
    got = Image.open(io.BytesIO(absolute_get(c.get(md["url"]).header("Location")).body))
    assert got.convert("RGB").tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_a_wrong_part_etag_is_refused(signing_s3):
    """Against fake_s3: s3rver 3.7.1 joins the parts it has whatever ETags
    complete names, where S3 answers InvalidPart."""
    fake, serve = signing_s3
    c = serve("--media-part-bytes", "65536").client()
    u = create_user(c)
    data = noise_png(260, 260)
    m, etags = upload_parts(c, u, data)
    wrong = [dict(e) for e in etags]
    wrong[1]["etag"] = '"' + "0" * 32 + '"'
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": wrong}, token=u.token)
    assert_error(r, 422, "etag_mismatch")
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": etags}, token=u.token)
    assert r.status == 202, r
    assert settled(c, u, m["id"])["status"] == "ready"


def test_cleanup_empties_the_bucket(s3):
    store, serve = s3
    c = serve("--media-cleanup-every", "1", "--media-unattached-ttl", "1").client()
    u = create_user(c)
    data = jpeg(40, 40)
    m = create(c, u, data)
    absolute_put(c, m["upload"]["url"], data)
    assert c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token).status == 202
    # "ready" is committed only after the image and thumbnail are in the
    # bucket, so their absence below means cleanup deleted them
    assert settled(c, u, m["id"])["status"] == "ready"
    eventually(lambda: c.get(f"/v1/media/{m['id']}", token=u.token).status == 404,
               timeout=30, what="unattached media removed")
    eventually(lambda: not [k for k in store.keys() if k.startswith(m["id"])],
               timeout=30, what="its objects deleted from the bucket")


def test_s3_flags_are_checked(tmp_path):
    import subprocess
    from chirp_client import chirp_bin
    r = subprocess.run([chirp_bin(), "serve", "--data", str(tmp_path),
                        "--blob-s3-endpoint", "ftp://x", "--blob-s3-bucket", "b",
                        "--blob-s3-key", "k", "--blob-s3-secret", "s"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "blob-s3" in r.stderr
