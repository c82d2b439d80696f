"""Derived links kept true: moving, deleting or restoring a boundary or a building through the
API, the admin or a load re-derives every dependent link in the same transaction, with history.

Each test checks (1) the links it expects to move, by name, (2) every live building's and
hazard's links against PostGIS's own answer (`expected_links`, written here independently of
layers.services.derived), and (3) versions and history: a row whose links changed has one more version and
one "derived" history record by the user who made the change; every other row is untouched.
"""

from __future__ import annotations

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

from layers.services import derived
from layers.domain import models
from layers.domain import registry
from layers.services.loading import upsert_features
from tests import factories as f
from tests.test_admin import _form_data, admin_url

pytestmark = pytest.mark.django_db

BUILDING_LINKS = ("community_id", "renovation_site_id")
HAZARD_LINKS = ("building_id", "grid_cell_id", "community_id")

# PostGIS's answer, stated without layers.services.derived: live targets only, min(id) where several
# qualify, a building by its point on surface, a hazard's community from its grid cell if that
# community is live, else from the community polygons.
EXPECTED_BUILDINGS = """
    SELECT b.id,
        (SELECT min(c.id) FROM layers_community c
         WHERE c.deleted_at IS NULL AND ST_Intersects(c.geom, ST_PointOnSurface(b.geom))),
        (SELECT min(s.id) FROM layers_renovationsite s
         WHERE s.deleted_at IS NULL AND ST_Intersects(s.geom, ST_PointOnSurface(b.geom)))
    FROM layers_building b WHERE b.deleted_at IS NULL
"""
EXPECTED_HAZARDS = """
    SELECT h.id,
        (SELECT min(b.id) FROM layers_building b
         WHERE b.deleted_at IS NULL AND ST_Intersects(b.geom, h.geom)),
        g.id,
        COALESCE(
            (SELECT c.id FROM layers_gridcell gg JOIN layers_community c ON c.id = gg.community_id
             WHERE gg.id = g.id AND c.deleted_at IS NULL),
            (SELECT min(c.id) FROM layers_community c
             WHERE c.deleted_at IS NULL AND ST_Intersects(c.geom, h.geom)))
    FROM layers_safetyhazard h
    CROSS JOIN LATERAL (
        SELECT min(g.id) AS id FROM layers_gridcell g
        WHERE g.deleted_at IS NULL AND ST_Intersects(g.geom, h.geom)) g
    WHERE h.deleted_at IS NULL
"""


def _rows(sql: str) -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {row[0]: tuple(row[1:]) for row in cursor.fetchall()}


def expected_links() -> dict[str, dict[int, tuple]]:
    return {"Building": _rows(EXPECTED_BUILDINGS), "SafetyHazard": _rows(EXPECTED_HAZARDS)}


def stored_links() -> dict[str, dict[int, tuple]]:
    return {
        "Building": {
            pk: tuple(rest)
            for pk, *rest in models.Building.objects.values_list("pk", *BUILDING_LINKS)
        },
        "SafetyHazard": {
            pk: tuple(rest)
            for pk, *rest in models.SafetyHazard.objects.values_list("pk", *HAZARD_LINKS)
        },
    }


def snapshot() -> dict:
    """Per live building and hazard: its links, version and number of history records."""
    out = {}
    for model, links in ((models.Building, BUILDING_LINKS), (models.SafetyHazard, HAZARD_LINKS)):
        counts = dict(
            model.history.model.objects.values("id")
            .annotate(n=Count("history_id"))
            .values_list("id", "n")
        )
        for pk, version, *rest in model.objects.values_list("pk", "version", *links):
            out[(model.__name__, pk)] = (dict(zip(links, rest, strict=True)), version, counts[pk])
    return out


def assert_links_follow(before: dict, user, expected_moves: dict, moved=None) -> None:
    """Every live link is PostGIS's answer; `expected_moves` ({(model, pk): {column: id}}) did
    move; rows whose links changed carry one more version and a "derived" history record by
    `user`; other rows (but `moved`, the feature the user edited) are untouched."""
    assert stored_links() == expected_links()
    after = snapshot()
    for key, links in expected_moves.items():
        for column, value in links.items():
            assert after[key][0][column] == value, (key, column)
            assert before[key][0][column] != value, f"{key} {column} was already {value}"
    for key, (links, version, history) in after.items():
        if key == moved or key not in before:
            continue
        old_links, old_version, old_history = before[key]
        if links == old_links:
            assert (version, history) == (old_version, old_history), key
            continue
        assert (version, history) == (old_version + 1, old_history + 1), key
        model = getattr(models, key[0])
        record = model.history.filter(id=key[1]).order_by("-history_date", "-history_id").first()
        assert record.history_change_reason == derived.DERIVED_REASON
        assert record.history_user_id == (user.pk if user else None)
        assert record.version == version
        assert {c: getattr(record, c) for c in links} == links
    for key in expected_moves:
        assert after[key][0] != before[key][0]


@pytest.fixture
def world(db):
    """A small old town in an empty corner (metres from factories.ORIGIN), boundaries overlapping
    so that the lowest id decides."""
    c1 = f.community("T-C1")  # 0..400 × 0..400
    c2 = models.Community.objects.create(
        code="T-C2", name="测试社区 2", status="active", geom=f.multi(f.rect(300, 0, 300, 400))
    )
    g1 = f.grid_cell(c1, "T-G1", dx=0, w=200)
    g2 = f.grid_cell(c2, "T-G2", dx=100, w=200)
    site = models.RenovationSite.objects.create(
        name="测试改造",
        kind="old_community",
        phase="5",
        status="preparation",
        geom=f.multi(f.rect(0, 0, 150, 150)),
    )

    def building(name, *rect):
        return models.Building.objects.create(
            name=name, use="residential", geom=f.multi(f.rect(*rect))
        )

    def hazard(name, x, y):
        return models.SafetyHazard.objects.create(
            name=name, category="ebike", level="general", geom=f.point(x, y)
        )

    w = {
        "c1": c1,
        "c2": c2,
        "g1": g1,
        "g2": g2,
        "site": site,
        "b1": building("甲", 340, 200, 20, 20),  # in C1 and C2: C1
        "b2": building("乙", 20, 20, 30, 30),  # in C1 and the site
        "b3": building("丙", 20, 220, 30, 30),  # in C1, no site
        "h1": hazard("一", 150, 300),  # in G1 and G2: G1 (so C1)
        "h2": hazard("二", 30, 30),  # in B2 and G1
        "h3": hazard("三", 350, 50),  # in no grid; in C1 and C2: C1
    }
    assert (w["b1"].community, w["h1"].grid_cell, w["h1"].community) == (c1, g1, c1)
    assert (w["b2"].renovation_site, w["h2"].building, w["h3"].community) == (site, w["b2"], c1)
    assert stored_links() == expected_links()
    return w


def _key(obj):
    return (type(obj).__name__, obj.pk)


# -- the two channels -------------------------------------------------------------------------
class Api:
    def __init__(self, user):
        self.client = APIClient()
        self.client.force_authenticate(user)

    def _url(self, obj, tail=""):
        return f"/api/v1/{registry.for_model(obj).slug}/{obj.pk}/{tail}"

    def move(self, obj, geom):
        obj.refresh_from_db()
        body = {"geometry": json.loads(geom.json)}
        response = self.client.patch(
            self._url(obj), body, format="json", HTTP_IF_MATCH=f'"{obj.version}"'
        )
        assert response.status_code == 200, response.content

    def delete(self, obj):
        obj.refresh_from_db()
        response = self.client.delete(self._url(obj), HTTP_IF_MATCH=f'"{obj.version}"')
        assert response.status_code == 204, response.content

    def restore(self, obj):
        obj = type(obj).all_objects.get(pk=obj.pk)
        response = self.client.post(self._url(obj, "restore/"), HTTP_IF_MATCH=f'"{obj.version}"')
        assert response.status_code == 200, response.content


def form_data(response) -> dict:
    """The change form's values as a browser posts them (date-times in two inputs)."""
    data = _form_data(response)
    for name, value in list(data.items()):
        if isinstance(value, datetime.datetime):
            local = timezone.localtime(value)
            del data[name]
            data[f"{name}_0"], data[f"{name}_1"] = (
                local.date().isoformat(),
                local.time().isoformat(),
            )
    return data


class Admin:
    def __init__(self, client, user):
        client.force_login(user)
        self.client = client

    def move(self, obj, geom):
        spec = registry.for_model(obj)
        url = admin_url(spec, "change", obj.pk)
        data = form_data(self.client.get(url))
        data["geom"] = f.multi(geom).ewkt
        response = self.client.post(url, data)
        assert response.status_code == 302, response.content.decode()[:3000]

    def delete(self, obj):
        spec = registry.for_model(obj)
        response = self.client.post(admin_url(spec, "delete", obj.pk), {"post": "yes"})
        assert response.status_code == 302

    def restore(self, obj):
        spec = registry.for_model(obj)
        response = self.client.post(
            admin_url(spec, "changelist") + "?deleted=yes",
            {"action": "restore_selected", "_selected_action": [obj.pk]},
        )
        assert response.status_code == 302


@pytest.fixture(params=["api", "admin"])
def channel(request, client, editor):
    return Api(editor) if request.param == "api" else Admin(client, editor)


# -- moves ------------------------------------------------------------------------------------
def test_moving_a_community_boundary_moves_buildings_and_hazards(world, channel, editor):
    w, before = world, snapshot()
    channel.move(w["c1"], f.rect(0, 0, 300, 400))  # C1 gives up 300..400: B1 and H3 go to C2
    assert_links_follow(
        before,
        editor,
        {_key(w["b1"]): {"community_id": w["c2"].pk}, _key(w["h3"]): {"community_id": w["c2"].pk}},
    )
    # A hazard in a grid cell keeps the grid cell's community.
    w["h1"].refresh_from_db()
    assert w["h1"].community == w["c1"]


def test_moving_a_grid_cell_moves_hazards_to_the_next_cell_and_its_community(
    world, channel, editor
):
    w, before = world, snapshot()
    channel.move(w["g1"], f.rect(0, 0, 100, 400))  # H1 (x=150) is now only in G2 (of C2)
    assert_links_follow(
        before,
        editor,
        {_key(w["h1"]): {"grid_cell_id": w["g2"].pk, "community_id": w["c2"].pk}},
    )
    w["h2"].refresh_from_db()
    assert w["h2"].grid_cell == w["g1"]


def test_moving_a_renovation_site_moves_its_buildings(world, channel, editor):
    w, before = world, snapshot()
    channel.move(w["site"], f.rect(0, 200, 150, 150))  # from B2 over to B3
    assert_links_follow(
        before,
        editor,
        {
            _key(w["b2"]): {"renovation_site_id": None},
            _key(w["b3"]): {"renovation_site_id": w["site"].pk},
        },
    )


def test_moving_a_building_moves_the_hazards_in_it(world, channel, editor):
    w, before = world, snapshot()
    channel.move(w["b2"], f.rect(140, 290, 20, 20))  # off H2, onto H1
    assert_links_follow(
        before,
        editor,
        {_key(w["h2"]): {"building_id": None}, _key(w["h1"]): {"building_id": w["b2"].pk}},
        moved=_key(w["b2"]),
    )
    w["b2"].refresh_from_db()  # its own links follow its geometry on save
    assert (w["b2"].community, w["b2"].renovation_site) == (w["c1"], None)
    assert w["b2"].history.first().history_change_reason is None  # the user's edit, not derived


def test_soft_deleting_and_restoring_a_community_relinks_everything(world, channel, editor):
    w, before = world, snapshot()
    channel.delete(w["c1"])
    assert_links_follow(
        before,
        editor,
        {
            _key(w["b1"]): {"community_id": w["c2"].pk},
            _key(w["b2"]): {"community_id": None},
            _key(w["b3"]): {"community_id": None},
            _key(w["h1"]): {"community_id": None},  # its grid's community is gone
            _key(w["h2"]): {"community_id": None},
            _key(w["h3"]): {"community_id": w["c2"].pk},
        },
    )
    deleted = snapshot()
    channel.restore(w["c1"])
    c1 = w["c1"].pk
    assert_links_follow(
        deleted,
        editor,
        {_key(w[k]): {"community_id": c1} for k in ("b1", "b2", "b3", "h1", "h2", "h3")},
    )
    assert {k: v[0] for k, v in snapshot().items()} == {k: v[0] for k, v in before.items()}


def test_soft_deleting_a_building_unlinks_its_hazards(world, channel, editor):
    w, before = world, snapshot()
    channel.delete(w["b2"])
    assert_links_follow(before, editor, {_key(w["h2"]): {"building_id": None}})


def test_changing_a_grid_cells_community_moves_its_hazards_community(world, editor):
    w, before = world, snapshot()
    api = Api(editor)
    w["g1"].refresh_from_db()
    response = api.client.patch(
        f"/api/v1/grid-cells/{w['g1'].pk}/",
        {"properties": {"community": w["c2"].pk}},
        format="json",
        HTTP_IF_MATCH=f'"{w["g1"].version}"',
    )
    assert response.status_code == 200, response.content
    assert_links_follow(
        before,
        editor,
        {_key(w["h1"]): {"community_id": w["c2"].pk}, _key(w["h2"]): {"community_id": w["c2"].pk}},
    )


def test_a_load_that_moves_a_boundary_relinks_its_dependents(world):
    w, before = world, snapshot()
    spec = registry.get("communities")
    feature = {
        "type": "Feature",
        "geometry": json.loads(f.multi(f.rect(0, 0, 300, 400)).json),
        "properties": {"code": "T-C1", "name": w["c1"].name, "status": "active"},
    }
    with derived.batch():
        result = upsert_features(spec, [feature], "test")
        assert models.Building.objects.get(pk=w["b1"].pk).community == w["c1"]  # not yet
    assert result.updated == 1
    assert_links_follow(before, None, {_key(w["b1"]): {"community_id": w["c2"].pk}})


def test_an_error_in_a_batch_propagates_nothing(world):
    before = snapshot()
    with pytest.raises(RuntimeError), derived.batch():
        w = world
        w["c1"].geom = f.multi(f.rect(0, 0, 300, 400))
        w["c1"].save()
        derived.changed(w["c1"])
        raise RuntimeError
    assert snapshot() == before


# -- versions: a derived change does not make an edit stale -----------------------------------
def test_an_edit_made_before_a_derived_change_is_applied_and_keeps_the_links(world, editor):
    w = world
    api = Api(editor)
    url = f"/api/v1/hazards/{w['h1'].pk}/"
    seen = api.client.get(url)["ETag"]
    api.move(w["g1"], f.rect(0, 0, 100, 400))  # H1 moves to G2 by derivation: version + 1
    w["h1"].refresh_from_db()
    assert f'"{w["h1"].version}"' != seen
    response = api.client.patch(
        url, {"properties": {"description": "补充"}}, format="json", HTTP_IF_MATCH=seen
    )
    assert response.status_code == 200, response.content
    w["h1"].refresh_from_db()
    assert (w["h1"].description, w["h1"].grid_cell, w["h1"].community) == (
        "补充",
        w["g2"],
        w["c2"],
    )
    assert response["ETag"] == f'"{w["h1"].version}"'
    history = api.client.get(url + "history/").json()["versions"]
    assert [v["type"] for v in history][-2:] == ["derived", "changed"]
    assert history[-2]["changed_fields"] == ["grid_cell", "community"]


def test_an_edit_made_before_a_derived_and_a_real_change_is_refused(world, editor):
    w = world
    api = Api(editor)
    url = f"/api/v1/hazards/{w['h1'].pk}/"
    seen = api.client.get(url)["ETag"]
    api.move(w["g1"], f.rect(0, 0, 100, 400))
    w["h1"].refresh_from_db()
    w["h1"].description = "someone else's change"
    w["h1"].save()
    response = api.client.patch(
        url, {"properties": {"description": "mine"}}, format="json", HTTP_IF_MATCH=seen
    )
    assert response.status_code == 412, response.content
    w["h1"].refresh_from_db()
    assert w["h1"].description == "someone else's change"


def test_an_admin_form_opened_before_a_derived_change_still_saves(world, client, editor):
    w = world
    admin = Admin(client, editor)
    spec = registry.get("hazards")
    url = admin_url(spec, "change", w["h1"].pk)
    data = form_data(client.get(url))
    Api(editor).move(w["g1"], f.rect(0, 0, 100, 400))
    data["description"] = "我的修改"
    response = admin.client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    w["h1"].refresh_from_db()
    assert (w["h1"].description, w["h1"].grid_cell) == ("我的修改", w["g2"])
    versions = list(w["h1"].history.order_by("history_date").values_list("version", flat=True))
    assert versions == sorted(set(versions))  # one record per version, none written twice


# -- the command ------------------------------------------------------------------------------
def test_refresh_derived_repairs_stale_links_and_reports_them(world):
    w = world
    with connection.cursor() as cursor:  # links gone stale behind the service's back
        cursor.execute(
            "UPDATE layers_building SET community_id = %s WHERE id = %s", [w["c2"].pk, w["b2"].pk]
        )
        cursor.execute(
            "UPDATE layers_safetyhazard SET grid_cell_id = NULL WHERE id = %s", [w["h1"].pk]
        )
    stale = stored_links()
    assert stale != expected_links()

    out = StringIO()
    call_command("refresh_derived", "--dry-run", "-v2", stdout=out)
    text = out.getvalue()
    assert stored_links() == stale  # the dry run saved nothing
    assert "changed      1  (community 1, renovation_site 0)" in text
    assert "changed      1  (building 0, grid_cell 1, community 0)" in text
    assert f"buildings #{w['b2'].pk} -: community {w['c2'].pk} -> {w['c1'].pk}" in text
    assert f"hazards #{w['h1'].pk} -: grid_cell None -> {w['g1'].pk}" in text
    assert "nothing was saved" in text

    out = StringIO()
    call_command("refresh_derived", stdout=out)
    assert stored_links() == expected_links()
    assert "2 rows re-derived." in out.getvalue()
    record = models.Building.history.filter(id=w["b2"].pk).order_by("-history_id").first()
    assert record.history_change_reason == "derived" and record.history_user is None

    out = StringIO()
    call_command("refresh_derived", stdout=out)
    assert "0 rows re-derived." in out.getvalue()


def test_the_sample_data_links_are_postgis_answer():
    assert stored_links() == expected_links()
    report = derived.refresh_all()
    assert report.checked["Building"] == models.Building.objects.count() > 1000
    assert report.changed("Building") == report.changed("SafetyHazard") == 0


def test_a_patch_with_only_a_geometry_moves_the_feature(world, editor):
    """drf-gis ignores "geometry" without "properties"; the API must not answer 200 unmoved."""
    c1 = world["c1"]
    Api(editor).move(c1, f.rect(0, 0, 300, 400))
    c1.refresh_from_db()
    assert c1.geom.equals_exact(f.multi(f.rect(0, 0, 300, 400)), tolerance=1e-9)
