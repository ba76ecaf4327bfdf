"""fake_s3 — a small S3-compatible server that checks what s3rver does not.

tests/http/test_media_s3.py runs chirp's S3 blob adapter against s3rver, a
real S3-compatible server (tests/http/s3rver.py), but s3rver verifies
neither SigV4 signatures nor the part ETags a multipart upload is completed
with. The tests that need a store to refuse those run against this one.

In memory, path-style (/BUCKET/KEY), only query-string authentication
(presigned URLs, which is all chirp uses). Every request's AWS Signature
V4 is checked here with an implementation of its own (hashlib/hmac, written
from the AWS specification, sharing no code with src/media/sigv4.c), and its
expiry too: a URL chirp signed wrongly is refused with 403, as S3 would.
CompleteMultipartUpload checks each part's ETag (InvalidPart, as S3).

Supports PutObject, GetObject (with response-content-type and
response-cache-control), HeadObject, DeleteObject, CreateMultipartUpload,
UploadPart and CompleteMultipartUpload. ETags are MD5s, as in S3.
"""

import calendar
import hashlib
import hmac
import re
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_KEY = "AKIAFAKES3EXAMPLE"
SECRET_KEY = "fake/secret+key/for/chirp/tests"


def _enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class FakeS3:
    def __init__(self, bucket="chirp", region="us-east-1"):
        self.bucket = bucket
        self.region = region
        self.objects = {}   # key -> bytes
        self.uploads = {}   # upload id -> {"key": key, "parts": {n: bytes}}
        self.requests = []  # (method, key) of every authenticated request
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self, "GET")

            def do_HEAD(self):
                fake.handle(self, "HEAD")

            def do_PUT(self):
                fake.handle(self, "PUT")

            def do_POST(self):
                fake.handle(self, "POST")

            def do_DELETE(self):
                fake.handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- SigV4, query form
    def verify(self, method, raw_path, query, host):
        q = urllib.parse.parse_qsl(query, keep_blank_values=True)
        params = dict(q)
        need = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                "X-Amz-SignedHeaders", "X-Amz-Signature")
        if any(k not in params for k in need) or params["X-Amz-Algorithm"] != "AWS4-HMAC-SHA256":
            return "AccessDenied"
        akid, date, region, service, term = params["X-Amz-Credential"].split("/")
        if akid != ACCESS_KEY or region != self.region or service != "s3" or term != "aws4_request":
            return "InvalidAccessKeyId"
        if params["X-Amz-SignedHeaders"] != "host":
            return "AccessDenied"
        stamp = params["X-Amz-Date"]
        t0 = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        if time.time() > t0 + int(params["X-Amz-Expires"]) or not stamp.startswith(date):
            return "AccessDenied"
        canon_q = "&".join(f"{k}={v}" for k, v in sorted(
            (_enc(k), _enc(v)) for k, v in q if k != "X-Amz-Signature"))
        creq = f"{method}\n{raw_path}\n{canon_q}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
        scope = f"{date}/{region}/s3/aws4_request"
        sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (stamp, scope, hashlib.sha256(creq.encode()).hexdigest())
        k = _hmac(("AWS4" + SECRET_KEY).encode(), date)
        for part in (region, "s3", "aws4_request"):
            k = _hmac(k, part)
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(sig, params["X-Amz-Signature"]) else "SignatureDoesNotMatch"

    def handle(self, h, method):
        raw_path, _, query = h.path.partition("?")
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        err = self.verify(method, raw_path, query, h.headers.get("Host"))
        if err:
            return self.reply(h, 403, xml=f"<Error><Code>{err}</Code></Error>", head=method == "HEAD")
        bucket, _, key = urllib.parse.unquote(raw_path).lstrip("/").partition("/")
        if bucket != self.bucket or not key:
            return self.reply(h, 404, xml="<Error><Code>NoSuchBucket</Code></Error>")
        q = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
        with self.lock:
            self.requests.append((method, key))
            if method == "PUT" and "uploadId" in q:
                up = self.uploads.get(q["uploadId"])
                if not up or up["key"] != key:
                    return self.reply(h, 404, xml="<Error><Code>NoSuchUpload</Code></Error>")
                up["parts"][int(q["partNumber"])] = body
                return self.reply(h, 200, etag=hashlib.md5(body).hexdigest())
            if method == "PUT":
                self.objects[key] = body
                return self.reply(h, 200, etag=hashlib.md5(body).hexdigest())
            if method == "POST" and "uploads" in q:
                uid = hashlib.sha256(f"{key}{time.time()}{len(self.uploads)}".encode()).hexdigest()[:32]
                self.uploads[uid] = {"key": key, "parts": {}}
                return self.reply(h, 200, xml=(
                    f"<InitiateMultipartUploadResult><Bucket>{bucket}</Bucket><Key>{key}</Key>"
                    f"<UploadId>{uid}</UploadId></InitiateMultipartUploadResult>"))
            if method == "POST" and "uploadId" in q:
                up = self.uploads.get(q["uploadId"])
                if not up or up["key"] != key:
                    return self.reply(h, 404, xml="<Error><Code>NoSuchUpload</Code></Error>")
                listed = re.findall(r"<PartNumber>(\d+)</PartNumber><ETag>\"?([0-9a-f]+)\"?</ETag>",
                                    body.decode())
                data = b""
                for num, etag in listed:
                    part = up["parts"].get(int(num))
                    if part is None or hashlib.md5(part).hexdigest() != etag:
                        return self.reply(h, 400, xml="<Error><Code>InvalidPart</Code></Error>")
                    data += part
                self.objects[key] = data
                del self.uploads[q["uploadId"]]
                etag = hashlib.md5(b"".join(hashlib.md5(up["parts"][int(n)]).digest()
                                            for n, _ in listed)).hexdigest() + f"-{len(listed)}"
                return self.reply(h, 200, xml=(
                    f"<CompleteMultipartUploadResult><Key>{key}</Key><ETag>\"{etag}\"</ETag>"
                    "</CompleteMultipartUploadResult>"))
            if method in ("GET", "HEAD"):
                if key not in self.objects:
                    return self.reply(h, 404, xml="<Error><Code>NoSuchKey</Code></Error>",
                                      head=method == "HEAD")
                data = self.objects[key]
                extra = {"Content-Type": q.get("response-content-type", "binary/octet-stream")}
                if "response-cache-control" in q:
                    extra["Cache-Control"] = q["response-cache-control"]
                return self.reply(h, 200, body=data, etag=hashlib.md5(data).hexdigest(),
                                  head=method == "HEAD", headers=extra)
            if method == "DELETE":
                self.objects.pop(key, None)
                return self.reply(h, 204)
        return self.reply(h, 405, xml="<Error><Code>MethodNotAllowed</Code></Error>")

    @staticmethod
    def reply(h, status, body=b"", xml=None, etag=None, head=False, headers=None):
        if xml is not None:
            body = xml.encode()
            headers = dict(headers or {}, **{"Content-Type": "application/xml"})
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if etag:
            h.send_header("ETag", f'"{etag}"')
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if not head and status != 204:
            h.wfile.write(body)
