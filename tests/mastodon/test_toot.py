"""toot, the Mastodon command-line client (Debian package), driven without
a terminal against the real chirp: it registers itself as an app, logs in
with the password grant, posts, replies, reads timelines and threads,
favourites, follows through search, and deletes, as a person using it
would. Run by `make mastodon-test`."""

import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "http"))

from chirp_client import ServerProc, chirp_bin, create_user  # noqa: E402

TOOT = shutil.which("toot")
pytestmark = pytest.mark.skipif(TOOT is None, reason="toot is not installed (scripts/deps.sh)")


@pytest.fixture(scope="module")
def chirp(tmp_path_factory):
    base = tmp_path_factory.mktemp("toot")
    (base / "data").mkdir()
    assert os.access(chirp_bin(), os.X_OK), "build chirp first"
    srv = ServerProc(base / "data", base / "server.log")
    srv.start()
    yield srv
    assert srv.stop() == 0, srv.log_tail()


@pytest.fixture(scope="module")
def toot(chirp, tmp_path_factory):
    """Runs toot with a config dir of its own; returns its output, and
    fails with it when toot fails."""
    home = tmp_path_factory.mktemp("toot-home")
    env = dict(os.environ, XDG_CONFIG_HOME=str(home), HOME=str(home), NO_COLOR="1",
               COLUMNS="200", TERM="dumb")

    def run(*args, stdin=None, ok=True):
        p = subprocess.run([TOOT, *args], input=stdin, capture_output=True, text=True,
                           env=env, timeout=60)
        out = p.stdout + p.stderr
        if ok:
            assert p.returncode == 0, f"toot {' '.join(args)} failed:\n{out}"
        return out
    return run


@pytest.fixture(scope="module")
def alice(chirp, toot):
    api = chirp.client()
    user = create_user(api, prefix="toot")
    host = "%s:%d" % chirp.address()
    out = toot("login_cli", "-i", host, "--disable-https", "-e", user.handle,
               stdin=user.password + "\n")
    assert "Successfully logged in" in out, out
    return user


def status_id(out):
    return re.search(r"/(\d+)\s*$", out.strip()).group(1)


def test_whoami_and_instance(chirp, toot, alice):
    out = toot("whoami")
    assert "@" + alice.handle in out
    out = toot("instance", "%s:%d" % chirp.address(), "--disable-https")
    assert "chirp" in out


def test_post_reply_timeline_and_thread(toot, alice):
    out = toot("post", "hello from toot #chirp")
    first = status_id(out)
    out = toot("post", "a reply from toot", "-r", first)
    reply = status_id(out)
    out = toot("timeline", "--once")
    assert "hello from toot #chirp" in out and "a reply from toot" in out
    assert out.index("a reply from toot") < out.index("hello from toot")  # newest first
    out = toot("thread", first)
    assert "hello from toot" in out and "a reply from toot" in out
    assert reply in out


def test_refused_visibility_is_reported(toot, alice):
    out = toot("post", "a secret", "-v", "private", ok=False)
    assert "public posts only" in out


def test_favourite_follow_and_delete(chirp, toot, alice):
    api = chirp.client()
    bob = create_user(api, prefix="tootb")
    r = api.post("/v1/tweets", {"text": "bob speaks"}, token=bob.token)
    assert r.status == 201
    bob_post = r.json["id"]
    out = toot("favourite", bob_post)
    assert "favourited" in out.lower()
    assert api.get(f"/v1/tweets/{bob_post}").json["like_count"] == 1
    out = toot("follow", bob.handle)
    assert "now following" in out.lower()
    followers = api.get(f"/v1/users/{bob.id}/followers").json
    assert [u["handle"] for u in followers] == [alice.handle]
    out = toot("timeline", "--once")
    assert "bob speaks" in out
    out = toot("unfollow", bob.handle)
    assert api.get(f"/v1/users/{bob.id}/followers").json == []
    mine = status_id(toot("post", "soon gone"))
    toot("delete", mine)
    assert api.get(f"/v1/tweets/{mine}").status == 404


def test_log_in_with_the_e_mail_address(chirp, tmp_path):
    """toot asks for an e-mail: the account's address logs it in (its own
    config dir, so the other tests' account stays the active one)."""
    api = chirp.client()
    carol = create_user(api, prefix="tootc")
    email = "Carol." + carol.handle + "@Example.org"  # not a handle: only the address logs in
    r = api.request("PATCH", "/v1/users/me", {"email": email}, token=carol.token)
    assert r.status == 200, r
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path), HOME=str(tmp_path), NO_COLOR="1",
               COLUMNS="200", TERM="dumb")
    host = "%s:%d" % chirp.address()
    p = subprocess.run([TOOT, "login_cli", "-i", host, "--disable-https", "-e", email.lower()],
                       input=carol.password + "\n", capture_output=True, text=True, env=env,
                       timeout=60)
    assert p.returncode == 0 and "Successfully logged in" in p.stdout + p.stderr, p
    p = subprocess.run([TOOT, "whoami"], capture_output=True, text=True, env=env, timeout=60)
    assert "@" + carol.handle in p.stdout, p
