"""Compression (geo_service/middleware/compression.py) of pages: public pages reach a caller
without credentials in gzip; a signed-in reader's pages, which may hold their secrets, never."""

from __future__ import annotations

import gzip

import pytest

pytestmark = pytest.mark.django_db

PUBLIC = ["/tour/", "/tour/stops/1/", "/report/", "/"]


@pytest.mark.parametrize("path", PUBLIC)
def test_a_public_page_is_gzipped_for_a_caller_without_credentials(client, path):
    plain = client.get(path)
    packed = client.get(path, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert plain.status_code == packed.status_code == 200
    assert plain.get("Content-Encoding") is None  # not asked for
    assert packed["Content-Encoding"] == "gzip"  # br is for data; pages get gzip's padding
    assert "Accept-Encoding" in packed["Vary"]
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 2
    page = gzip.decompress(packed.content)
    assert page.startswith(b"<!DOCTYPE html>") and b"</html>" in page


def test_the_gzip_header_of_a_page_is_padded_at_random(client):
    """Heal the Breach: a random file name in the gzip header makes the length of two answers
    of the same page differ, so a length tells less about the content."""
    lengths = {len(client.get("/report/", HTTP_ACCEPT_ENCODING="gzip").content) for _ in range(6)}
    assert len(lengths) > 1


def test_a_signed_in_readers_pages_are_not_compressed(editor_client):
    for path in ["/", "/tour/", "/accounts/tokens/"]:
        response = editor_client.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert response.get("Content-Encoding") is None, path


def test_a_page_asked_for_with_an_authorization_header_is_not_compressed(client):
    response = client.get(
        "/tour/", HTTP_ACCEPT_ENCODING="gzip", HTTP_AUTHORIZATION="Token not-a-real-one"
    )
    assert response.get("Content-Encoding") is None
