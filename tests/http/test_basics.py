"""Operations endpoints, routing, error shape and response headers."""

import http.client

import pytest

from chirp_client import assert_error


def _json_ct(resp):
    ct = resp.header("Content-Type") or ""
    return ct.split(";")[0].strip().lower() == "application/json"


def test_healthz(api):
    r = api.get("/healthz")
    assert r.status == 200, r
    assert _json_ct(r), r.headers
    assert r.json["status"] == "ok"


def test_readyz(api):
    r = api.get("/readyz")
    assert r.status == 200, r
    assert _json_ct(r), r.headers
    assert r.json["status"] == "ready"


@pytest.mark.parametrize("method,path", [
    ("GET", "/nope"),  # GET / is the web client (tests/web/)
    ("GET", "/v1"),
    ("GET", "/v1/nope"),
    ("POST", "/v1/nope"),
    ("GET", "/v2/users/1"),
    ("GET", "/v1/users/1/nope"),
    ("GET", "/v1/tweets/1/extra"),
    ("GET", "/healthz/extra"),
    ("DELETE", "/v1/sessions/1/other"),
])
def test_unknown_route_is_404(api, method, path):
    r = api.request(method, path)
    assert_error(r, 404, "not_found")


@pytest.mark.parametrize("method,path", [
    ("GET", "/v1/users"),
    ("DELETE", "/v1/users"),
    ("PUT", "/v1/sessions"),
    ("PUT", "/v1/sessions/current"),
    ("GET", "/v1/sessions/current"),
    ("GET", "/v1/tweets"),
    ("PUT", "/v1/tweets"),
    ("PUT", "/v1/users/1"),
    ("DELETE", "/v1/users/1"),
    ("PATCH", "/v1/tweets/1"),
    ("POST", "/v1/tweets/1"),
    ("POST", "/v1/users/1/tweets"),
    ("PUT", "/v1/users/1/follows"),
    ("GET", "/v1/users/1/follows"),
    ("POST", "/v1/users/1/followers"),
    ("DELETE", "/v1/users/1/following"),
    ("POST", "/v1/feed"),
    ("DELETE", "/v1/feed"),
    ("POST", "/healthz"),
    ("POST", "/readyz"),
])
def test_wrong_method_is_405(api, method, path):
    r = api.request(method, path)
    assert_error(r, 405, "method_not_allowed")


def test_no_server_header(api, make_user):
    u = make_user()
    responses = [
        api.get("/healthz"),
        api.get("/readyz"),
        api.get("/v1/nope"),
        api.request("PUT", "/v1/tweets"),
        api.get("/v1/feed"),
        api.post("/v1/tweets", {"text": "hello"}, token=u.token),
        api.get(f"/v1/users/{u.id}"),
        api.get(f"/v1/users/{u.id}/tweets"),
        api.delete(f"/v1/users/{u.id}/follows", token=u.token),
        api.post("/v1/tweets", body=b"{", token=u.token),
    ]
    for r in responses:
        assert r.header("Server") is None, f"Server header on {r!r}"


def test_204_has_no_body(api, make_user):
    u = make_user()
    t = api.post("/v1/tweets", {"text": "to delete"}, token=u.token).json
    r = api.delete(f"/v1/tweets/{t['id']}", token=u.token)
    assert r.status == 204, r
    assert r.body == b""


def test_keep_alive_serves_several_requests_on_one_connection(api, make_user):
    """HTTP/1.1 connections persist, also across error responses."""
    u = make_user()
    host, port = api.address
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        sequence = [
            ("GET", "/healthz", None, {}, 200),
            ("GET", "/v1/nope", None, {}, 404),
            ("POST", "/v1/tweets", b'{"text":"on one connection"}',
             {"Content-Type": "application/json",
              "Authorization": f"Bearer {u.token}"}, 201),
            ("POST", "/v1/tweets", b'{"text":', {"Content-Type": "application/json",
                                                 "Authorization": f"Bearer {u.token}"}, 400),
            ("GET", "/v1/feed", None, {}, 401),
            ("GET", f"/v1/users/{u.id}", None, {}, 200),
        ]
        for method, path, body, headers, status in sequence:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            r.read()
            assert r.status == status, (method, path, r.status)
    finally:
        conn.close()


def test_query_string_does_not_change_routing(api, make_user):
    u = make_user()
    assert api.get("/healthz?probe=1").status == 200
    r = api.get(f"/v1/users/{u.id}?fields=all")
    assert r.status == 200 and r.json["id"] == u.id, r
    assert_error(api.get("/v1/nope?x=1"), 404, "not_found")
    assert_error(api.request("PUT", "/v1/tweets?x=1"), 405, "method_not_allowed")
