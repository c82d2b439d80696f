"""Desktop GIS clients against a real server process (live_app): QGIS's OAPIF provider
(Debian's python3-qgis, headless), GDAL's OAPIF and WFS drivers, and OWSLib; the planner signs
in with HTTP Basic (the sample users' password, hashed with the production hasher)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from layers.domain import models, registry
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.gis]
PUBLIC = [s.slug for s in registry.LAYERS if s.is_public]
PLANNER = "demo-planner"
QGIS_SCRIPT = Path(__file__).parent / "clients" / "qgis_oapif.py"


def ogr(*args, userpwd: str | None = None) -> str:
    command = [*args]
    if userpwd:
        command[1:1] = ["--config", "GDAL_HTTP_USERPWD", userpwd]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def counts(output: str) -> dict[str, int]:
    found, layer = {}, None
    for line in output.splitlines():
        if line.startswith("Layer name: "):
            layer = line.split(": ", 1)[1].strip().removeprefix("app:")
        elif line.startswith("Feature Count: ") and layer:
            found[layer] = int(line.split(": ", 1)[1])
    return found


def test_qgis_oapif_provider_reads_filters_and_edits(live_app, tmp_path):
    python = "/usr/bin/python3"
    probe = subprocess.run([python, "-c", "import qgis.core"], capture_output=True)
    assert probe.returncode == 0, "python3-qgis is missing: make test installs it (TEST_DEBS)"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "HOME": str(tmp_path),  # QGIS's profile and auth database, new for this run
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [python, str(QGIS_SCRIPT), live_app, PLANNER, PASSWORD],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # Anonymous: the public layer opens from the README's URL (no trailing slash)…
    assert out["anonymous_viewpoints"] == [True, models.CulturalViewpoint.objects.count()]
    # …an internal one does not exist for the public.
    assert out["anonymous_buildings_valid"] is False
    # The planner's account opens the internal buildings layer, every feature.
    assert out["planner_buildings"] == [True, models.Building.objects.count()]
    assert "floors" in out["fields"] and "password" not in out["fields"]
    floors = models.Building.objects.filter(floors__gt=5).count()
    assert out["filtered"] == out["server_filtered"] == floors
    # Part 4 through QGIS's network stack and auth config: PUT with If-Match, then stale → 412.
    assert out["put_status"] == 200 and out["stale_status"] == 412
    assert out["edited_names"] == [out["edited_name_expected"]]
    assert out["restore_status"] == 200
    viewpoint = models.CulturalViewpoint.objects.get(pk=out["feature_id"])
    assert viewpoint.opening_hours != "QGIS 09:00-17:00"  # put back as it was
    assert viewpoint.history.filter(history_user__username=PLANNER).count() == 2


def test_gdal_oapif_and_wfs_with_the_planners_account(live_app):
    everything = {s.slug: s.model.objects.count() for s in registry.LAYERS}
    public = {slug: everything[slug] for slug in PUBLIC}
    userpwd = f"{PLANNER}:{PASSWORD}"
    oapif = f"OAPIF:{live_app}/ogc"
    assert counts(ogr("ogrinfo", "-ro", "-so", "-al", oapif)) == public
    assert counts(ogr("ogrinfo", "-ro", "-so", "-al", oapif, userpwd=userpwd)) == everything
    wfs = f"WFS:{live_app}/wfs/"
    assert counts(ogr("ogrinfo", "-ro", "-so", "-al", wfs)) == public
    wfs_planner = counts(ogr("ogrinfo", "-ro", "-so", "-al", wfs, userpwd=userpwd))
    assert wfs_planner == everything
    # A property filter and a bbox through the WFS driver (translated to FES by GDAL).
    # GDAL sends the property filter to the server as FES and applies -spat to what comes back.
    filtered = ogr(
        "ogrinfo",
        "-ro",
        wfs,
        "buildings",
        "-where",
        "floors > 5",
        "-spat",
        "119.944",
        "31.781",
        "119.948",
        "31.784",
        userpwd=userpwd,
    )
    from django.contrib.gis.geos import Polygon

    box = Polygon.from_bbox((119.944, 31.781, 119.948, 31.784))
    expected = models.Building.objects.filter(floors__gt=5, geom__intersects=box).count()
    found = [line for line in filtered.splitlines() if line.startswith("OGRFeature(")]
    assert len(found) == expected > 0


def test_ogr2ogr_takes_buildings_in_cgcs2000_over_wfs(live_app, tmp_path):
    import pyogrio

    target = tmp_path / "buildings.gpkg"
    ogr(
        "ogr2ogr",
        "-f",
        "GPKG",
        str(target),
        f"WFS:{live_app}/wfs/?SRSNAME=urn:ogc:def:crs:EPSG::4549",
        "buildings",
        userpwd=f"{PLANNER}:{PASSWORD}",
    )
    frame = pyogrio.read_dataframe(target)
    assert len(frame) == models.Building.objects.count()
    assert frame.crs.to_epsg() == 4549
    minx, miny, _maxx, _maxy = frame.total_bounds
    assert 400_000 < minx < 600_000 and 3_400_000 < miny < 3_600_000  # metres, east first


def test_owslib_queryables_filter_and_sortby(live_app):
    from owslib.ogcapi.features import Features
    from owslib.util import Authentication

    anonymous = Features(live_app + "/ogc")
    assert [c["id"] for c in anonymous.collections()["collections"]] == PUBLIC
    api = Features(live_app + "/ogc", auth=Authentication(PLANNER, PASSWORD))
    assert "buildings" in [c["id"] for c in api.collections()["collections"]]
    queryables = api.collection_queryables("buildings")
    assert queryables["properties"]["use"]["enum"]
    assert queryables["properties"]["geometry"]["format"] == "geometry-multipolygon"
    found = api.collection_items(
        "buildings",
        filter="floors >= 6 AND use = 'residential'",
        sortby=("floors", "desc"),
        limit=500,
    )
    expected = models.Building.objects.filter(floors__gte=6, use="residential")
    assert found["numberMatched"] == expected.count() > 0
    floors = [f["properties"]["floors"] for f in found["features"]]
    assert floors == sorted(floors, reverse=True)
    try:
        api.collection_items("buildings", filter="secret_field = 1")
    except RuntimeError as exc:  # OWSLib raises on a non-200 answer; the message is ours
        assert "secret_field" in str(exc)
    else:
        pytest.fail("an unknown property in a filter must be refused")


def test_anonymous_gdal_wfs_gets_nothing_internal(live_app):
    result = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"WFS:{live_app}/wfs/", "hazards"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Couldn't fetch requested layer hazards" in result.stdout + result.stderr
