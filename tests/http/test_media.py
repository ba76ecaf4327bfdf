"""Media (issue 8): presigned uploads, background processing, signed
cacheable downloads, media on tweets, cleanup.

Images are made here with Pillow (python3-pil); the EXIF test writes a GPS
position into the upload and checks that nothing published carries it."""

import io
import os
import re
import secrets
import time
import urllib.parse

import pytest
from PIL import Image

from chirp_client import (ServerProc, assert_error, create_user, eventually,
                          post_tweet)
from metrics_scrape import get_metrics

GPS_IFD = 0x8825


def jpeg(w=1200, h=800, gps=True, color=(200, 30, 30)):
    img = Image.new("RGB", (w, h), color)
    exif = Image.Exif()
    exif[0x010F] = "ChirpTestCam"  # Make
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=90)
    return buf.getvalue()


def noise_png(w, h):
    img = Image.frombytes("RGB", (w, h), os.urandom(w * h * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def put(client, url, data, **kw):
    return client.request("PUT", url, body=data,
                          content_type="application/octet-stream", **kw)


def create(client, user, data, content_type="image/jpeg", size=None):
    r = client.post("/v1/media", {"content_type": content_type,
                                  "size": len(data) if size is None else size},
                    token=user.token)
    assert r.status == 201, r
    return r.json


def upload(client, user, data, content_type="image/jpeg"):
    """Create, PUT (parts if asked), complete; returns the media id."""
    m = create(client, user, data, content_type)
    if m.get("parts"):
        etags = []
        for p in m["parts"]:
            off = (p["part_number"] - 1) * m["part_size"]
            r = put(client, p["url"], data[off:off + p["size"]])
            assert r.status == 200, r
            etags.append({"part_number": p["part_number"],
                          "etag": r.header("ETag")})
        body = {"parts": etags}
    else:
        r = put(client, m["upload"]["url"], data)
        assert r.status == 200, r
        body = {}
    r = client.post(f"/v1/media/{m['id']}/complete", body, token=user.token)
    assert r.status == 202, r
    assert r.json["status"] in ("processing", "ready")
    return m["id"]


def settled(client, user, mid):
    def done():
        r = client.get(f"/v1/media/{mid}", token=user.token)
        assert r.status == 200, r
        return r.json if r.json["status"] in ("ready", "failed") else None
    return eventually(done, timeout=30, what=f"media {mid} processed")


@pytest.fixture
def private_server(tmp_path):
    started = []

    def make(*flags, rate_limits=False):
        n = len(started)
        data = tmp_path / f"m{n}-data"
        data.mkdir()
        srv = ServerProc(data, tmp_path / f"m{n}.log", extra_args=list(flags),
                         rate_limits=rate_limits)
        srv.start()
        started.append(srv)
        return srv

    yield make
    for srv in started:
        if srv.alive():
            srv.stop()


# ---------------------------------------------------------------- the flow

def test_single_upload_processed_and_served_without_exif(api, make_user):
    u = make_user()
    data = jpeg()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD), \
        "the test image must carry GPS to begin with"
    m = create(api, u, data)
    assert m["status"] == "awaiting_upload"
    assert m["upload"]["method"] == "PUT"
    assert "parts" not in m
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT.*Z", m["upload"]["expires_at"])
    r = put(api, m["upload"]["url"], data)
    assert r.status == 200, r
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.header("ETag"))
    r = api.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert r.status == 202 and r.json["status"] == "processing", r

    md = settled(api, u, m["id"])
    assert md["status"] == "ready", md
    assert (md["width"], md["height"]) == (1200, 800)
    assert md["content_type"] == "image/jpeg"

    full = api.get(md["url"])
    assert full.status == 200, full
    assert full.header("Cache-Control") == "public, max-age=300"
    assert full.header("Content-Type") == "image/jpeg"
    etag = full.header("ETag")
    assert etag
    img = Image.open(io.BytesIO(full.body))
    assert img.size == (1200, 800)
    assert not img.getexif(), "published image still has EXIF"
    assert b"Exif" not in full.body and b"ChirpTestCam" not in full.body

    thumb = api.get(md["thumbnail_url"])
    assert thumb.status == 200
    t = Image.open(io.BytesIO(thumb.body))
    assert max(t.size) == 400 and t.size == (400, 267)
    assert not t.getexif() and b"Exif" not in thumb.body

    # Range and revalidation
    r = api.get(md["url"], headers={"Range": "bytes=10-19"})
    assert r.status == 206, r
    assert r.body == full.body[10:20]
    assert r.header("Content-Range") == f"bytes 10-19/{len(full.body)}"
    r = api.get(md["url"], headers={"Range": "bytes=-5"})
    assert r.status == 206 and r.body == full.body[-5:]
    r = api.get(md["url"], headers={"Range": f"bytes={len(full.body)}-"})
    assert_error(r, 416, "range_not_satisfiable")
    r = api.get(md["url"], headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b""

    # The original upload, EXIF and all, is gone once processed.
    blobs = os.listdir(os.path.join(api_data_dir(api), "blobs"))
    assert not [b for b in blobs if b.startswith(m["id"] + ".orig")]


def api_data_dir(client):
    return SHARED_DATA["dir"]


SHARED_DATA = {}


@pytest.fixture(autouse=True)
def _remember_data_dir(chirp_server):
    SHARED_DATA["dir"] = chirp_server.data_dir


def test_multipart_upload(private_server):
    srv = private_server("--media-part-bytes", "65536")
    c = srv.client()
    u = create_user(c)
    data = noise_png(300, 300)
    assert len(data) > 3 * 65536
    m = create(c, u, data, "image/png")
    assert m["upload"]["url"] is None
    parts = m["parts"]
    assert [p["part_number"] for p in parts] == list(range(1, len(parts) + 1))
    assert sum(p["size"] for p in parts) == len(data)

    etags = []
    for p in parts:
        off = (p["part_number"] - 1) * 65536
        r = put(c, p["url"], data[off:off + p["size"]])
        assert r.status == 200, r
        etags.append({"part_number": p["part_number"], "etag": r.header("ETag")})

    # a wrong ETag, a missing part list, parts out of order: 422, nothing changes
    bad = [dict(e) for e in etags]
    bad[0]["etag"] = '"' + "0" * 32 + '"'
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": bad}, token=u.token)
    assert_error(r, 422, "etag_mismatch")
    r = c.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert_error(r, 422, "invalid_parts")
    r = c.post(f"/v1/media/{m['id']}/complete",
               {"parts": list(reversed(etags))}, token=u.token)
    assert_error(r, 422, "invalid_parts")
    assert c.get(f"/v1/media/{m['id']}", token=u.token).json["status"] == \
        "awaiting_upload"

    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": etags}, token=u.token)
    assert r.status == 202, r
    md = settled(c, u, m["id"])
    assert md["status"] == "ready" and md["content_type"] == "image/png"
    assert (md["width"], md["height"]) == (300, 300)
    r = c.get(md["url"])
    assert r.status == 200, r
    got = Image.open(io.BytesIO(r.body)).convert("RGB")
    assert got.tobytes() == Image.open(io.BytesIO(data)).convert("RGB").tobytes()


def test_missing_part_is_refused(private_server):
    srv = private_server("--media-part-bytes", "65536")
    c = srv.client()
    u = create_user(c)
    data = noise_png(200, 200)
    m = create(c, u, data, "image/png")
    etags = []
    for p in m["parts"][:-1]:
        off = (p["part_number"] - 1) * 65536
        r = put(c, p["url"], data[off:off + p["size"]])
        etags.append({"part_number": p["part_number"], "etag": r.header("ETag")})
    etags.append({"part_number": len(m["parts"]), "etag": '"' + "a" * 32 + '"'})
    r = c.post(f"/v1/media/{m['id']}/complete", {"parts": etags}, token=u.token)
    assert_error(r, 409, "upload_missing")


# ------------------------------------------------------------- bad input

def test_create_validation(api, make_user):
    u = make_user()
    r = api.post("/v1/media", {"content_type": "image/jpeg", "size": 16 * 2**20 + 1},
                 token=u.token)
    assert_error(r, 413, "too_large")
    r = api.post("/v1/media", {"content_type": "application/pdf", "size": 10},
                 token=u.token)
    assert_error(r, 415, "unsupported_media_type")
    for size in (0, -1, "10", 1.5, None):
        r = api.post("/v1/media", {"content_type": "image/png", "size": size},
                     token=u.token)
        assert_error(r, 422, "invalid_size")
    r = api.post("/v1/media", {"content_type": "image/png", "size": 10})
    assert_error(r, 401)


def test_signature_forgery_and_replay(api, make_user):
    u = make_user()
    data = jpeg(64, 64)
    a = create(api, u, data)
    b = create(api, u, data)
    url = a["upload"]["url"]
    path, _, query = url.partition("?")
    q = dict(urllib.parse.parse_qsl(query))

    forged = dict(q, sig=("0" if q["sig"][0] != "0" else "1") + q["sig"][1:])
    r = put(api, path + "?" + urllib.parse.urlencode(forged), data)
    assert_error(r, 403, "invalid_signature")
    bigger = dict(q, max=str(int(q["max"]) * 100))
    r = put(api, path + "?" + urllib.parse.urlencode(bigger), data)
    assert_error(r, 403, "invalid_signature")
    later = dict(q, expires=str(int(q["expires"]) + 3600))
    r = put(api, path + "?" + urllib.parse.urlencode(later), data)
    assert_error(r, 403, "invalid_signature")
    r = put(api, path, data)
    assert_error(r, 403, "invalid_signature")
    # a's URL replayed for b's key
    r = put(api, f"/blobs/{b['id']}.orig?{query}", data)
    assert_error(r, 403, "invalid_signature")
    # a PUT URL is not a GET URL
    assert_error(api.get(url), 403, "invalid_signature")
    # nothing of that was stored: completing b finds no upload
    r = api.post(f"/v1/media/{b['id']}/complete", {}, token=u.token)
    assert_error(r, 409, "upload_missing")
    # the genuine URL works, once: after complete it is closed
    assert put(api, url, data).status == 200
    assert api.post(f"/v1/media/{a['id']}/complete", {}, token=u.token).status == 202
    assert_error(put(api, url, data), 409, "upload_closed")


def test_expired_upload_url(private_server):
    srv = private_server("--media-upload-ttl", "1")
    c = srv.client()
    u = create_user(c)
    data = jpeg(32, 32)
    m = create(c, u, data)
    expires = int(dict(urllib.parse.parse_qsl(
        m["upload"]["url"].partition("?")[2]))["expires"])
    while time.time() <= expires + 1:
        time.sleep(0.2)
    assert_error(put(c, m["upload"]["url"], data), 403, "url_expired")


def test_path_traversal_is_refused(api, make_user, chirp_server):
    u = make_user()
    m = create(api, u, jpeg(32, 32))
    q = m["upload"]["url"].partition("?")[2]
    before = sorted(os.listdir(chirp_server.data_dir))
    for key in ("..%2Fchirp.db", "%2E%2E%2Fblob.key", "..", "1.orig%00", "1%2F..%2F..%2Fx",
                "blob.key", "1.orig.tmp-00", "01.p0"):
        r = put(api, f"/blobs/{key}?{q}", b"x")
        assert r.status in (403, 404), (key, r)
        r = api.get(f"/blobs/{key}?{q}")
        assert r.status in (403, 404), (key, r)
    r = put(api, f"/blobs/../../chirp.db?{q}", b"x")
    assert r.status in (400, 403, 404), r
    assert sorted(os.listdir(chirp_server.data_dir)) == before


def test_wrong_size_and_oversized_uploads(api, make_user):
    u = make_user()
    data = jpeg(64, 64)
    m = create(api, u, data)
    r = put(api, m["upload"]["url"], data + b"x")
    assert_error(r, 413, "too_large")
    r = put(api, m["upload"]["url"], b"")
    assert_error(r, 400, "empty_body")
    assert put(api, m["upload"]["url"], data[:-10]).status == 200
    r = api.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert_error(r, 422, "size_mismatch")
    # a second PUT with the right bytes fixes it
    assert put(api, m["upload"]["url"], data).status == 200
    assert api.post(f"/v1/media/{m['id']}/complete", {}, token=u.token).status == 202
    assert settled(api, u, m["id"])["status"] == "ready"


def test_truncated_upload_stores_nothing(api, make_user):
    u = make_user()
    data = jpeg(64, 64)
    m = create(api, u, data)
    host, port = api.address
    import socket
    s = socket.create_connection((host, port))
    s.sendall((f"PUT {m['upload']['url']} HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:len(data) // 2])
    s.close()
    time.sleep(0.2)
    r = api.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
    assert_error(r, 409, "upload_missing")


@pytest.mark.parametrize("payload,reason", [
    (b"\xff\xd8\xff\xe0" + b"\x00garbage" * 200, "corrupt|not a supported"),
    (b"hello, this is text and not an image at all" * 10, "not a supported image"),
])
def test_bad_images_fail_with_a_reason(api, make_user, payload, reason):
    u = make_user()
    mid = upload(api, u, payload)
    md = settled(api, u, mid)
    assert md["status"] == "failed", md
    assert re.search(reason, md["error"]), md
    assert "url" not in md
    r = api.post("/v1/tweets", {"text": "x", "media_ids": [mid]}, token=u.token)
    assert_error(r, 422, "invalid_media")


def test_type_comes_from_the_bytes(api, make_user):
    u = make_user()
    mid = upload(api, u, noise_png(40, 30), content_type="image/jpeg")
    md = settled(api, u, mid)
    assert md["status"] == "ready" and md["content_type"] == "image/png"


def test_pixel_bomb_is_refused(private_server):
    srv = private_server("--media-max-pixels", "10000")
    c = srv.client()
    u = create_user(c)
    mid = upload(c, u, jpeg(200, 200, gps=False))
    md = settled(c, u, mid)
    assert md["status"] == "failed" and "over the limit" in md["error"], md


def test_other_users_media(api, make_user):
    a, b = make_user(), make_user()
    mid = upload(api, a, jpeg(50, 50))
    settled(api, a, mid)
    assert_error(api.get(f"/v1/media/{mid}", token=b.token), 404, "not_found")
    assert_error(api.post(f"/v1/media/{mid}/complete", {}, token=b.token), 404)
    r = api.post("/v1/tweets", {"text": "mine now", "media_ids": [mid]}, token=b.token)
    assert_error(r, 422, "invalid_media")


# ------------------------------------------------------ retries, dead letter

def test_transient_failures_are_retried(private_server):
    srv = private_server("--media-inject-failures", "2", "--media-attempts", "5",
                         "--media-retry-base", "50")
    c = srv.client()
    u = create_user(c)
    mid = upload(c, u, jpeg(80, 60))
    md = settled(c, u, mid)
    assert md["status"] == "ready", md
    assert "error" not in md
    jobs = media_jobs_metric(c)
    assert (jobs["retry"], jobs["ready"], jobs["failed"]) == (2, 1, 0), jobs


def media_jobs_metric(client):
    from prometheus_client.parser import text_string_to_metric_families
    r = get_metrics(client)
    assert r.status == 200
    out = {}
    for fam in text_string_to_metric_families(r.body.decode()):
        if fam.name == "chirp_media_jobs":
            for s in fam.samples:
                out[s.labels["outcome"]] = s.value
    return out


def test_dead_letter_after_max_attempts(private_server):
    srv = private_server("--media-inject-failures", "100", "--media-attempts", "3",
                         "--media-retry-base", "20")
    c = srv.client()
    u = create_user(c)
    mid = upload(c, u, jpeg(80, 60))
    md = settled(c, u, mid)
    assert md["status"] == "failed", md
    assert md["attempts"] == 3
    assert "gave up after 3 attempts" in md["error"] and "injected" in md["error"]
    jobs = media_jobs_metric(c)
    assert (jobs["retry"], jobs["ready"], jobs["failed"]) == (2, 0, 1), jobs


def test_jobs_survive_a_crash(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    # The first attempt fails and the retry is far away; kill -9 meanwhile.
    srv = ServerProc(data, tmp_path / "a.log", extra_args=[
        "--media-inject-failures", "1", "--media-retry-base", "2000"])
    srv.start()
    c = srv.client()
    u = create_user(c)
    mid = upload(c, u, jpeg(90, 70))
    eventually(lambda: c.get(f"/v1/media/{mid}", token=u.token).json.get("attempts") == 1,
               what="first attempt failed")
    srv.kill9()
    srv2 = ServerProc(data, tmp_path / "b.log")
    srv2.start()
    try:
        md = settled(srv2.client(), u, mid)
        assert md["status"] == "ready", md
    finally:
        srv2.stop()


def test_acknowledged_upload_survives_kill9(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    srv = ServerProc(data_dir, tmp_path / "a.log")
    srv.start()
    c = srv.client()
    u = create_user(c)
    data = jpeg(120, 90)
    m = create(c, u, data)
    assert put(c, m["upload"]["url"], data).status == 200
    srv.kill9()  # right after the 200: the blob and the media row must be on disk
    srv2 = ServerProc(data_dir, tmp_path / "b.log")
    srv2.start()
    try:
        c2 = srv2.client()
        # the upload URL still works after a restart (the signing key persists)
        r = c2.post(f"/v1/media/{m['id']}/complete", {}, token=u.token)
        assert r.status == 202, r
        md = settled(c2, u, m["id"])
        assert md["status"] == "ready" and (md["width"], md["height"]) == (120, 90)
    finally:
        srv2.stop()


# ----------------------------------------------------------- media on tweets

def test_media_on_tweets(api, make_user):
    u = make_user()
    ids = [upload(api, u, jpeg(100 + i, 50, color=(i * 40, 0, 0))) for i in range(5)]
    for mid in ids:
        assert settled(api, u, mid)["status"] == "ready"
    r = api.post("/v1/tweets", {"text": "five", "media_ids": ids}, token=u.token)
    assert_error(r, 422, "invalid_media")
    r = api.post("/v1/tweets", {"text": "dup", "media_ids": [ids[0], ids[0]]}, token=u.token)
    assert_error(r, 422, "invalid_media")
    r = api.post("/v1/tweets", {"text": "four", "media_ids": ids[:4]}, token=u.token)
    assert r.status == 201, r
    t = r.json
    assert [m["id"] for m in t["media"]] == ids[:4]
    for i, m in enumerate(t["media"]):
        assert (m["width"], m["height"]) == (100 + i, 50)
        assert m["content_type"] == "image/jpeg"
        assert api.get(m["url"]).status == 200
        assert api.get(m["thumbnail_url"]).status == 200
    assert api.get(f"/v1/tweets/{t['id']}").json["media"] == t["media"]
    tl = api.get(f"/v1/users/{u.data['id']}/tweets").json
    assert tl[0]["media"] == t["media"]
    # attached media cannot go on a second tweet
    r = api.post("/v1/tweets", {"text": "again", "media_ids": [ids[0]]}, token=u.token)
    assert_error(r, 422, "invalid_media")
    # nor can media still being uploaded
    m = create(api, u, jpeg(10, 10))
    r = api.post("/v1/tweets", {"text": "early", "media_ids": [m["id"]]}, token=u.token)
    assert_error(r, 422, "invalid_media")
    # tweets without media still say so
    assert post_tweet(api, u)["media"] == []


# ---------------------------------------------------------------- lifecycle

def test_cleanup_of_unattached_and_released_media(private_server):
    srv = private_server("--media-cleanup-every", "1", "--media-unattached-ttl", "2")
    c = srv.client()
    u = create_user(c)
    kept = upload(c, u, jpeg(30, 30))
    kept_md = settled(c, u, kept)
    t = c.post("/v1/tweets", {"text": "keep", "media_ids": [kept]}, token=u.token).json
    lonely = upload(c, u, jpeg(31, 31))
    lonely_md = settled(c, u, lonely)
    abandoned = create(c, u, jpeg(32, 32))
    assert c.get(lonely_md["url"]).status == 200

    eventually(lambda: c.get(f"/v1/media/{lonely}", token=u.token).status == 404,
               timeout=30, what="unattached media removed")
    eventually(lambda: c.get(f"/v1/media/{abandoned['id']}", token=u.token).status == 404,
               timeout=30, what="abandoned upload removed")
    assert_error(c.get(lonely_md["url"]), 404)
    time.sleep(1.5)  # another cleanup pass or two
    assert c.get(f"/v1/media/{kept}", token=u.token).json["status"] == "ready"
    assert c.get(kept_md["url"]).status == 200

    # deleting the tweet releases its media
    assert c.delete(f"/v1/tweets/{t['id']}", token=u.token).status == 204
    assert_error(c.get(kept_md["url"]), 404)  # at once, before cleanup (issue 19)
    eventually(lambda: c.get(f"/v1/media/{kept}", token=u.token).status == 404,
               timeout=30, what="released media removed")
    eventually(lambda: os.listdir(os.path.join(srv.data_dir, "blobs")) == [],
               timeout=30, what="released media's files removed")


def test_media_rate_limit_budget(private_server):
    srv = private_server("--rate-limit", "media=2/3600", "--rate-limit", "signup=50/60",
                         "--rate-limit", "login=50/60", rate_limits=True)
    c = srv.client()
    u = create_user(c)
    body = {"content_type": "image/png", "size": 100}
    assert c.post("/v1/media", body, token=u.token).status == 201
    assert c.post("/v1/media", body, token=u.token).status == 201
    r = c.post("/v1/media", body, token=u.token)
    assert_error(r, 429)
    assert r.header("Retry-After")
    # other routes are not charged to the media budget
    assert post_tweet(c, u)["text"]


def test_idempotent_create_replays_the_same_urls(api, make_user):
    u = make_user()
    key = secrets.token_hex(8)
    body = {"content_type": "image/png", "size": 1234}
    a = api.post("/v1/media", body, token=u.token, headers={"Idempotency-Key": key})
    b = api.post("/v1/media", body, token=u.token, headers={"Idempotency-Key": key})
    assert a.status == b.status == 201
    assert a.json == b.json
