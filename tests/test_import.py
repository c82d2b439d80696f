"""Import (layers/io/importer.py, manage.py import_layer): every format and CRS in, every kind
of bad row, atomicity, upsert, mapping, history and derived links. Real PostGIS."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyproj
import pytest
import shapely
from django.core.management import CommandError, call_command

from layers.geo import gcj02
from layers.domain import models
from layers.io import importer
from tests import io_files as f
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SP = models.ServicePoint


@pytest.fixture
def user(db):
    return make_user("t-io-editor", "editor", staff=True)


def imported(prefix: str = "IO"):
    return SP.objects.filter(ref__startswith=f"{prefix}-").order_by("ref")


def metres_apart(a, b) -> float:
    """Distance in metres between two lon/lat GEOS/shapely points, measured in EPSG:4549."""
    to_gk = pyproj.Transformer.from_crs(4326, 4549, always_xy=True)
    ax, ay = to_gk.transform(a.x, a.y)
    bx, by = to_gk.transform(b.x, b.y)
    return ((ax - bx) ** 2 + (ay - by) ** 2) ** 0.5


def test_geojson_import_writes_rows_with_history_and_derived_links(tmp_path, user):
    grid = models.GridCell.objects.order_by("pk").first()
    inside = grid.geom.point_on_surface
    rows = f.service_rows(3)
    geoms = [shapely.Point(inside.x, inside.y), *f.points(2)]
    path = f.write(f.frame(rows, geoms), tmp_path / "sp.geojson")
    calls = []
    report = importer.run_import(
        "service-points", path, user=user, progress=lambda **k: calls.append(k)
    )
    assert not report.failed, report.lines()
    assert (report.rows_read, report.written, report.created, report.refused) == (3, 3, 3, 0)
    assert report.crs == "EPSG:4326" and not report.crs_guessed
    assert report.mapping == {c: c for c in ("ref", "name", "kind", "services", "status", "phone")}
    first = imported().first()
    assert first.services == ["consultation", "matters"]  # 、-separated list read as a list
    assert first.grid_cell_id == grid.pk  # derived from the geometry
    assert first.history.count() == 1 and first.history.first().history_user == user
    assert first.created_by == user
    assert calls[-1] == {"read": 3, "written": 3, "refused": 0, "total": 3}


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".zip", ".kml"])
def test_every_vector_format(tmp_path, user, suffix):
    path = f.write(f.frame(f.service_rows(4), f.points(4)), tmp_path / f"sp{suffix}")
    from layers.io import safety

    with safety.prepared(path) as local:
        report = importer.run_import("service-points", local, user=user)
    assert report.written == 4 and not report.failed, report.lines()
    for obj, expected in zip(imported(), f.points(4), strict=True):
        assert metres_apart(obj.geom, expected) < 0.01
        assert obj.kind == "grid_station" and obj.name.startswith("导入服务点")


@pytest.mark.parametrize("kind", ["lonlat", "wkt", "xlsx"])
def test_spreadsheets(tmp_path, user, kind):
    rows = f.service_rows(3)
    geoms = f.points(3)
    header = ["编号", "名称", "kind", "status"]
    values = [[r["ref"], r["name"], r["kind"], r["status"]] for r in rows]
    if kind == "wkt":
        table = [[*v, g.wkt] for v, g in zip(values, geoms, strict=True)]
        path = f.csv(tmp_path / "sp.csv", [*header, "WKT"], table)
    else:
        table = [[*v, g.x, g.y] for v, g in zip(values, geoms, strict=True)]
        if kind == "xlsx":
            path = tmp_path / "sp.xlsx"
            pd.DataFrame(table, columns=[*header, "经度", "纬度"]).to_excel(path, index=False)
        else:
            path = f.csv(tmp_path / "sp.csv", [*header, "lon", "lat"], table)
    report = importer.run_import("service-points", path, user=user)
    assert report.written == 3 and not report.failed, report.lines()
    assert report.mapping["编号"] == "ref" and report.mapping["名称"] == "name"  # zh labels
    assert report.crs_guessed and report.crs == "EPSG:4326"
    assert [o.ref for o in imported()] == [r["ref"] for r in rows]


@pytest.mark.parametrize("key", [4326, 4490, 4549, 4528, 3857, "gcj02", "bd09"])
def test_every_crs_given(tmp_path, user, key):
    geoms = f.points(3)
    converted = f.io_crs.from_storage(geoms, key)
    pairs = zip(f.service_rows(3), converted, strict=True)
    rows = [[r["ref"], r["name"], "grid_station", g.x, g.y] for r, g in pairs]
    path = f.csv(tmp_path / "sp.csv", ["ref", "name", "kind", "x", "y"], rows)
    report = importer.run_import("service-points", path, user=user, crs=str(key))
    assert report.written == 3, report.lines()
    for obj, expected in zip(imported(), geoms, strict=True):
        assert metres_apart(obj.geom, expected) < 0.01


def test_gcj02_coordinates_from_amap_land_500_m_back(tmp_path, user):
    point = f.points(1)[0]
    shifted = gcj02.wgs84_to_gcj02(point.x, point.y)
    path = f.csv(
        tmp_path / "amap.csv",
        ["name", "kind", "lon", "lat"],
        [["高德点", "grid_station", *shifted]],
    )
    report = importer.run_import("service-points", path, user=user, crs="GCJ-02")
    assert report.written == 1, report.lines()
    stored = SP.objects.get(name="高德点").geom
    assert metres_apart(stored, point) < 0.01
    assert metres_apart(stored, shapely.Point(*shifted)) > 400


def test_a_4549_shapefile_lands_where_the_lon_lat_data_lands(tmp_path, user):
    from layers.io import safety

    geoms = f.points(5, step=0.0007)
    f.write(f.frame(f.service_rows(5, "LL"), geoms), tmp_path / "ll.geojson")
    f.write(f.frame(f.service_rows(5, "GK"), geoms, key=4549), tmp_path / "gk.zip")
    assert importer.run_import("service-points", tmp_path / "ll.geojson", user=user).written == 5
    with safety.prepared(tmp_path / "gk.zip") as local:
        report = importer.run_import("service-points", local, user=user)
    assert report.crs == "EPSG:4549" and report.written == 5, report.lines()
    for a, b in zip(imported("LL"), imported("GK"), strict=True):
        assert metres_apart(a.geom, b.geom) <= 0.01


@pytest.mark.parametrize(("key", "reason"), [(4549, "CM 120E"), (4528, "zone prefix 40")])
def test_crs_guessed_from_eastings(tmp_path, user, key, reason):
    from layers.io import safety

    path = f.write(f.frame(f.service_rows(2), f.points(2), key=key), tmp_path / "s.zip", prj=False)
    with safety.prepared(path) as local:
        report = importer.run_import("service-points", local, user=user)
    assert report.crs_guessed and report.crs == f"EPSG:{key}" and reason in report.crs_reason
    assert report.written == 2
    assert "guessed" in "\n".join(report.lines())


def test_a_guess_outside_the_service_area_is_refused(tmp_path, user):
    path = f.csv(
        tmp_path / "far.csv",
        ["name", "kind", "lon", "lat"],
        [["北京", "grid_station", 116.4, 39.9]],
    )
    report = importer.run_import("service-points", path, user=user)
    assert report.fatal and "outside the service area" in report.fatal
    assert report.written == 0 and not SP.objects.filter(name="北京").exists()


def bad_rows_file(tmp_path):
    good = [["IO-000", "好", "grid_station", "open", "", "", "POINT (119.963 31.793)"]]
    bad = [
        ["IO-001", "词表", "no_such_kind", "open", "", "", "POINT (119.9632 31.793)"],
        ["IO-002", "状态", "grid_station", "closed_forever", "", "", "POINT (119.9634 31.793)"],
        ["IO-003", "范围外", "grid_station", "open", "", "", "POINT (121.5 31.2)"],
        ["IO-004", "", "grid_station", "open", "", "", "POINT (119.9636 31.793)"],
        ["IO-005", "坏几何", "grid_station", "open", "", "", "POINT (nonsense)"],
        ["IO-000", "重复", "grid_station", "open", "", "", "POINT (119.9638 31.793)"],
        ["IO-007", "清单", "grid_station", "open", "no_such_service", "", "POINT (119.964 31.793)"],
        ["IO-008", "类型", "grid_station", "open", "", "", "LINESTRING (119.963 31.793, 119.9 31)"],
        ["IO-009", "过长", "grid_station", "open", "", "x" * 300, "POINT (119.9642 31.793)"],
    ]  # fmt: skip
    header = ["ref", "name", "kind", "status", "services", "phone", "wkt"]
    return f.csv(tmp_path / "bad.csv", header, good + bad)


def test_each_kind_of_bad_row_is_reported_and_nothing_is_written(tmp_path, user):
    report = importer.run_import("service-points", bad_rows_file(tmp_path), user=user, crs="4326")
    assert report.failed and report.written == 0 and report.refused == 9
    by_row = {row: (name, reason) for row, name, reason in report.errors}
    assert by_row[2][0] == "kind"
    assert by_row[3][0] == "status"
    assert by_row[4][0] == "geom" and "服务范围" in by_row[4][1]
    assert by_row[5][0] == "name"
    assert by_row[6][0] == "geom" and "WKT" in by_row[6][1]
    assert by_row[7][0] in ("ref", "__all__", "non_field_errors")  # unique ref
    assert by_row[8][0] == "services"
    assert by_row[9][0] == "geom"
    assert by_row[10][0] == "phone"
    assert not imported().exists()  # not even the good first row


def test_coordinates_outside_the_crs_area_are_a_bad_row_not_a_crash(tmp_path, user):
    rows = [["好点", "grid_station", 119.963, 31.793], ["坏点", "grid_station", 1e300, 31.793],
            ["也坏", "grid_station", 500, 31.793]]  # fmt: skip
    path = f.csv(tmp_path / "far.csv", ["name", "kind", "lon", "lat"], rows)
    report = importer.run_import("service-points", path, user=user, crs="4326")
    assert [(row, name) for row, name, _ in report.errors] == [(2, "geom"), (3, "geom")]
    assert "area of use" in report.errors[0][2] and report.written == 0
    gk = importer.run_import("service-points", path, user=user, crs="4549", dry_run=True)
    assert {row for row, _name, _reason in gk.errors} == {1, 2, 3}  # degrees are not metres


def test_skip_invalid_writes_the_good_rows(tmp_path, user):
    report = importer.run_import(
        "service-points", bad_rows_file(tmp_path), user=user, crs="4326", skip_invalid=True
    )
    assert report.written == 1 and report.refused == 9
    assert [o.ref for o in imported()] == ["IO-000"]


def test_a_bad_last_row_leaves_nothing_written(tmp_path, user):
    rows = f.service_rows(20)
    rows[-1]["kind"] = "not_a_kind"
    path = f.write(f.frame(rows, f.points(20)), tmp_path / "sp.geojson")
    report = importer.run_import("service-points", path, user=user)
    assert report.errors == [(20, "kind", report.errors[0][2])]
    assert report.written == 0 and not imported().exists()
    assert not models.ServicePoint.history.filter(ref__startswith="IO-").exists()


def test_dry_run_writes_nothing(tmp_path, user):
    path = f.write(f.frame(f.service_rows(3), f.points(3)), tmp_path / "sp.geojson")
    report = importer.run_import("service-points", path, user=user, dry_run=True)
    assert report.written == 3 and not imported().exists()
    assert "dry run" in "\n".join(report.lines())


def test_upsert_updates_by_key_and_creates_the_rest(tmp_path, user):
    existing = SP.objects.order_by("pk").first()
    version = existing.version
    rows = [{"ref": existing.ref, "name": "改名了"}, *f.service_rows(1)]
    geoms = [shapely.Point(existing.geom.x, existing.geom.y), *f.points(1)]
    path = f.write(f.frame(rows, geoms), tmp_path / "up.geojson")
    report = importer.run_import("service-points", path, user=user, mode="upsert", key="ref")
    assert (report.created, report.updated) == (1, 1), report.lines()
    existing.refresh_from_db()
    assert existing.name == "改名了" and existing.version == version + 1
    assert existing.history.first().history_user == user
    bad = importer.run_import("service-points", path, user=user, mode="upsert", key="nope")
    assert bad.fatal.startswith("key:")


def test_mapping_file_json_and_yaml(tmp_path, user):
    table = [["站点甲", "grid_station", "X", 119.963, 31.793]]
    path = f.csv(tmp_path / "m.csv", ["站点", "类别", "备注", "lon", "lat"], table)
    (tmp_path / "m.json").write_text(json.dumps({"站点": "name", "类别": "kind", "备注": None}))
    (tmp_path / "m.yaml").write_text("站点: name\n类别: kind\n", encoding="utf-8")
    given = tmp_path / "m.json"
    report = importer.run_import("service-points", path, user=user, mapping=given, dry_run=True)
    assert report.mapping == {"站点": "name", "类别": "kind"} and report.ignored_columns == ["备注"]
    assert report.written == 1
    report = importer.run_import("service-points", path, user=user, mapping=tmp_path / "m.yaml")
    assert report.written == 1 and SP.objects.filter(name="站点甲").exists()
    (tmp_path / "bad.json").write_text(json.dumps({"站点": "grid_cell"}))
    report = importer.run_import("service-points", path, user=user, mapping=tmp_path / "bad.json")
    assert "not an importable field" in report.fatal


def test_derived_and_lifecycle_fields_cannot_be_imported(tmp_path, user):
    rows = [{"name": "隐患", "category": "fire_equipment", "level": "general", "status": "closed",
             "grid_cell": "G-01"}]  # fmt: skip
    path = f.write(f.frame(rows, f.points(1)), tmp_path / "hz.geojson")
    assert importer.run_import("hazards", path).fatal.startswith("user:")
    report = importer.run_import("hazards", path, user=user)
    assert report.written == 1, report.lines()
    assert set(report.ignored_columns) == {"status", "grid_cell"}
    hazard = models.SafetyHazard.objects.get(name="隐患")
    assert hazard.status == "found" and hazard.reporter == user  # the lifecycle's server values
    assert hazard.events.filter(action="found").exists()  # the timeline starts


def test_foreign_keys_by_natural_key(tmp_path, user):
    community = models.Community.objects.order_by("pk").first()
    rows = [{"code": "T-IO-G", "name": "导入网格", "community": community.code},
            {"code": "T-IO-H", "name": "坏网格", "community": "NO-SUCH"}]  # fmt: skip
    poly = shapely.box(119.963, 31.793, 119.964, 31.794)
    path = f.write(f.frame(rows, [poly, poly]), tmp_path / "g.geojson")
    report = importer.run_import("grid-cells", path, user=user, skip_invalid=True)
    assert report.errors == [(2, "community", "no communities with code 'NO-SUCH'")]
    assert models.GridCell.objects.get(code="T-IO-G").community == community


def test_dxf_layer_and_text_labels(tmp_path, user):
    import ezdxf

    doc = ezdxf.new("R2010")
    space = doc.modelspace()
    to_gk = pyproj.Transformer.from_crs(4326, 4549, always_xy=True)
    squares = []
    for i in range(2):
        x, y = to_gk.transform(119.963 + i * 0.001, 31.793)
        ring = [(x, y), (x + 30, y), (x + 30, y + 20), (x, y + 20)]
        space.add_lwpolyline(ring, close=True, dxfattribs={"layer": "JZ"})
        space.add_text(f"测绘楼{i}", dxfattribs={"layer": "JZ", "insert": (x + 10, y + 10)})
        squares.append(shapely.Polygon(ring))
    space.add_line((0, 0), (1, 1), dxfattribs={"layer": "DIM"})
    doc.saveas(tmp_path / "survey.dxf")
    refused = importer.run_import("buildings", tmp_path / "survey.dxf", user=user)
    assert "choose the CAD layer" in refused.fatal and "JZ" in refused.fatal
    mapping = {"name": "name"}
    report = importer.run_import(
        "buildings", tmp_path / "survey.dxf", user=user, cad_layer="JZ", mapping=mapping,
        dry_run=True,
    )  # fmt: skip
    assert report.crs == "EPSG:4549" and report.crs_guessed
    assert report.rows_read == 2 and report.errors and report.errors[0][1] == "use"
    rows = importer.prepare("buildings", tmp_path / "survey.dxf", cad_layer="JZ")[2].rows
    assert [r["name"] for r in rows] == ["测绘楼0", "测绘楼1"]


def test_command_fails_with_the_report_and_prints_progress(tmp_path, user):
    path = bad_rows_file(tmp_path)
    with pytest.raises(CommandError) as failed:
        call_command(
            "import_layer", "service-points", str(path), "--crs", "4326", "--user", user.username
        )
    assert "row 2: kind" in str(failed.value) and "nothing written" in str(failed.value)
    good = f.write(f.frame(f.service_rows(2), f.points(2)), tmp_path / "ok.geojson")
    out = io.StringIO()
    call_command("import_layer", "service-points", str(good), "--user", user.username, stdout=out)
    text = out.getvalue()
    assert "read 2/2 written 2 refused 0" in text  # plain progress lines when not a terminal
    assert "rows read 2, written 2" in text and imported().count() == 2
    with pytest.raises(CommandError, match="--user"):
        call_command("import_layer", "service-points", str(good), "--user", "nobody")
    with pytest.raises(CommandError, match="virtual paths"):
        call_command("import_layer", "service-points", "/vsicurl/http://example.invalid/a.txt")
    with pytest.raises(CommandError, match="not accepted"):
        call_command("import_layer", "service-points", str(tmp_path / "notes.txt"))
