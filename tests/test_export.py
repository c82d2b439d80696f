"""Export (layers/io/export.py, GET /api/v1/<layer>/export/, manage.py export_layer): formats,
CRSs in every file, aliases, roles and filters, refusals, and the round trip of every layer."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from layers.domain import registry
from layers.io import export, importer, mapping, safety
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

CRSS = [4326, 4490, 4549, 4528, 3857, "gcj02", "bd09"]
ROUND_TRIP_FORMATS = ["geojson", "gpkg", "shp", "csv", "xlsx", "kml"]
SHAPEFILE_TEXT = 254  # bytes a shapefile (dBase) text column holds


@pytest.fixture
def user(db):
    return make_user("t-io-editor", "editor", staff=True)


def snapshot(spec, obj) -> dict:
    """The importable attributes of a feature as an export writes them (links by natural key)."""
    values = {}
    for name in mapping.fields(spec):
        model_field = spec.model._meta.get_field(name)
        values[name] = export._value(obj, model_field, plain=False)
    return values


def metric(geom) -> shapely.Geometry:
    """A stored GEOS geometry (or a shapely one in lon/lat) in EPSG:4549 metres."""
    shape = geom if isinstance(geom, shapely.Geometry) else shapely.from_wkb(bytes(geom.wkb))
    to_gk = pyproj.Transformer.from_crs(4326, 4549, always_xy=True)
    return shapely.transform(shape, lambda c: np.column_stack(to_gk.transform(*c.T)))


def subset(spec, n: int = 6):
    """Up to n features whose texts fit a shapefile column (the one format that truncates)."""
    chosen = []
    for obj in spec.model.objects.order_by("pk")[:60]:
        texts = [v for v in snapshot(spec, obj).values() if isinstance(v, str)]
        if all(len(t.encode()) <= SHAPEFILE_TEXT for t in texts) and getattr(obj, spec.natural_key):
            chosen.append(obj.pk)
        if len(chosen) == n:
            break
    return spec.model.objects.filter(pk__in=chosen)


@pytest.mark.parametrize("spec", registry.LAYERS, ids=lambda s: s.slug)
@pytest.mark.slow
def test_round_trip_of_every_layer(tmp_path, user, spec):
    """Export, empty the table, import: geometries within 1 cm, attributes identical."""
    layer_index = registry.LAYERS.index(spec)
    queryset = subset(spec)
    before = {getattr(o, spec.natural_key): (snapshot(spec, o), o.geom) for o in queryset}
    assert len(before) >= 2
    table = spec.model._meta.db_table
    for i, fmt in enumerate(ROUND_TRIP_FORMATS):
        crs = 4326 if fmt == "kml" else CRSS[(i + layer_index) % len(CRSS)]
        path = export.write_export(spec.slug, queryset, fmt, str(crs), tmp_path / f"{fmt}-{crs}")
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f'TRUNCATE "{table}" CASCADE')
            assert not spec.model.all_objects.exists()
            with safety.prepared(path) as local:
                report = importer.run_import(spec.slug, local, user=user)
            assert not report.failed, (fmt, crs, report.lines())
            assert report.written == len(before)
            after = {getattr(o, spec.natural_key): o for o in spec.model.objects.all()}
            assert set(after) == set(before), (fmt, crs)
            for key, (values, geom) in before.items():
                assert snapshot(spec, after[key]) == values, (fmt, crs, key)
                distance = shapely.hausdorff_distance(metric(geom), metric(after[key].geom))
                assert distance <= 0.01, (fmt, crs, key, distance)
            transaction.set_rollback(True)


def test_dxf_carries_geometry_and_names(tmp_path):
    spec = registry.get("buildings")
    queryset = subset(spec, 4)
    path = export.write_export("buildings", queryset, "dxf", "4549", tmp_path / "b")
    report, _spec, table, _columns, geoms = importer.prepare("buildings", path)
    assert report.crs == "EPSG:4549" and not report.crs_guessed  # $PROJECTNAME
    expected = {o.name: o.geom for o in queryset}
    got = {row["name"]: geom for row, geom in zip(table.rows, geoms, strict=True)}
    assert set(got) == set(expected)
    for name, geom in expected.items():
        assert shapely.hausdorff_distance(metric(geom), metric(got[name])) <= 0.01


def test_what_each_format_carries(tmp_path):
    spec = registry.get("renovation-sites")
    queryset = subset(spec, 3)
    gpkg = export.write_export(spec.slug, queryset, "gpkg", "4549", tmp_path / "r")
    with sqlite3.connect(gpkg) as db:
        aliases = dict(db.execute("SELECT column_name, name FROM gpkg_data_columns").fetchall())
        srs = db.execute("SELECT srs_id FROM gpkg_contents").fetchone()[0]
    assert aliases["households_total"] == mapping.zh_label(spec, "households_total")
    assert srs == 4549
    shp = export.write_export(spec.slug, queryset, "shp", "gcj02", tmp_path / "r")
    with zipfile.ZipFile(shp) as archive:
        names = archive.namelist()
        prj = archive.read(f"{spec.slug}.prj").decode()
    assert {f"{spec.slug}.{ext}" for ext in ("shp", "shx", "dbf", "prj", "cpg")} <= set(names)
    assert "GCJ-02" in prj
    csv = export.write_export(spec.slug, queryset, "csv", "4528", tmp_path / "r", header="zh")
    frame = pd.read_csv(csv, dtype=str)
    assert "名称" in frame.columns and set(frame["crs"]) == {"EPSG:4528"}
    xlsx = export.write_export(spec.slug, queryset, "xlsx", "3857", tmp_path / "r", header="en")
    sheets = pd.read_excel(xlsx, sheet_name=None, dtype=str)
    assert "households total" in sheets[spec.slug].columns
    fields_sheet = sheets["字段 fields"]
    assert "EPSG:3857" in set(fields_sheet["English"])
    geojson = export.write_export(spec.slug, queryset, "geojson", "4549", tmp_path / "r")
    assert "EPSG::4549" in json.loads(geojson.read_text())["crs"]["properties"]["name"]
    for path in (gpkg, csv, xlsx, geojson):  # zh/en headers import back too
        report = importer.prepare(spec.slug, path)[0]
        assert not report.fatal and "households_total" in report.mapping.values()


def test_short_shapefile_names_are_unique_per_layer():
    for spec in registry.LAYERS:
        names = export.fields_of(spec)
        short = [mapping.short_name(n) for n in names]
        assert len(set(short)) == len(short) and all(len(s) <= 10 for s in short), spec.slug


def test_api_export_honours_filters_and_names_the_file(role_client):
    client = role_client("planner")
    listed = client.get("/api/v1/buildings/", {"use": "residential", "page_size": 1000}).json()
    response = client.get("/api/v1/buildings/export/", {"format": "geojson", "use": "residential"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="hehuachi-buildings-4326-')
    assert disposition.endswith('.geojson"')
    data = json.loads(response.content)
    assert len(data["features"]) == listed["count"] > 0
    assert {f["properties"]["use"] for f in data["features"]} == {"residential"}


@pytest.mark.parametrize("fmt", list(export.FORMATS))
def test_api_export_every_format(role_client, tmp_path, fmt):
    response = role_client("planner").get(
        "/api/v1/service-points/export/", {"format": fmt, "crs": "4326", "status": "open"}
    )
    assert response.status_code == 200, response.content[:300]
    suffix, content_type = export.FORMATS[fmt]
    assert response["Content-Type"] == content_type
    path = tmp_path / f"download{suffix}"
    path.write_bytes(response.content)
    with safety.prepared(path) as local:
        report, _spec, table, _c, _g = importer.prepare("service-points", local)
    assert not report.fatal and table.rows


def test_public_export_gets_public_fields_only(client):
    data = json.loads(client.get("/api/v1/viewpoints/export/", {"format": "geojson"}).content)
    spec = registry.get("viewpoints")
    assert set(data["features"][0]["properties"]) <= set(spec.public_fields)
    assert client.get("/api/v1/buildings/export/", {"format": "geojson"}).status_code == 401


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"format": "pdf"}, "format"),
        ({"format": ""}, "format"),
        ({"format": "csv", "crs": "4547"}, "crs"),
        ({"format": "csv", "crs": ""}, "crs"),
        ({"format": "csv", "crs": "+proj=longlat +datum=WGS84"}, "crs"),
        ({"format": "csv", "crs": "/vsicurl/http://example.invalid/x.prj"}, "crs"),
        ({"format": "kml", "crs": "4549"}, "crs"),
        ({"format": "csv", "header": "fr"}, "header"),
        ({"format": "csv", "page": "2"}, "page"),
        ({"format": "csv", "colour": "red"}, "colour"),
        ({"format": "csv", "use": "castle"}, "use"),
    ],
)
def test_api_export_refuses_bad_parameters(role_client, params, name):
    response = role_client("planner").get("/api/v1/buildings/export/", params)
    assert response.status_code == 400, response.content
    assert name in response.json()


def test_export_command(tmp_path):
    out = io.StringIO()
    target = tmp_path / "parks"
    args = ["export_layer", "pocket-parks", "gpkg", "--crs", "4549", "--out", str(target)]
    call_command(*args, stdout=out)
    assert "-> " in out.getvalue() and (tmp_path / "parks.gpkg").exists()
    info = pyogrio.read_info(tmp_path / "parks.gpkg")
    assert "4549" in info["crs"]
    with pytest.raises(CommandError, match="not overwritten"):
        call_command("export_layer", "pocket-parks", "gpkg", "--out", str(target))
    with pytest.raises(CommandError, match="crs"):
        call_command("export_layer", "pocket-parks", "kml", "--crs", "4549", "--out", "k")
    with pytest.raises(CommandError, match="--filter"):
        call_command("export_layer", "pocket-parks", "csv", "--filter", "nope=1", "--out", "c")
