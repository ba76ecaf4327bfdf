"""Media with the S3 blob adapter (--blob-s3-*), against tests/http/fake_s3.py,
an in-memory S3 that checks every presigned URL's SigV4 signature with its
own implementation. The flow is the same as with the local adapter; the
bytes go to the bucket, and chirp's download URLs redirect there."""

import http.client
import io
import urllib.parse

import pytest
from PIL import Image

from chirp_client import ServerProc, assert_error, create_user
from fake_s3 import ACCESS_KEY, SECRET_KEY, FakeS3
from test_media import GPS_IFD, create, jpeg, noise_png, put, settled


@pytest.fixture
def s3(tmp_path):
    fake = FakeS3().start()
    started = []

    def serve(*flags):
        data = tmp_path / f"data{len(started)}"
        data.mkdir()
        srv = ServerProc(data, tmp_path / f"chirp{len(started)}.log", extra_args=[
            "--blob-s3-endpoint", fake.endpoint, "--blob-s3-bucket", fake.bucket,
            "--blob-s3-key", ACCESS_KEY, "--blob-s3-secret", SECRET_KEY, *flags])
        srv.start()
        started.append(srv)
        return srv

    yield fake, serve
    for srv in started:
        if srv.alive():
            srv.stop()
    fake.stop()


class StoreResp:
    """An answer of the fake store. Requests to it do not go through
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


def test_single_upload_goes_to_the_bucket(s3):
    fake, serve = s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(900, 600)
    m = create(c, u, data)
    url = m["upload"]["url"]
    assert url.startswith(fake.endpoint + "/chirp/" + m["id"] + ".orig?")
    assert "X-Amz-Signature=" in url

    # the store refuses a tampered URL: the signature is real SigV4
    q = urllib.parse.urlsplit(url).query
    bad = url.replace("X-Amz-Expires=", "X-Amz-Expires=1")
    assert absolute_put(c, bad, data).status == 403
    assert m["id"] + ".orig" not in fake.objects
    assert absolute_put(c, url, data).status == 200, q
    assert fake.objects[m["id"] + ".orig"] == data

    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert r.status == 202, r
    md = settled(c, u, m["id"])
    assert md["status"] == "ready" and (md["width"], md["height"]) == (900, 600), md
    # the original (with its GPS) is gone from the bucket (removed once
    # "ready" is committed, so a moment after it shows); the outputs are there
    from chirp_client import eventually
    eventually(lambda: m["id"] + ".orig" not in fake.objects, timeout=30,
               what="the original removed from the bucket")
    assert {m["id"] + ".jpg", m["id"] + "_t.jpg"} <= set(fake.objects)

    # chirp's URL (stable, in tweets) redirects to a fresh presigned GET
    r = c.get(md["url"])
    assert r.status == 302, r
    loc = r.header("Location")
    assert loc.startswith(fake.endpoint + "/chirp/" + m["id"] + ".jpg?")
    img = absolute_get(loc)
    assert img.status == 200
    assert img.header("Content-Type") == "image/jpeg"
    assert img.header("Cache-Control") == "public, max-age=31536000, immutable"
    got = Image.open(io.BytesIO(img.body))
    assert got.size == (900, 600) and not got.getexif()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD), "the upload had GPS"

    t = c.post("/v1/tweets", {"text": "from s3", "media_ids": [m["id"]]}, token=u.token)
    assert t.status == 201 and t.json["media"][0]["url"] == md["url"]


def test_size_is_checked_at_complete(s3):
    fake, serve = s3
    c = serve().client()
    u = create_user(c)
    data = jpeg(64, 64)
    m = create(c, u, data)
    assert absolute_put(c, m["upload"]["url"], data + b"extra").status == 200
    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert_error(r, 422, "size_mismatch")
    r = c.post(f"/v1/media/{create(c, u, data)['id']}/complete", {}, token=u.token)
    assert_error(r, 409, "upload_missing")


def test_multipart_upload_to_the_bucket(s3):
    fake, serve = s3
    c = serve("--media-part-bytes", "65536").client()
    u = create_user(c)
    data = noise_png(260, 260)
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
    wrong = [dict(e) for e in etags]
    wrong[1]["etag"] = '"' + "0" * 32 + '"'
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": wrong}, token=u.token)
    assert_error(r, 422, "etag_mismatch")
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": etags}, token=u.token)
    assert r.status == 202, r
    md = settled(c, u, m["id"])
    assert md["status"] == "ready" and md["content_type"] == "image/png", md
    got = Image.open(io.BytesIO(absolute_get(c.get(md["url"]).header("Location")).body))
    assert got.convert("RGB").tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_cleanup_empties_the_bucket(s3):
    fake, serve = s3
    c = serve("--media-cleanup-every", "1", "--media-unattached-ttl", "1").client()
    u = create_user(c)
    data = jpeg(40, 40)
    m = create(c, u, data)
    absolute_put(c, m["upload"]["url"], data)
    assert c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token).status == 202
    settled(c, u, m["id"])
    from chirp_client import eventually
    eventually(lambda: c.get(f"/v1/media/{m['id']}", token=u.token).status == 404,
               timeout=30, what="unattached media removed")
    eventually(lambda: not [k for k in fake.objects if k.startswith(m["id"])],
               timeout=30, what="its objects deleted from the bucket")
    assert ("DELETE", m["id"] + ".jpg") in fake.requests


def test_s3_flags_are_checked(tmp_path):
    import subprocess
    from chirp_client import chirp_bin
    r = subprocess.run([chirp_bin(), "serve", "--data", str(tmp_path),
                        "--blob-s3-endpoint", "ftp://x", "--blob-s3-bucket", "b",
                        "--blob-s3-key", "k", "--blob-s3-secret", "s"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "blob-s3" in r.stderr
