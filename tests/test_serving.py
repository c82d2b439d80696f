"""The real server (gunicorn, geo_service/gunicorn.conf.py) as clients meet it: keep-alive."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow  # a gunicorn server process


@pytest.fixture
def connection(live_app):
    parts = urlsplit(live_app)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    yield conn
    conn.close()


def _sock_id(conn):
    return id(conn.sock)


def test_one_connection_serves_get_refused_post_and_get_again(connection):
    connection.request("GET", "/ogc/")
    first = connection.getresponse()
    assert first.status == 200
    assert first.getheader("Connection", "").lower() != "close"
    first.read()
    socket_before = _sock_id(connection)

    # A POST without the CSRF cookie is refused before Django reads its body: the server must
    # drain the unread body, or the next request on this connection would be parsed from it.
    body = b"username=nobody&password=" + b"x" * 20000
    connection.request(
        "POST",
        "/accounts/login/",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused = connection.getresponse()
    assert refused.status == 403
    refused.read()

    # An API write with a malformed body: 400 naming the problem, on the same connection.
    connection.request(
        "POST",
        "/api/v1/viewpoints/",
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    bad = connection.getresponse()
    assert bad.status == 401  # anonymous: refused before the body is parsed, never a 500
    bad.read()

    connection.request("GET", "/ogc/collections")
    again = connection.getresponse()
    assert again.status == 200
    assert b"viewpoints" in again.read()
    assert _sock_id(connection) == socket_before, "the server closed the keep-alive connection"


def test_server_is_gunicorn_with_debug_off(connection):
    connection.request("GET", "/no-such-page/")
    response = connection.getresponse()
    body = response.read()
    assert response.status == 404
    assert response.getheader("Server", "").startswith("gunicorn")
    assert b"URLconf" not in body  # DEBUG's technical 404 page would list the URL patterns


def test_compressed_json_keeps_the_connection_usable(connection):
    import gzip
    import json

    for _ in range(2):  # twice on the same connection: Content-Length must be exact
        connection.request("GET", "/ogc/collections", headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200
        assert response.getheader("Content-Encoding") == "gzip"
        assert int(response.getheader("Content-Length")) == len(body)
        assert "Accept-Encoding" in response.getheader("Vary")
        assert json.loads(gzip.decompress(body))["collections"]
    connection.request("GET", "/ogc/conformance")
    plain = connection.getresponse()
    assert plain.status == 200 and plain.getheader("Content-Encoding") is None
    assert json.loads(plain.read())["conformsTo"]
