"""Public media through the app (geo_service/middleware/media.py): cacheable, conditional,
confined to MEDIA_ROOT; private photos never through it."""

from __future__ import annotations

import os

import pytest
from django.test import override_settings

from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'


@pytest.fixture
def roots(tmp_path, settings):
    media = tmp_path / "media"
    private = tmp_path / "private-media"
    (media / "viewpoints").mkdir(parents=True)
    private.mkdir()
    (media / "viewpoints" / "VP-01.svg").write_bytes(SVG)
    (private / "hazards").mkdir()
    (private / "hazards" / "secret.jpg").write_bytes(b"\xff\xd8private")
    settings.MEDIA_ROOT = media
    settings.PRIVATE_MEDIA_ROOT = private
    return media, private


def test_a_public_file_is_served_with_caching_headers(client, roots, settings):
    response = client.get("/media/viewpoints/VP-01.svg")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SVG
    assert response["Content-Type"] == "image/svg+xml"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith("GMT")
    cache = {part.strip() for part in response["Cache-Control"].split(",")}
    assert cache == {"public", "max-age=86400"}  # a day unless MEDIA_CACHE_SECONDS says
    assert "Cookie" not in response.get("Vary", "")
    # An SVG opened on its own runs no script in the site's origin.
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_cache_time_is_a_setting(client, roots, settings):
    settings.MEDIA_CACHE_SECONDS = 60
    response = client.get("/media/viewpoints/VP-01.svg")
    assert response["Cache-Control"] in ("public, max-age=60", "max-age=60, public")


def test_a_signed_in_reader_gets_the_same_public_answer(client, roots):
    client.force_login(make_user("t-media-planner", "planner"))
    response = client.get("/media/viewpoints/VP-01.svg")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "private" not in response["Cache-Control"]


def test_conditional_requests_answer_304_until_the_file_changes(client, roots):
    media, _ = roots
    first = client.get("/media/viewpoints/VP-01.svg")
    etag, modified = first["ETag"], first["Last-Modified"]
    again = client.get("/media/viewpoints/VP-01.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again["ETag"] == etag and "public" in again["Cache-Control"]
    assert (
        client.get(
            "/media/viewpoints/VP-01.svg", headers={"If-Modified-Since": modified}
        ).status_code
        == 304
    )
    # The file is replaced: a new validator, the new bytes.
    path = media / "viewpoints" / "VP-01.svg"
    path.write_bytes(SVG + b"\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    changed = client.get("/media/viewpoints/VP-01.svg", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert b"".join(changed.streaming_content) == SVG + b"\n"


def test_head_answers_without_a_body_and_writes_are_refused(client, roots):
    head = client.head("/media/viewpoints/VP-01.svg")
    assert head.status_code == 200 and head["ETag"]
    # Only reads: a POST goes on to the URLconf, where no view takes it.
    assert client.post("/media/viewpoints/VP-01.svg").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/media/",
        "/media/viewpoints",  # a folder: no listing
        "/media/viewpoints/",
        "/media/viewpoints/missing.svg",
        "/media/../private-media/hazards/secret.jpg",
        "/media/%2e%2e/private-media/hazards/secret.jpg",
        "/media/viewpoints/..%2f..%2fprivate-media/hazards/secret.jpg",
        "/media/viewpoints//VP-01.svg",
        "/media/./viewpoints/VP-01.svg",
        "/media/.hidden",
        "/media/viewpoints\\VP-01.svg",
        "/media/viewpoints/VP-01.svg%00.png",
        "/media//etc/passwd",
    ],
)
def test_nothing_outside_the_public_files_is_served(client, roots, path):
    media, _ = roots
    (media / ".hidden").write_text("not for the public")
    response = client.get(path)
    assert response.status_code == 404, path


def test_a_symbolic_link_out_of_the_media_folder_is_not_followed(client, roots):
    media, private = roots
    (media / "viewpoints" / "link.jpg").symlink_to(private / "hazards" / "secret.jpg")
    (media / "private").symlink_to(private, target_is_directory=True)
    assert client.get("/media/viewpoints/link.jpg").status_code == 404
    assert client.get("/media/private/hazards/secret.jpg").status_code == 404


def test_private_media_placed_inside_the_media_folder_stays_private(client, roots, tmp_path):
    media, _ = roots
    inside = media / "private"
    (inside / "hazards").mkdir(parents=True)
    (inside / "hazards" / "secret.jpg").write_bytes(b"\xff\xd8private")
    with override_settings(PRIVATE_MEDIA_ROOT=inside):
        assert client.get("/media/private/hazards/secret.jpg").status_code == 404
        assert client.get("/media/viewpoints/VP-01.svg").status_code == 200


def test_the_photo_fields_follow_the_private_media_setting(settings, tmp_path):
    """The fields' storage reads PRIVATE_MEDIA_ROOT when used, not when the models were made."""
    from layers.domain.models import HazardPhoto, ReportPhoto

    settings.PRIVATE_MEDIA_ROOT = tmp_path
    for model in (HazardPhoto, ReportPhoto):
        for name in ("image", "thumbnail"):
            storage = model._meta.get_field(name).storage
            assert storage.path("a/b.jpg") == str(tmp_path / "a" / "b.jpg")
