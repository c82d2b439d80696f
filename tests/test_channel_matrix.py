"""The channel matrix: for the public, an account with no role, an inspector, a grid worker,
a planner and an editor, over every channel, nobody reads or changes what their role may not.

Generated from the registry (every layer), the URLconf (an `export` or `queryables` route is
checked as soon as it exists) and the page declarations (layers/channels/portal/nav.py): a new
layer, page or endpoint is covered without editing this test. Expectations come from the access
rules (layers/query/access.py), never from a copy of them here.
"""

from __future__ import annotations

import io
import json
import math

import pytest
from django.contrib.auth import get_user_model
from django.urls import Resolver404, resolve

from layers.channels.portal import nav
from layers.domain import registry
from layers.query import access
from tests.conftest import make_user

ROLES = ["anonymous", "no-role", "inspector", "grid-worker", "planner", "editor"]
SAMPLE_USERS = {
    "inspector": "demo-inspector",
    "grid-worker": "grid-01",
    "planner": "demo-planner",
    "editor": "demo-editor",
}
DENIED = (401, 403, 404)


def _user(role):
    from django.contrib.auth.models import AnonymousUser

    if role == "anonymous":
        return AnonymousUser()
    if role == "no-role":
        return make_user("t-matrix-nobody", None)
    return get_user_model().objects.get(username=SAMPLE_USERS[role])


def _exists(path: str) -> bool:
    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


def _tile_of(spec):
    obj = spec.model.objects.order_by("pk").first()
    point = obj.geom.point_on_surface if obj.geom.geom_type != "Point" else obj.geom
    z = max(spec.min_zoom, 15)
    x = int((point.x + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(point.y))) / math.pi) / 2 * 2**z)
    return z, x, y


@pytest.fixture
def hazard_photo(db):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from layers.services import photos

    hazard = registry.get("hazards").model.objects.order_by("pk").first()
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buffer, "JPEG")
    upload = SimpleUploadedFile("m.jpg", buffer.getvalue(), "image/jpeg")
    stored = photos.store(hazard, upload, get_user_model().objects.get(username="demo-inspector"))
    return stored[0] if isinstance(stored, tuple) else stored


@pytest.mark.slow  # every channel and page per role: 8-14 s each
@pytest.mark.parametrize("role", ROLES)
def test_channel_matrix(client, db, role, hazard_photo):
    user = _user(role)
    if user.is_authenticated:
        client.force_login(user)
    problems: list[str] = []

    def expect(path, ok: bool, *, ok_codes=(200,), method="get", **kwargs):
        response = getattr(client, method)(path, **kwargs)
        allowed = ok_codes if ok else DENIED
        if response.status_code not in allowed:
            problems.append(f"{method.upper()} {path}: {response.status_code}, want {allowed}")
        return response

    readable = {s.slug for s in access.readable_layers(user)}
    staff = access.is_staff_reader(user)
    for spec in registry.LAYERS:
        slug, may_read = spec.slug, spec.slug in readable
        may_edit = access.can_edit(user, spec)
        pk = spec.model.objects.order_by("pk").values_list("pk", flat=True).first()
        fields = set(access.output_fields(user, spec))
        # REST
        listed = expect(f"/api/v1/{slug}/", may_read)
        detail = expect(f"/api/v1/{slug}/{pk}/", may_read)
        if may_read and detail.status_code == 200:
            shown = set(json.loads(detail.content)["properties"])
            if not shown <= fields | {"id", *(spec.computed_labels)}:
                problems.append(f"{slug} detail shows {sorted(shown - fields)}")
            if not staff and listed.status_code == 200:
                for feature in json.loads(listed.content)["features"]:
                    if set(feature["properties"]) - fields:
                        problems.append(f"{slug} list shows hidden fields")
                        break
        expect(f"/api/v1/{slug}/{pk}/history/", may_read and staff)
        centre = spec.model.objects.order_by("pk").first().geom.centroid
        expect(f"/api/v1/{slug}/nearest/?lon={centre.x}&lat={centre.y}", may_read)
        # Writes: a role without the edit right is refused before the body is even read.
        expect(
            f"/api/v1/{slug}/",
            may_edit,
            ok_codes=(400, 403),
            method="post",
            data="{}",
            content_type="application/json",
        )
        if not may_edit:
            response = client.patch(f"/api/v1/{slug}/{pk}/", "{}", content_type="application/json")
            if response.status_code not in DENIED:
                problems.append(f"PATCH {slug}/{pk} by {role}: {response.status_code}")
        for extra in ("export", "queryables"):
            for path in (f"/api/v1/{slug}/{extra}/", f"/ogc/collections/{slug}/{extra}"):
                if _exists(path):
                    expect(path, may_read)
        # OGC API
        expect(f"/ogc/collections/{slug}", may_read)
        expect(f"/ogc/collections/{slug}/items", may_read)
        expect(f"/ogc/collections/{slug}/items/{pk}", may_read)
        # Tiles
        expect(f"/tiles/{slug}.json", may_read)
        z, x, y = _tile_of(spec)
        expect(f"/tiles/{slug}/{z}/{x}/{y}.pbf", may_read, ok_codes=(200, 204))
        expect(f"/tiles/multi/{z}/{x}/{y}.pbf?layers={slug}", may_read, ok_codes=(200, 204))

    # What lists layers lists exactly the readable ones.
    hidden = {s.slug for s in registry.LAYERS} - readable
    collections = json.loads(client.get("/ogc/collections").content)["collections"]
    if {c["id"] for c in collections} != readable:
        problems.append(f"OGC collections {sorted(c['id'] for c in collections)}")
    index = json.loads(client.get("/api/v1/layers/").content)["layers"]
    if {entry["slug"] for entry in index} != readable:
        problems.append("layer index differs from the readable layers")
    stats = json.loads(client.get("/api/v1/stats/").content)
    if set(stats["layers"]) != readable or (hidden & {"hazards"} and "hazards" in stats):
        problems.append(f"stats show {sorted(stats['layers'])}")
    ogc_doc = client.get("/ogc/api").content.decode()
    api_doc = client.get(
        "/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"
    ).content.decode()
    for slug in hidden:
        if f"/collections/{slug}/" in ogc_doc or f'"/api/v1/{slug}/' in api_doc:
            problems.append(f"{slug} described to {role}")
    expect("/ogc/", True)

    # Pages, the tour, photos, the admin.
    for destination in nav.DESTINATIONS:
        response = client.get(destination.url)
        if destination.allows(user):
            if response.status_code != 200:
                problems.append(f"page {destination.url}: {response.status_code}")
        elif response.status_code == 200:
            # A page may be open by design when what it shows is per caller (the API docs
            # load the caller's own document): then it names no hidden layer.
            text = response.content.decode()
            named = [
                s.slug
                for s in registry.LAYERS
                if s.slug in hidden and (f"/{s.slug}/" in text or s.title_zh in text)
            ]
            if named:
                problems.append(f"page {destination.url} shows {named} to {role}")
        elif response.status_code not in (302, 403):
            problems.append(f"page {destination.url} open to {role}: {response.status_code}")
    expect("/tour/", True)
    hazards_readable = "hazards" in readable and staff
    for size in ("thumb", "full"):
        expect(f"/hazard-photos/{hazard_photo.pk}/{size}.jpg", hazards_readable)
    admin = client.get("/admin/")
    is_editor = user.is_authenticated and user.is_staff
    if (admin.status_code == 200) != is_editor:
        problems.append(f"admin: {admin.status_code}")
    assert problems == [], "\n".join(problems)
