"""s3rver — a real S3-compatible server (npm `s3rver`, pinned in
tests/s3/package.json) for the tests of chirp's S3 blob adapter.

Each S3rver() is a throwaway process on a free port of 127.0.0.1, with its
objects in a temporary directory and one bucket, path-style, as chirp
addresses it. The package is installed into tests/s3/node_modules with the
machine's npm on first use; without node and npm the tests that need it
are skipped, saying why.

s3rver checks a presigned URL's access key and expiry but NOT its SigV4
signature: tests that a store refuses a badly signed URL run against
fake_s3.FakeS3, which verifies signatures with an implementation of its
own, and tests/s3/run.sh (make s3-compat) compares chirp's URLs with the
AWS SDK's signer.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "s3"))
import install as s3_install  # noqa: E402

ACCESS_KEY = "S3RVER"  # s3rver's fixed credentials
SECRET_KEY = "S3RVER"

S3_DIR = Path(__file__).resolve().parents[1] / "s3"
S3RVER_BIN = S3_DIR / "node_modules" / ".bin" / "s3rver"


def ensure_installed():
    """Installs tests/s3's npm packages if s3rver is not there yet; skips the
    test if node or npm is missing."""
    if not s3_install.have_npm():
        pytest.skip("s3rver: node and npm are not installed")
    s3_install.ensure_installed()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3rver:
    def __init__(self, bucket="chirp"):
        self.bucket = bucket
        self.dir = None
        self.proc = None
        self.port = None
        self.endpoint = None
        self._log = None

    def start(self):
        ensure_installed()
        self.dir = tempfile.mkdtemp(prefix="chirp-s3rver-")
        data, log = os.path.join(self.dir, "data"), os.path.join(self.dir, "s3rver.log")
        os.mkdir(data)
        self._log = open(log, "ab")
        for _ in range(5):  # a free port may be taken before s3rver binds it
            self.port = _free_port()
            self.endpoint = f"http://127.0.0.1:{self.port}"
            self.proc = subprocess.Popen(
                [str(S3RVER_BIN), "-d", data, "-a", "127.0.0.1", "-p", str(self.port),
                 "--silent", "--no-vhost-buckets", "--configure-bucket", self.bucket],
                stdout=subprocess.DEVNULL, stderr=self._log)
            deadline = time.monotonic() + 30
            while self.proc.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"{self.endpoint}/{self.bucket}", timeout=2):
                        return self
                except OSError:
                    time.sleep(0.1)
            self._end()
        with open(log, errors="replace") as f:
            tail = f.read()[-2000:]
        self.stop()
        raise RuntimeError(f"s3rver did not start: {tail}")

    def _end(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def stop(self):
        self._end()
        if self._log:
            self._log.close()
            self._log = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # ---- what the bucket holds, read straight from the server (not through
    # chirp_client, whose traffic log test_zz_secrets reads)

    def keys(self):
        """Every key in the bucket (ListObjectsV2). s3rver lists the bucket's
        directory, then reads each object's metadata: an object deleted in
        between (chirp removes an original once its image is ready) makes
        the listing a 500, so a 500 is asked again."""
        url = f"{self.endpoint}/{self.bucket}?list-type=2&max-keys=1000"
        for attempt in range(5):
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    root = ET.fromstring(r.read())
                break
            except urllib.error.HTTPError as e:
                if e.code != 500 or attempt == 4:
                    raise
                time.sleep(0.1)
        return {el.text for el in root.iter() if el.tag.endswith("}Key") or el.tag == "Key"}

    def get(self, key):
        """The bytes of `key`, or None if it is not there."""
        url = f"{self.endpoint}/{self.bucket}/{urllib.parse.quote(key)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise
