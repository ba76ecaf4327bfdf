#!/usr/bin/python3
"""media_client — the media API from the command line, for bench/media.sh
and deploy/edge-demo.sh (stdlib, plus Pillow to make test images).

  media_client.py BASE user                      -> prints a bearer token
  media_client.py BASE jpeg W H OUT              -> writes a W x H JPEG (with EXIF GPS)
  media_client.py BASE upload TOKEN FILE TYPE    -> uploads, completes, waits;
        prints JSON {id, url, thumbnail_url, put_seconds, ready_seconds, bytes, status}
Timings are wall-clock seconds measured here: put_seconds covers the PUTs
(all parts, one after another), ready_seconds the time from the complete's
answer to the first GET that says ready (polled every 5 ms).
"""
import io
import json
import secrets
import sys
import time
import urllib.request


def call(base, method, path, body=None, token=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    url = path if path.startswith("http") else base + path  # --media-base-url makes them absolute
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def user(base):
    handle = "m" + secrets.token_hex(6)
    password = secrets.token_hex(12)
    s, _, b = call(base, "POST", "/v1/users", {"handle": handle, "password": password})
    assert s == 201, (s, b)
    s, _, b = call(base, "POST", "/v1/sessions", {"handle": handle, "password": password})
    assert s == 201, (s, b)
    return json.loads(b)["token"]


def jpeg(w, h, out):
    from PIL import Image
    img = Image.frombytes("RGB", (w, h), bytes((i * 7) & 255 for i in range(w * h * 3)))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}
    img.save(out, "JPEG", exif=exif, quality=92)


def upload(base, token, path, ctype):
    data = open(path, "rb").read()
    s, _, b = call(base, "POST", "/v1/media", {"content_type": ctype, "size": len(data)}, token)
    assert s == 201, (s, b)
    m = json.loads(b)
    t0 = time.monotonic()
    if m.get("parts"):
        etags = []
        for p in m["parts"]:
            off = (p["part_number"] - 1) * m["part_size"]
            s, h, b = call(base, "PUT", p["url"], raw=data[off:off + p["size"]])
            assert s == 200, (s, b)
            etags.append({"part_number": p["part_number"], "etag": json.loads(b)["etag"]})
        body = {"parts": etags}
    else:
        s, _, b = call(base, "PUT", m["upload"]["url"], raw=data)
        assert s == 200, (s, b)
        body = {}
    put_s = time.monotonic() - t0
    s, _, b = call(base, "POST", f"/v1/media/{m['id']}/complete", body, token)
    assert s == 202, (s, b)
    t1 = time.monotonic()
    while True:
        s, _, b = call(base, "GET", f"/v1/media/{m['id']}", None, token)
        md = json.loads(b)
        if md["status"] in ("ready", "failed"):
            break
        time.sleep(0.005)
    ready_s = time.monotonic() - t1
    print(json.dumps({"id": m["id"], "status": md["status"], "url": md.get("url"),
                      "thumbnail_url": md.get("thumbnail_url"), "error": md.get("error"),
                      "bytes": len(data), "put_seconds": put_s, "ready_seconds": ready_s}))


def main(argv):
    base, cmd = argv[1], argv[2]
    if cmd == "user":
        print(user(base))
    elif cmd == "jpeg":
        jpeg(int(argv[3]), int(argv[4]), argv[5])
    elif cmd == "upload":
        upload(base, argv[3], argv[4], argv[5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
