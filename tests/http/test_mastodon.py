"""The Mastodon client API (docs/mastodon.md): shapes, OAuth flows, scopes
and bad input, over HTTP against the real binary. The real clients (toot,
masto.js) run in tests/mastodon/."""

import json
import re
import secrets
import urllib.parse

import pytest

from chirp_client import eventually, random_handle, random_password

OOB = "urn:ietf:wg:oauth:2.0:oob"
TIME_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FORM = "application/x-www-form-urlencoded"


def form(d):
    return urllib.parse.urlencode(d, doseq=True)


def make_app(api, scopes="read write follow", redirect=OOB):
    r = api.post("/api/v1/apps", body=form({"client_name": "test app",
                                            "redirect_uris": redirect,
                                            "scopes": scopes}),
                 content_type=FORM)
    assert r.status == 200, r
    return r.json


def password_token(api, app, user, scope="read write follow", as_json=False):
    params = {"grant_type": "password", "client_id": app["client_id"],
              "client_secret": app["client_secret"], "username": user.handle,
              "password": user.password, "scope": scope}
    if as_json:
        r = api.post("/oauth/token", params)
    else:
        r = api.post("/oauth/token", body=form(params), content_type=FORM)
    assert r.status == 200, r
    return r.json["access_token"]


@pytest.fixture
def app(api):
    return make_app(api)


@pytest.fixture
def masto_user(api, app, make_user):
    u = make_user("m")
    u.mtoken = password_token(api, app, u)
    return u


def post_status(api, user, text=None, **extra):
    body = {"status": text or ("status " + secrets.token_hex(4))}
    body.update(extra)
    r = api.post("/api/v1/statuses", body, token=user.mtoken)
    assert r.status == 200, r
    return r.json


# ---- discovery ----

def test_instance_documents(api):
    r = api.get("/api/v1/instance")
    assert r.status == 200
    v1 = r.json
    assert re.match(r"^\d+\.\d+\.\d+ ", v1["version"])  # clients parse this
    assert v1["urls"]["streaming_api"].startswith("ws://")
    assert v1["configuration"]["statuses"]["max_characters"] == 280
    assert v1["configuration"]["statuses"]["max_media_attachments"] == 4
    assert r.header("access-control-allow-origin") == "*"
    v2 = api.get("/api/v2/instance").json
    assert v2["version"] == v1["version"]
    assert v2["configuration"]["urls"]["streaming"].startswith("ws://")
    assert v2["registrations"]["enabled"] is True


def test_nodeinfo(api):
    links = api.get("/.well-known/nodeinfo").json["links"]
    href = links[0]["href"]
    assert href.endswith("/nodeinfo/2.0")
    doc = api.get(urllib.parse.urlparse(href).path).json
    assert doc["software"]["name"] == "mastodon"
    assert doc["metadata"]["software"] == "chirp"


def test_cors_preflight(api):
    r = api.request("OPTIONS", "/api/v1/statuses", headers={
        "Origin": "https://elk.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "*"
    assert "POST" in r.header("access-control-allow-methods")
    assert r.header("access-control-allow-headers") == "authorization,content-type"


# ---- OAuth ----

def test_app_registration_json_and_form(api):
    r = api.post("/api/v1/apps", {"client_name": "j", "redirect_uris": [OOB, "https://a.example/cb"],
                                  "scopes": "read"})
    assert r.status == 200, r
    assert r.json["redirect_uri"] == OOB + "\nhttps://a.example/cb"
    assert r.json["client_id"] and r.json["client_secret"]
    assert isinstance(r.json["id"], str)


@pytest.mark.parametrize("body", [
    {"redirect_uris": OOB},                                   # no name
    {"client_name": "x"},                                     # no redirect
    {"client_name": "x", "redirect_uris": "not a uri"},
    {"client_name": "x", "redirect_uris": OOB, "scopes": "admin:write"},
    {"client_name": "x" * 101, "redirect_uris": OOB},
])
def test_app_registration_refused(api, body):
    r = api.post("/api/v1/apps", body)
    assert r.status == 422, r
    assert "error" in r.json


def test_password_grant_form_and_json(api, app, make_user):
    u = make_user("m")
    for as_json in (False, True):
        tok = password_token(api, app, u, as_json=as_json)
        r = api.get("/api/v1/accounts/verify_credentials", token=tok)
        assert r.status == 200, r
        assert r.json["username"] == u.handle
        assert r.json["acct"] == u.handle


def test_password_grant_accepts_an_email_shaped_username(api, app, make_user):
    u = make_user("m")
    r = api.post("/oauth/token", {"grant_type": "password", "client_id": app["client_id"],
                                  "client_secret": app["client_secret"],
                                  "username": u.handle + "@example.org", "password": u.password})
    assert r.status == 200, r
    assert r.json["scope"] == "read"  # none asked: read, as in Mastodon


def test_token_refusals(api, app, make_user):
    u = make_user("m")
    base = {"grant_type": "password", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "username": u.handle,
            "password": u.password}
    r = api.post("/oauth/token", dict(base, password="wrong password"))
    assert r.status == 400 and r.json["error"] == "invalid_grant", r
    r = api.post("/oauth/token", dict(base, client_secret="x" * 43))
    assert r.status == 401 and r.json["error"] == "invalid_client", r
    r = api.post("/oauth/token", dict(base, client_id="bm90IGFuIGFwcA"))
    assert r.status == 401 and r.json["error"] == "invalid_client", r
    r = api.post("/oauth/token", dict(base, scope="read push"))  # app has no push
    assert r.status == 400 and r.json["error"] == "invalid_scope", r
    r = api.post("/oauth/token", dict(base, grant_type="implicit"))
    assert r.status == 400 and r.json["error"] == "unsupported_grant_type", r
    r = api.post("/oauth/token", body="{", content_type="application/json")
    assert r.status == 400 and "error" in r.json


def test_scopes_are_checked_per_endpoint(api, app, make_user):
    u = make_user("m")
    read_only = password_token(api, app, u, scope="read")
    assert api.get("/api/v1/timelines/home", token=read_only).status == 200
    r = api.post("/api/v1/statuses", {"status": "nope"}, token=read_only)
    assert r.status == 403, r
    assert "error" in r.json
    # nothing was posted
    assert api.get(f"/api/v1/accounts/{u.id}/statuses").json == []
    # native endpoints need the whole set too
    r = api.post("/v1/tweets", {"text": "nope"}, token=read_only)
    assert r.status == 403, r


def test_tampered_token_is_no_token(api, masto_user):
    t = masto_user.mtoken
    for bad in (t[:-1] + ("A" if t[-1] != "A" else "B"),       # MAC
                t[:44] + ("f" if t[44] != "f" else "3") + t[45:]):  # scopes
        r = api.get("/api/v1/accounts/verify_credentials", token=bad)
        assert r.status == 401, r


def test_revoke(api, app, masto_user):
    assert api.get("/api/v1/accounts/verify_credentials", token=masto_user.mtoken).status == 200
    r = api.post("/oauth/revoke", {"client_id": app["client_id"], "client_secret": "wrong",
                                   "token": masto_user.mtoken})
    assert r.status == 403
    assert api.get("/api/v1/accounts/verify_credentials", token=masto_user.mtoken).status == 200
    r = api.post("/oauth/revoke", {"client_id": app["client_id"],
                                   "client_secret": app["client_secret"],
                                   "token": masto_user.mtoken})
    assert r.status == 200 and r.json == {}
    assert api.get("/api/v1/accounts/verify_credentials", token=masto_user.mtoken).status == 401


def authorize_page(api, app, redirect=OOB, scope="read write"):
    q = form({"client_id": app["client_id"], "redirect_uri": redirect,
              "response_type": "code", "scope": scope, "state": "s t"})
    return api.get("/oauth/authorize?" + q)


def submit_sign_in(api, page, user, cookie=True, csrf=None):
    html = page.body.decode()
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))
    fields = {k: v.replace("&amp;", "&").replace("&#39;", "'").replace("&quot;", '"')
              for k, v in fields.items()}
    if csrf is not None:
        fields["csrf"] = csrf
    fields.update(username=user.handle, password=user.password)
    headers = {}
    if cookie:
        headers["Cookie"] = page.header("set-cookie").split(";")[0]
    return api.post("/oauth/authorize", body=form(fields), content_type=FORM, headers=headers)


def test_authorize_page_and_code_flow(api, make_user):
    app = make_app(api, redirect="https://app.example/cb")
    u = make_user("m")
    page = authorize_page(api, app, redirect="https://app.example/cb")
    assert page.status == 200
    assert page.header("content-type").startswith("text/html")
    assert "test app" in page.body.decode()
    assert "HttpOnly" in page.header("set-cookie")
    r = submit_sign_in(api, page, u)
    assert r.status == 302, r
    loc = urllib.parse.urlparse(r.header("location"))
    assert loc.netloc == "app.example"
    q = urllib.parse.parse_qs(loc.query)
    assert q["state"] == ["s t"]
    code = q["code"][0]
    tok_req = {"grant_type": "authorization_code", "client_id": app["client_id"],
               "client_secret": app["client_secret"], "code": code,
               "redirect_uri": "https://app.example/cb"}
    bad = api.post("/oauth/token", dict(tok_req, redirect_uri="https://evil.example/cb"))
    assert bad.status == 400 and bad.json["error"] == "invalid_grant"
    r = api.post("/oauth/token", tok_req)
    assert r.status == 200, r
    assert r.json["scope"] == "read write"
    me = api.get("/api/v1/accounts/verify_credentials", token=r.json["access_token"])
    assert me.json["username"] == u.handle
    # the code is bound to its client
    other = make_app(api, redirect="https://app.example/cb")
    r = api.post("/oauth/token", dict(tok_req, client_id=other["client_id"],
                                      client_secret=other["client_secret"]))
    assert r.status == 400


def test_authorize_oob_shows_the_code(api, app, make_user):
    u = make_user("m")
    r = submit_sign_in(api, authorize_page(api, app), u)
    assert r.status == 200
    code = re.search(r'<code id="code">([^<]+)</code>', r.body.decode()).group(1)
    r = api.post("/oauth/token", {"grant_type": "authorization_code",
                                  "client_id": app["client_id"],
                                  "client_secret": app["client_secret"], "code": code,
                                  "redirect_uri": OOB})
    assert r.status == 200, r


def test_authorize_page_takes_the_e_mail_address(api, app, make_user):
    u = make_user("m")
    email = "page." + u.handle + "@example.org"  # not a handle: only the address logs in
    r = api.request("PATCH", "/v1/users/me", {"email": email}, token=u.token)
    assert r.status == 200, r
    page = authorize_page(api, app)
    assert "Handle or e-mail" in page.body.decode()

    class ByEmail:
        handle = email.upper()
        password = u.password
    r = submit_sign_in(api, page, ByEmail)
    assert r.status == 200, r
    code = re.search(r'<code id="code">([^<]+)</code>', r.body.decode()).group(1)
    r = api.post("/oauth/token", {"grant_type": "authorization_code",
                                  "client_id": app["client_id"],
                                  "client_secret": app["client_secret"], "code": code,
                                  "redirect_uri": OOB})
    assert r.status == 200, r
    me = api.get("/api/v1/accounts/verify_credentials", token=r.json["access_token"])
    assert me.json["username"] == u.handle and me.json["source"]["email"] == email


def test_authorize_csrf(api, app, make_user):
    u = make_user("m")
    page = authorize_page(api, app)
    # no cookie: a form posted from another site
    r = submit_sign_in(api, page, u, cookie=False)
    assert r.status == 403 and not re.search(r'<code id="code">', r.body.decode())
    # a cookie that does not match the form
    r = submit_sign_in(api, page, u, csrf="A" * 32)
    assert r.status == 403
    assert not re.search(r'<code id="code">', r.body.decode())


def test_authorize_wrong_password_shows_the_form_again(api, app, make_user):
    u = make_user("m")
    u.password = "not the password"
    r = submit_sign_in(api, authorize_page(api, app), u)
    assert r.status == 401
    assert "Wrong handle, e-mail or password" in r.body.decode()


@pytest.mark.parametrize("change", ["client", "redirect", "scope"])
def test_authorize_refuses_bad_requests(api, app, change):
    q = {"client_id": app["client_id"], "redirect_uri": OOB, "response_type": "code",
         "scope": "read"}
    if change == "client":
        q["client_id"] = "garbage!"
    elif change == "redirect":
        q["redirect_uri"] = "https://evil.example/"
    else:
        q["scope"] = "read push"
    r = api.get("/oauth/authorize?" + form(q))
    assert r.status == 400
    assert "<form" not in r.body.decode()


# ---- accounts ----

def app_token(api, app, scope="read write"):
    r = api.post("/oauth/token", {"grant_type": "client_credentials",
                                  "client_id": app["client_id"],
                                  "client_secret": app["client_secret"], "scope": scope})
    assert r.status == 200, r
    return r.json["access_token"]


def test_sign_up_with_an_app_token(api, app):
    handle, password = random_handle("s"), random_password()
    email = "mail." + handle + "@example.org"  # not a handle: only the address logs in
    body = {"username": handle, "email": email, "password": password,
            "agreement": "true", "locale": "en"}
    assert api.post("/api/v1/accounts", body).status == 401
    tok = app_token(api, app)
    r = api.post("/api/v1/accounts", dict(body, agreement="false"), token=tok)
    assert r.status == 422
    r = api.post("/api/v1/accounts", body, token=tok)
    assert r.status == 200, r
    me = api.get("/api/v1/accounts/verify_credentials", token=r.json["access_token"])
    assert me.json["username"] == handle
    # the e-mail address is kept: the owner sees it, and it is taken now
    assert me.json["source"]["email"] == email
    r = api.post("/api/v1/accounts", dict(body, username=handle + "x", email=email.upper()),
                 token=tok)
    assert r.status == 422, r
    assert r.json["details"]["email"][0]["error"] == "ERR_TAKEN" and "error" in r.json
    # and so is the handle (Mastodon's 422, with the field)
    r = api.post("/api/v1/accounts", dict(body, email="other." + handle + "@example.org"),
                 token=tok)
    assert r.status == 422, r
    assert r.json["details"]["username"][0]["error"] == "ERR_TAKEN"
    # a malformed address is refused before anything is made
    r = api.post("/api/v1/accounts", dict(body, username=handle + "y", email="not-an-address"),
                 token=tok)
    assert r.status == 422 and "error" in r.json
    assert api.get("/api/v1/accounts/lookup?acct=" + handle + "y").status == 404
    # toot's log-in asks for the e-mail: it names the account
    r = api.post("/oauth/token", {"grant_type": "password", "client_id": app["client_id"],
                                  "client_secret": app["client_secret"],
                                  "username": email.upper(), "password": password})
    assert r.status == 200, r
    me = api.get("/api/v1/accounts/verify_credentials", token=r.json["access_token"])
    assert me.json["username"] == handle
    # an app token is no user token
    assert api.get("/api/v1/accounts/verify_credentials", token=tok).status == 401


def test_account_shapes_and_lookup(api, masto_user):
    r = api.get(f"/api/v1/accounts/{masto_user.id}")
    a = r.json
    assert a["id"] == masto_user.id and isinstance(a["id"], str)
    assert a["username"] == a["acct"] == masto_user.handle
    assert TIME_MS.match(a["created_at"])
    for k in ("followers_count", "following_count", "statuses_count"):
        assert isinstance(a[k], int)
    assert a["avatar"].endswith("/avatars/original/missing.png")
    img = api.get(urllib.parse.urlparse(a["avatar"]).path)
    assert img.status == 200 and img.body.startswith(b"\x89PNG")
    for acct in (masto_user.handle, "@" + masto_user.handle.upper(),
                 masto_user.handle + "@127.0.0.1"):
        r = api.get("/api/v1/accounts/lookup?acct=" + urllib.parse.quote(acct))
        assert r.status == 200 and r.json["id"] == masto_user.id, r
    r = api.get("/api/v1/accounts/lookup?acct=nobody_" + secrets.token_hex(4))
    assert r.status == 404 and "error" in r.json
    assert api.get("/api/v1/accounts/lookup").status == 400


def test_update_credentials(api, masto_user):
    r = api.request("PATCH", "/api/v1/accounts/update_credentials",
                    body=form({"display_name": "New Name", "note": "Writes <C>."}),
                    content_type=FORM, token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["display_name"] == "New Name"
    assert r.json["note"] == "<p>Writes &lt;C&gt;.</p>"
    assert r.json["source"]["note"] == "Writes <C>."
    r = api.request("PATCH", "/api/v1/accounts/update_credentials",
                    body=form({"display_name": ""}), content_type=FORM,
                    token=masto_user.mtoken)
    assert r.status == 422


def test_update_credentials_with_an_avatar_file(api, masto_user):
    from test_media import jpeg
    path = "/api/v1/accounts/update_credentials"
    body, ctype = multipart({"display_name": "Pictured"}, jpeg(80, 80), file_field="avatar")
    r = api.request("PATCH", path, body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["display_name"] == "Pictured"
    url = r.json["avatar"]
    assert url.startswith("http") and "missing" not in url and r.json["avatar_static"] == url
    native = api.get(f"/v1/users/{masto_user.id}").json
    assert native["avatar_url"] and native["avatar_url"] in url, native
    img = api.fetch(url)
    assert img.status == 200 and img.body[:2] == b"\xff\xd8", img
    assert api.get(f"/api/v1/accounts/{masto_user.id}").json["avatar"] == url
    # A file that is no image: refused, and nothing changed, the name neither.
    body, ctype = multipart({"display_name": "Other"}, b"not an image", file_field="avatar",
                            content_type="image/png")
    r = api.request("PATCH", path, body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json, r
    # An avatar that is a text field, not a file: refused.
    r = api.request("PATCH", path, body=form({"avatar": "x", "display_name": "Other"}),
                    content_type=FORM, token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json, r
    me = api.get(f"/api/v1/accounts/{masto_user.id}").json
    assert me["display_name"] == "Pictured" and me["avatar"] == url


def test_follow_and_unfollow(api, app, masto_user, make_user):
    other = make_user("m")
    r = api.post(f"/api/v1/accounts/{other.id}/follow", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["id"] == other.id and r.json["following"] is True
    followers = api.get(f"/api/v1/accounts/{other.id}/followers").json
    assert [a["id"] for a in followers] == [masto_user.id]
    following = api.get(f"/api/v1/accounts/{masto_user.id}/following").json
    assert [a["id"] for a in following] == [other.id]
    r = api.post(f"/api/v1/accounts/{other.id}/unfollow", token=masto_user.mtoken)
    assert r.status == 200 and r.json["following"] is False
    assert api.get(f"/api/v1/accounts/{other.id}/followers").json == []
    r = api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json
    r = api.post("/api/v1/accounts/12/follow", token=masto_user.mtoken)
    assert r.status == 404


# ---- statuses ----

def test_status_shape(api, masto_user):
    s = post_status(api, masto_user, "hi @bob and #Chirp, see https://example.com/a?b=1.\nbye")
    assert isinstance(s["id"], str)
    assert TIME_MS.match(s["created_at"])
    assert s["visibility"] == "public" and s["reblog"] is None
    assert s["account"]["id"] == masto_user.id
    c = s["content"]
    assert c.startswith("<p>") and c.endswith("</p>")
    assert 'class="u-url mention"' in c and '@<span>bob</span>' in c
    assert 'rel="tag">#<span>Chirp</span></a>' in c
    assert '<a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer"' in c
    assert "<br>bye" in c
    assert s["tags"] == [{"name": "chirp", "url": s["tags"][0]["url"]}]
    assert api.get(f"/api/v1/statuses/{s['id']}").json["id"] == s["id"]


def test_status_form_body_and_html_escaping(api, masto_user):
    r = api.post("/api/v1/statuses", body=form({"status": "<b>x</b> & y"}),
                 content_type=FORM, token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["content"] == "<p>&lt;b&gt;x&lt;/b&gt; &amp; y</p>"


def test_status_idempotency_key(api, masto_user):
    key = {"Idempotency-Key": secrets.token_hex(8)}
    a = api.post("/api/v1/statuses", {"status": "once"}, token=masto_user.mtoken, headers=key)
    b = api.post("/api/v1/statuses", {"status": "once"}, token=masto_user.mtoken, headers=key)
    assert a.status == b.status == 200
    assert a.json["id"] == b.json["id"]
    assert len(api.get(f"/api/v1/accounts/{masto_user.id}/statuses").json) == 1


@pytest.mark.parametrize("extra,status", [
    ({"visibility": "private"}, 422),
    ({"visibility": "direct"}, 422),
    ({"spoiler_text": "cw"}, 422),
    ({"status": ""}, 422),
    ({"status": "x" * 281}, 422),
    ({"in_reply_to_id": "abc"}, 422),
    ({"media_ids": ["1"]}, 422),
])
def test_status_refusals(api, masto_user, extra, status):
    body = {"status": "fine"}
    body.update(extra)
    r = api.post("/api/v1/statuses", body, token=masto_user.mtoken)
    assert r.status == status, r
    assert isinstance(r.json["error"], str)
    assert api.get(f"/api/v1/accounts/{masto_user.id}/statuses").json == []


def test_unlisted_is_posted_public(api, masto_user):
    s = post_status(api, masto_user, visibility="unlisted")
    assert s["visibility"] == "public"


def test_reply_context_and_exclude_replies(api, masto_user, make_user):
    root = post_status(api, masto_user, "root")
    reply = post_status(api, masto_user, "reply", in_reply_to_id=root["id"])
    assert reply["in_reply_to_id"] == root["id"]
    assert reply["in_reply_to_account_id"] == masto_user.id
    ctx = api.get(f"/api/v1/statuses/{reply['id']}/context").json
    assert [s["id"] for s in ctx["ancestors"]] == [root["id"]]
    ctx = api.get(f"/api/v1/statuses/{root['id']}/context").json
    assert [s["id"] for s in ctx["descendants"]] == [reply["id"]]
    path = f"/api/v1/accounts/{masto_user.id}/statuses"
    assert [s["id"] for s in api.get(path).json] == [reply["id"], root["id"]]
    assert [s["id"] for s in api.get(path + "?exclude_replies=true").json] == [root["id"]]
    assert api.get(path + "?only_media=true").json == []
    assert api.get(path + "?pinned=true").json == []


def test_favourite(api, masto_user, make_user):
    s = post_status(api, masto_user)
    other = make_user("m")
    r = api.post(f"/api/v1/statuses/{s['id']}/favourite", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["favourited"] is True and r.json["favourites_count"] == 1
    by = api.get(f"/api/v1/statuses/{s['id']}/favourited_by").json
    assert [a["id"] for a in by] == [masto_user.id]
    r = api.post(f"/api/v1/statuses/{s['id']}/unfavourite", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["favourited"] is False and r.json["favourites_count"] == 0
    r = api.post("/api/v1/statuses/12/favourite", token=masto_user.mtoken)
    assert r.status == 404 and "error" in r.json
    assert other  # a second user exists, and liked nothing


def test_reblog_shows_in_timelines_and_unreblog_takes_it_back(api, app, masto_user, make_user):
    author = make_user("m")
    author.mtoken = password_token(api, app, author)
    s = post_status(api, author, "worth a reblog")
    fan = make_user("m")
    fan.mtoken = password_token(api, app, fan)
    api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=fan.mtoken)
    r = api.post(f"/api/v1/statuses/{s['id']}/reblog", token=masto_user.mtoken)
    assert r.status == 200, r
    outer = r.json
    assert outer["id"] != s["id"] and outer["account"]["id"] == masto_user.id
    assert outer["content"] == "" and outer["reblog"]["id"] == s["id"]
    assert outer["reblog"]["account"]["id"] == author.id
    assert outer["reblog"]["content"].startswith("<p>worth a reblog")
    assert outer["reblog"]["reblogs_count"] == 1 and outer["reblog"]["reblogged"] is True
    # Twice is one reblog.
    again = api.post(f"/api/v1/statuses/{s['id']}/reblog", token=masto_user.mtoken)
    assert again.status == 200 and again.json["id"] == outer["id"]
    # The original's counts, and the reader's own state, everywhere.
    mine = api.get(f"/api/v1/statuses/{s['id']}", token=masto_user.mtoken).json
    assert mine["reblogs_count"] == 1 and mine["reblogged"] is True
    theirs = api.get(f"/api/v1/statuses/{s['id']}", token=author.mtoken).json
    assert theirs["reblogs_count"] == 1 and theirs["reblogged"] is False
    # The reblogger's follower sees the reblog in the home timeline (the
    # author would not: one's own tweet never comes back as a retweet), and
    # the reblogger's profile lists it.
    home = api.get("/api/v1/timelines/home", token=fan.mtoken).json
    assert outer["id"] in [x["id"] for x in home]
    listed = next(x for x in home if x["id"] == outer["id"])
    assert listed["reblog"]["id"] == s["id"] and listed["account"]["id"] == masto_user.id
    statuses = api.get(f"/api/v1/accounts/{masto_user.id}/statuses").json
    assert [x["reblog"]["id"] for x in statuses if x.get("reblog")] == [s["id"]]
    r = api.post(f"/api/v1/statuses/{s['id']}/unreblog", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["id"] == s["id"] and r.json["reblog"] is None
    assert r.json["reblogged"] is False and r.json["reblogs_count"] == 0
    assert api.get(f"/api/v1/statuses/{outer['id']}").status == 404
    assert api.get(f"/api/v1/accounts/{masto_user.id}/statuses").json == []


def test_reblog_refusals_change_nothing(api, app, masto_user):
    s = post_status(api, masto_user)
    r = api.post("/api/v1/statuses/12/reblog", token=masto_user.mtoken)
    assert r.status == 404 and "error" in r.json
    r = api.post("/api/v1/statuses/not-an-id/reblog", token=masto_user.mtoken)
    assert 400 <= r.status < 500 and "error" in r.json
    read_only = password_token(api, app, masto_user, scope="read")
    r = api.post(f"/api/v1/statuses/{s['id']}/reblog", token=read_only)
    assert r.status == 403 and "error" in r.json
    r = api.post(f"/api/v1/statuses/{s['id']}/reblog")
    assert r.status == 401 and "error" in r.json
    assert api.get(f"/api/v1/statuses/{s['id']}").json["reblogs_count"] == 0


def test_notifications_in_mastodons_types(api, app, masto_user, make_user):
    fan = make_user("m")
    fan.mtoken = password_token(api, app, fan)
    s = post_status(api, masto_user, "notice me")
    api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=fan.mtoken)
    api.post(f"/api/v1/statuses/{s['id']}/favourite", token=fan.mtoken)
    api.post(f"/api/v1/statuses/{s['id']}/reblog", token=fan.mtoken)
    reply = post_status(api, fan, f"@{masto_user.handle} replying", in_reply_to_id=s["id"])
    mention = post_status(api, fan, f"hello @{masto_user.handle}")
    r = api.get("/api/v1/notifications", token=masto_user.mtoken)
    assert r.status == 200, r
    got = [(n["type"], (n.get("status") or {}).get("id")) for n in r.json]
    # newest first; a reply is a mention, a like a favourite, a retweet a reblog
    assert got == [("mention", mention["id"]), ("mention", reply["id"]), ("reblog", s["id"]),
                   ("favourite", s["id"]), ("follow", None)], got
    for n in r.json:
        assert n["account"]["id"] == fan.id and n["created_at"].endswith("Z")
        assert isinstance(n["id"], str)
    fav = next(n for n in r.json if n["type"] == "favourite")
    assert fav["status"]["favourites_count"] == 1 and fav["status"]["content"] == "<p>notice me</p>"
    assert "status" not in next(n for n in r.json if n["type"] == "follow")

    def types(query):
        r = api.get("/api/v1/notifications?" + query, token=masto_user.mtoken)
        assert r.status == 200, r
        return [n["type"] for n in r.json]
    assert types("types[]=favourite&types[]=follow") == ["favourite", "follow"]
    assert types("types[]=mention") == ["mention", "mention"]
    assert types("exclude_types[]=mention&exclude_types[]=reblog") == ["favourite", "follow"]
    assert types("types[]=follow&exclude_types[]=follow") == []
    # Paging: limit, max_id, and a Link that keeps the filter.
    r = api.get("/api/v1/notifications?limit=1&types[]=mention", token=masto_user.mtoken)
    assert [n["status"]["id"] for n in r.json] == [mention["id"]]
    link = r.header("Link")
    assert link and link.startswith("<http") and 'rel="next"' in link
    nxt = link[1:link.index(">")]
    r = api.get(nxt[nxt.index("/api/"):], token=masto_user.mtoken)
    assert [n["status"]["id"] for n in r.json] == [reply["id"]], nxt
    first = api.get("/api/v1/notifications", token=masto_user.mtoken).json
    r = api.get(f"/api/v1/notifications?max_id={first[1]['id']}", token=masto_user.mtoken)
    assert [n["id"] for n in r.json] == [n["id"] for n in first[2:]]
    # The fan has none: notifications are the token user's own.
    assert api.get("/api/v1/notifications", token=fan.mtoken).json == []


def test_reblogged_by_and_avatar_in_the_account(api, app, masto_user, make_user):
    s = post_status(api, masto_user, "share me")
    fans = [make_user("m") for _ in range(2)]
    for f in fans:
        f.mtoken = password_token(api, app, f)
        r = api.post(f"/api/v1/statuses/{s['id']}/reblog", token=f.mtoken)
        assert r.status == 200, r
    r = api.get(f"/api/v1/statuses/{s['id']}/reblogged_by?limit=1")
    assert r.status == 200, r
    assert [a["id"] for a in r.json] == [fans[1].id]
    link = r.header("Link")
    assert link and link.startswith("<http") and 'rel="next"' in link, r
    nxt = link[1:link.index(">")]
    assert [a["id"] for a in api.get(nxt[nxt.index("/api/"):]).json] == [fans[0].id]
    assert api.get(f"/api/v1/statuses/{s['id']}/favourited_by").json == []
    assert api.get("/api/v1/statuses/12/reblogged_by").status == 404
    # An account shows its avatar, or Mastodon's "missing" image.
    me = api.get(f"/api/v1/accounts/{masto_user.id}").json
    assert me["avatar"].endswith("/avatars/original/missing.png"), me
    from test_social import upload_ready
    mid = upload_ready(api, masto_user)
    r = api.request("PATCH", "/v1/users/me", json_body={"avatar_media_id": mid},
                    token=masto_user.token)
    assert r.status == 200, r
    me = api.get(f"/api/v1/accounts/{masto_user.id}").json
    assert me["avatar"].startswith("http") and mid in me["avatar"], me
    assert me["avatar_static"] == me["avatar"]


def test_notification_by_id_dismiss_and_clear(api, app, masto_user, make_user):
    fan = make_user("m")
    fan.mtoken = password_token(api, app, fan)
    s = post_status(api, masto_user, "notice me")
    api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=fan.mtoken)
    api.post(f"/api/v1/statuses/{s['id']}/favourite", token=fan.mtoken)
    fav, fol = api.get("/api/v1/notifications", token=masto_user.mtoken).json
    r = api.get(f"/api/v1/notifications/{fav['id']}", token=masto_user.mtoken)
    assert r.status == 200 and r.json == fav, r
    assert api.get(f"/api/v1/notifications/{fav['id']}", token=fan.mtoken).status == 404
    read_only = password_token(api, app, masto_user, scope="read")
    r = api.post(f"/api/v1/notifications/{fav['id']}/dismiss", token=read_only)
    assert r.status == 403 and "error" in r.json, r
    r = api.post(f"/api/v1/notifications/{fav['id']}/dismiss", token=masto_user.mtoken)
    assert r.status == 200 and r.json == {}, r
    left = api.get("/api/v1/notifications", token=masto_user.mtoken).json
    assert [n["id"] for n in left] == [fol["id"]]
    r = api.get(f"/api/v1/notifications/{fav['id']}", token=masto_user.mtoken)
    assert r.status == 404 and "error" in r.json, r
    r = api.post("/api/v1/notifications/clear", token=masto_user.mtoken)
    assert r.status == 200 and r.json == {}, r
    assert api.get("/api/v1/notifications", token=masto_user.mtoken).json == []


def test_notification_refusals(api, app, masto_user):
    assert api.get("/api/v1/notifications").status == 401
    for q in ("types[]=like", "exclude_types[]=nope", "types[]=", "limit=x", "max_id=-1",
              "types=<script>"):
        r = api.get("/api/v1/notifications?" + q, token=masto_user.mtoken)
        assert r.status == 422 and "error" in r.json, (q, r)
    write_only = password_token(api, app, masto_user, scope="write")
    r = api.get("/api/v1/notifications", token=write_only)
    assert r.status == 403 and "error" in r.json


def test_block_and_mute_with_relationships(api, app, masto_user, make_user):
    b, c = make_user("m"), make_user("m")
    b.mtoken = password_token(api, app, b)
    api.post(f"/api/v1/accounts/{b.id}/follow", token=masto_user.mtoken)
    r = api.post(f"/api/v1/accounts/{b.id}/block", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["id"] == b.id and r.json["blocking"] is True
    assert r.json["following"] is False  # a block ends follows both ways
    r = api.post(f"/api/v1/accounts/{c.id}/mute", token=masto_user.mtoken)
    assert r.status == 200 and r.json["muting"] is True and r.json["blocking"] is False
    rel = api.get(f"/api/v1/accounts/relationships?id[]={b.id}&id[]={c.id}",
                  token=masto_user.mtoken).json
    assert [(x["id"], x["blocking"], x["muting"]) for x in rel] == [(b.id, True, False),
                                                                    (c.id, False, True)]
    theirs = api.get(f"/api/v1/accounts/relationships?id[]={masto_user.id}", token=b.mtoken).json
    assert theirs[0]["blocked_by"] is True and theirs[0]["blocking"] is False
    assert [a["id"] for a in api.get("/api/v1/blocks", token=masto_user.mtoken).json] == [b.id]
    assert [a["id"] for a in api.get("/api/v1/mutes", token=masto_user.mtoken).json] == [c.id]
    # The blocked cannot follow back.
    r = api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=b.mtoken)
    assert 400 <= r.status < 500 and "error" in r.json
    r = api.post(f"/api/v1/accounts/{b.id}/unblock", token=masto_user.mtoken)
    assert r.status == 200 and r.json["blocking"] is False
    r = api.post(f"/api/v1/accounts/{c.id}/unmute", token=masto_user.mtoken)
    assert r.status == 200 and r.json["muting"] is False
    assert api.get("/api/v1/blocks", token=masto_user.mtoken).json == []
    assert api.get("/api/v1/mutes", token=masto_user.mtoken).json == []


def test_block_and_mute_refusals_change_nothing(api, app, masto_user, make_user):
    b = make_user("m")
    for verb in ("block", "mute"):
        r = api.post(f"/api/v1/accounts/12/{verb}", token=masto_user.mtoken)
        assert r.status == 404 and "error" in r.json
        r = api.post(f"/api/v1/accounts/{b.id}/{verb}")
        assert r.status == 401 and "error" in r.json
        read_only = password_token(api, app, masto_user, scope="read")
        r = api.post(f"/api/v1/accounts/{b.id}/{verb}", token=read_only)
        assert r.status == 403 and "error" in r.json
        r = api.post(f"/api/v1/accounts/{masto_user.id}/{verb}", token=masto_user.mtoken)
        assert 400 <= r.status < 500 and "error" in r.json
    assert api.get("/api/v1/blocks", token=masto_user.mtoken).json == []
    assert api.get("/api/v1/mutes", token=masto_user.mtoken).json == []
    assert api.get("/api/v1/blocks").status == 401


def test_tag_timeline(api, masto_user):
    tag = "t" + secrets.token_hex(4)
    a = post_status(api, masto_user, f"first #{tag}")
    post_status(api, masto_user, "untagged")
    b = post_status(api, masto_user, f"second #{tag.upper()} again")
    r = api.get(f"/api/v1/timelines/tag/{tag}")
    assert r.status == 200, r
    assert [s["id"] for s in r.json] == [b["id"], a["id"]]
    assert r.json[0]["tags"][0]["name"].lower() == tag
    r = api.get(f"/api/v1/timelines/tag/{tag}?limit=1&local=true")
    assert [s["id"] for s in r.json] == [b["id"]]
    nxt = r.header("Link")[1:r.header("Link").index(">")]
    assert [s["id"] for s in api.get(nxt[nxt.index("/api/"):]).json] == [a["id"]]
    assert api.get(f"/api/v1/timelines/tag/{tag}?only_media=true").json == []
    assert api.get("/api/v1/timelines/tag/nosuchtag" + secrets.token_hex(3)).json == []
    r = api.get("/api/v1/timelines/tag/" + "x" * 300)
    assert 400 <= r.status < 500 and "error" in r.json


def test_public_timeline(api, app, masto_user, make_user):
    other = make_user("m")
    other.mtoken = password_token(api, app, other)
    a = post_status(api, masto_user, "public one")
    b = post_status(api, other, "public two")
    api.post(f"/api/v1/statuses/{a['id']}/reblog", token=other.mtoken)  # not listed
    r = api.get("/api/v1/timelines/public?limit=2")
    assert r.status == 200, r
    assert [s["id"] for s in r.json] == [b["id"], a["id"]]
    assert all(s["reblog"] is None for s in r.json)
    local = api.get("/api/v1/timelines/public?local=true&limit=2").json
    assert [s["id"] for s in local] == [b["id"], a["id"]]
    assert api.get("/api/v1/timelines/public?remote=true").json == []
    r = api.get(f"/api/v1/timelines/public?limit=1&max_id={b['id']}")
    assert [s["id"] for s in r.json] == [a["id"]]
    link = r.header("Link")
    assert link.startswith("<http") and 'rel="next"' in link
    assert api.get(f"/api/v1/timelines/public?min_id={a['id']}").json[-1]["id"] == b["id"]
    # A reader who blocks the author does not see their statuses.
    api.post(f"/api/v1/accounts/{other.id}/block", token=masto_user.mtoken)
    mine = api.get("/api/v1/timelines/public?limit=2", token=masto_user.mtoken).json
    assert b["id"] not in [s["id"] for s in mine]
    r = api.get("/api/v1/timelines/public?limit=abc")
    assert 400 <= r.status < 500 and "error" in r.json


def test_delete_answers_the_status(api, masto_user, make_user):
    s = post_status(api, masto_user, "to redraft")
    other = make_user("m")
    other_tok = password_token(api, make_app(api), other)
    r = api.delete(f"/api/v1/statuses/{s['id']}", token=other_tok)
    assert r.status == 404
    r = api.delete(f"/api/v1/statuses/{s['id']}", token=masto_user.mtoken)
    assert r.status == 200, r
    assert r.json["id"] == s["id"] and r.json["text"] == "to redraft"
    assert api.get(f"/api/v1/statuses/{s['id']}").status == 404


def test_home_timeline_and_paging(api, masto_user, make_user):
    other = make_user("m")
    api.post(f"/api/v1/accounts/{other.id}/follow", token=masto_user.mtoken)
    other.mtoken = password_token(api, make_app(api), other)
    ids = [post_status(api, other)["id"] for _ in range(3)]
    mine = post_status(api, masto_user)["id"]
    r = api.get("/api/v1/timelines/home?limit=2", token=masto_user.mtoken)
    assert r.status == 200
    page = [s["id"] for s in r.json]
    assert page == [mine, ids[2]]
    link = r.header("link")
    assert re.match(r'^<http://[^>]*max_id=' + ids[2] + r'[^>]*>; rel="next"', link), link
    nxt = urllib.parse.urlparse(re.match(r"^<([^>]+)>", link).group(1))
    nxt = nxt.path + "?" + nxt.query
    r = api.get(nxt, token=masto_user.mtoken)
    assert [s["id"] for s in r.json] == [ids[1], ids[0]]
    r = api.get(f"/api/v1/timelines/home?min_id={ids[0]}&limit=1", token=masto_user.mtoken)
    assert [s["id"] for s in r.json] == [ids[1]]
    r = api.get(f"/api/v1/timelines/home?since_id={ids[0]}&limit=1", token=masto_user.mtoken)
    assert [s["id"] for s in r.json] == [mine]
    assert api.get("/api/v1/timelines/home").status == 401
    r = api.get("/api/v1/timelines/home?limit=abc", token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json


def test_errors_are_json(api, masto_user):
    for r in (api.get("/api/v1/statuses/abc"), api.get("/api/v1/statuses/12"),
              api.get("/api/v1/nothing-here"),
              api.post("/api/v1/statuses", {"status": "x"}),
              api.post("/api/v1/statuses", body="status=%zz", content_type=FORM,
                       token=masto_user.mtoken)):
        assert r.status >= 400
        assert r.header("content-type").startswith("application/json"), r
        assert isinstance(json.loads(r.body)["error"], str), r


# ---- search ----

def test_search_v2(api, masto_user):
    word = "zq" + secrets.token_hex(4)
    s = post_status(api, masto_user, f"about {word} #{word}")
    for q in (masto_user.handle, "@" + masto_user.handle, masto_user.handle + "@elsewhere"):
        r = api.get("/api/v2/search?resolve=true&type=accounts&q=" + urllib.parse.quote(q))
        assert r.status == 200, r
        assert masto_user.id in [a["id"] for a in r.json["accounts"]], q
        assert r.json["statuses"] == [] and r.json["hashtags"] == []
    # The index follows the store a moment behind the 201
    # (chirp_search_index_lag_milliseconds): wait for the tweet there.
    found = eventually(lambda: [x["id"] for x in api.get(
        f"/api/v2/search?type=statuses&q={word}").json["statuses"]],
        what="the status in search")
    assert found == [s["id"]]
    r = api.get(f"/api/v2/search?q={word}")
    assert [x["id"] for x in r.json["statuses"]] == [s["id"]]
    r = api.get("/api/v2/search?type=hashtags&q=%23" + word)
    assert [t["name"] for t in r.json["hashtags"]] == [word]
    assert api.get("/api/v2/search").status == 400
    assert api.get("/api/v2/search?q=x&type=emoji").status == 400
    assert api.get("/api/v2/search?q=" + "x" * 600).status == 400


# ---- streaming ----

def test_streaming_user_sse(api, masto_user, make_user):
    import http.client
    import time
    assert api.get("/api/v1/streaming/health").body == b"OK"
    assert api.get("/api/v1/streaming/user").status == 401
    host, port = api.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/api/v1/streaming/user?access_token=" + masto_user.mtoken)
    r = conn.getresponse()
    assert r.status == 200
    assert r.getheader("content-type").startswith("text/event-stream")
    time.sleep(0.3)
    s = post_status(api, masto_user, "live one")
    buf = b""
    deadline = time.time() + 10
    while b"event: update" not in buf or not buf.endswith(b"\n\n"):
        assert time.time() < deadline, buf
        buf += r.read1(65536)
    event = buf[buf.index(b"event: update"):].split(b"\n\n")[0]
    data = json.loads(event.split(b"data: ", 1)[1])
    assert data["id"] == s["id"] and data["content"] == "<p>live one</p>"
    api.delete(f"/api/v1/statuses/{s['id']}", token=masto_user.mtoken)
    buf = b""
    while b"event: delete" not in buf or not buf.endswith(b"\n\n"):
        assert time.time() < deadline, buf
        buf += r.read1(65536)
    assert (b"event: delete\ndata: " + s["id"].encode() + b"\n\n") in buf
    # The reader's notifications come as Mastodon's Notification.
    fan = make_user("m")
    fan.mtoken = password_token(api, make_app(api), fan)
    api.post(f"/api/v1/accounts/{masto_user.id}/follow", token=fan.mtoken)
    buf = b""
    while b"event: notification" not in buf or not buf.endswith(b"\n\n"):
        assert time.time() < deadline, buf
        buf += r.read1(65536)
    event = buf[buf.index(b"event: notification"):].split(b"\n\n")[0]
    n = json.loads(event.split(b"data: ", 1)[1])
    assert n["type"] == "follow" and n["account"]["id"] == fan.id and "actor" not in n
    conn.close()


def test_relationships(api, app, masto_user, make_user):
    b, c = make_user("m"), make_user("m")
    api.post(f"/api/v1/accounts/{b.id}/follow", token=masto_user.mtoken)
    assert api.post(f"/v1/users/{masto_user.id}/follows", token=c.token).status == 201
    r = api.get(f"/api/v1/accounts/relationships?id[]={b.id}&id[]={c.id}",
                token=masto_user.mtoken)
    assert r.status == 200, r
    rel = {x["id"]: (x["following"], x["followed_by"]) for x in r.json}
    assert rel == {b.id: (True, False), c.id: (False, True)}
    r = api.get(f"/api/v1/accounts/relationships?id={b.id}", token=masto_user.mtoken)
    assert [x["following"] for x in r.json] == [True]
    assert api.get("/api/v1/accounts/relationships?id[]=x", token=masto_user.mtoken).status == 400
    assert api.get(f"/api/v1/accounts/relationships?id={b.id}").status == 401


# ---- media ----

def multipart(fields, file_bytes, content_type="image/jpeg", file_field="file"):
    boundary = "----chirp" + secrets.token_hex(8)
    out = b""
    for k, v in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n"
                f"{v}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; "
            f"filename=\"a.jpg\"\r\nContent-Type: {content_type}\r\n\r\n").encode()
    out += file_bytes + f"\r\n--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


def test_media_upload_v2_then_post(api, masto_user):
    import time
    from test_media import jpeg
    body, ctype = multipart({"description": "a red square"}, jpeg(64, 48))
    r = api.post("/api/v2/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 202, r
    mid = r.json["id"]
    assert r.json["type"] == "image" and r.json["url"] is None
    deadline = time.time() + 20
    while True:
        r = api.get(f"/api/v1/media/{mid}", token=masto_user.mtoken)
        if r.status == 200:
            break
        assert r.status == 206 and time.time() < deadline, r
        time.sleep(0.1)
    m = r.json
    assert m["url"].startswith("http://") and m["preview_url"].startswith("http://")
    assert m["meta"]["original"]["width"] == 64
    img = api.fetch(m["url"])
    assert img.status == 200 and img.body[:2] == b"\xff\xd8"
    s = post_status(api, masto_user, "with a picture", media_ids=[mid])
    assert [a["id"] for a in s["media_attachments"]] == [mid]
    assert s["media_attachments"][0]["url"].startswith("http://")
    # someone else's media stays theirs
    assert api.get(f"/api/v1/media/{mid}").status == 401


def test_media_refusals(api, masto_user):
    body, ctype = multipart({}, b"not an image at all", content_type="text/plain")
    r = api.post("/api/v1/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 415 and "error" in r.json, r
    r = api.post("/api/v1/media", body=form({"file": "x"}), content_type=FORM,
                 token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json
    r = api.post("/api/v1/media", body=b"--x\r\nbroken", content_type="multipart/form-data; boundary=x",
                 token=masto_user.mtoken)
    assert r.status == 400 and "error" in r.json
    body, ctype = multipart({}, b"")
    r = api.post("/api/v1/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 422, r


def test_a_json_body_cannot_pass_for_a_file_part(api, masto_user):
    """A JSON body can spell the object a multipart file part becomes; its
    offset and length must not reach past the body (they once did: the
    server stored memory beyond it as the upload)."""
    forged = {"content_type": "image/jpeg", "filename": "a.jpg", "offset": 0,
              "length": 200000}
    for path, field, method in (("/api/v2/media", "file", "POST"),
                                ("/api/v1/media", "file", "POST"),
                                ("/api/v1/accounts/update_credentials", "avatar", "PATCH")):
        for f in (forged, dict(forged, offset=-5, length=3), dict(forged, length=3)):
            r = api.request(method, path, json_body={field: f, "display_name": "Forged"},
                            token=masto_user.mtoken)
            assert r.status == 422 and "error" in r.json, (path, f, r)
    me = api.get(f"/api/v1/accounts/{masto_user.id}").json
    assert me["display_name"] != "Forged" and me["avatar"].endswith("missing.png"), me


def test_media_description_upload_update_and_status(api, app, masto_user, make_user):
    import time
    from test_media import jpeg
    body, ctype = multipart({"description": "a red square"}, jpeg(40, 30))
    r = api.post("/api/v2/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 202, r
    mid = r.json["id"]
    assert r.json["description"] == "a red square"
    # changed before it is on a status
    r = api.request("PUT", f"/api/v1/media/{mid}", body=form({"description": "a blue square"}),
                    content_type=FORM, token=masto_user.mtoken)
    assert r.status in (200, 206) and r.json["description"] == "a blue square", r
    # without a description: the media as it is
    r = api.request("PUT", f"/api/v1/media/{mid}", {"focus": "0.0,0.0"}, token=masto_user.mtoken)
    assert r.status in (200, 206) and r.json["description"] == "a blue square", r
    # refused: too long, someone else's, a read-only token; nothing changes
    r = api.request("PUT", f"/api/v1/media/{mid}", {"description": "x" * 1501},
                    token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json, r
    other = make_user("m")
    other_tok = password_token(api, app, other)
    r = api.request("PUT", f"/api/v1/media/{mid}", {"description": "mine"}, token=other_tok)
    assert r.status == 404 and "error" in r.json, r
    read_only = password_token(api, app, masto_user, scope="read")
    r = api.request("PUT", f"/api/v1/media/{mid}", {"description": "ro"}, token=read_only)
    assert r.status == 403, r
    deadline = time.time() + 20
    while True:
        r = api.get(f"/api/v1/media/{mid}", token=masto_user.mtoken)
        if r.status == 200:
            break
        assert r.status == 206 and time.time() < deadline, r
        time.sleep(0.1)
    assert r.json["description"] == "a blue square"
    s = post_status(api, masto_user, "described", media_ids=[mid])
    assert s["media_attachments"][0]["description"] == "a blue square"
    got = api.get(f"/api/v1/statuses/{s['id']}").json
    assert got["media_attachments"][0]["description"] == "a blue square"
    home = api.get("/api/v1/timelines/home", token=masto_user.mtoken).json
    assert home[0]["media_attachments"][0]["description"] == "a blue square"
    # on a status now: its description stays (chirp answers 409; Mastodon 404)
    r = api.request("PUT", f"/api/v1/media/{mid}", {"description": "later"},
                    token=masto_user.mtoken)
    assert r.status == 409 and "error" in r.json, r
    assert api.get(f"/api/v1/statuses/{s['id']}").json["media_attachments"][0][
        "description"] == "a blue square"
    # an upload without one shows null, as Mastodon does
    body, ctype = multipart({}, jpeg(8, 8))
    r = api.post("/api/v2/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 202 and r.json["description"] is None, r
    body, ctype = multipart({"description": "bell\u0007"}, jpeg(8, 8))
    r = api.post("/api/v2/media", body=body, content_type=ctype, token=masto_user.mtoken)
    assert r.status == 422 and "error" in r.json, r


def test_markers(api, app, masto_user, make_user):
    tok = masto_user.mtoken
    r = api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications", token=tok)
    assert r.status == 200 and r.json == {}, r
    r = api.post("/api/v1/markers", body=form({"home[last_read_id]": "103206604258487607"}),
                 content_type=FORM, token=tok)
    assert r.status == 200, r
    assert r.json["home"]["last_read_id"] == "103206604258487607"
    assert r.json["home"]["version"] == 1 and TIME_MS.match(r.json["home"]["updated_at"])
    assert "notifications" not in r.json
    r = api.post("/api/v1/markers", {"home": {"last_read_id": "103206604258487700"},
                                     "notifications": {"last_read_id": "35098814"}}, token=tok)
    assert r.status == 200, r
    assert r.json["home"] == dict(r.json["home"], last_read_id="103206604258487700", version=2)
    assert r.json["notifications"]["version"] == 1
    r = api.get("/api/v1/markers?timeline[]=home", token=tok)
    assert list(r.json) == ["home"] and r.json["home"]["version"] == 2
    both = api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications&timeline[]=x",
                   token=tok).json
    assert both["notifications"]["last_read_id"] == "35098814"
    assert api.get("/api/v1/markers?timeline=notifications", token=tok).json == \
        {"notifications": both["notifications"]}
    # bad input changes nothing
    for bad in ({"home[last_read_id]": "not-an-id"}, {"home[last_read_id]": ""},
                {"notifications[last_read_id]": "-1"}, {}, {"home[other]": "1"}):
        r = api.post("/api/v1/markers", body=form(bad), content_type=FORM, token=tok)
        assert r.status == 422 and "error" in r.json, (bad, r)
    r = api.post("/api/v1/markers", {"home": {"last_read_id": 5},
                                     "notifications": {"last_read_id": "x"}}, token=tok)
    assert r.status == 422, r
    assert api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications",
                   token=tok).json == both
    # scopes: reading needs read, setting write; and a user's are their own
    read_only = password_token(api, app, masto_user, scope="read")
    assert api.get("/api/v1/markers?timeline[]=home", token=read_only).json == \
        {"home": both["home"]}
    r = api.post("/api/v1/markers", {"home": {"last_read_id": "1"}}, token=read_only)
    assert r.status == 403, r
    write_only = password_token(api, app, masto_user, scope="write")
    assert api.get("/api/v1/markers?timeline[]=home", token=write_only).status == 403
    assert api.get("/api/v1/markers?timeline[]=home").status == 401
    other = password_token(api, app, make_user("m"))
    assert api.get("/api/v1/markers?timeline[]=home&timeline[]=notifications",
                   token=other).json == {}
