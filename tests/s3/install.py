"""Installs tests/s3's npm packages (s3rver, the AWS SDK's signer) from
the lockfile, once: the Makefile's tests/s3/node_modules rule does it
before a run, and this is the same for a test started by hand.

Under a lock, since test workers start s3rver at the same moment and its
link in node_modules/.bin exists before the modules it needs do."""

import fcntl
import shutil
import subprocess
from pathlib import Path

S3_DIR = Path(__file__).resolve().parent
INSTALLED = S3_DIR / "node_modules" / ".package-lock.json"  # written last by npm ci


def have_npm():
    return bool(shutil.which("node") and shutil.which("npm"))


def ensure_installed():
    """npm ci in tests/s3 unless done; the caller checks have_npm() first."""
    if INSTALLED.exists():
        return
    with open(S3_DIR / "package-lock.json") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not INSTALLED.exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=S3_DIR, check=True, timeout=600, stdout=subprocess.DEVNULL)
