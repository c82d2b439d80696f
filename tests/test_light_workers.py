"""Light workers (issue 28): a web worker loads the file and map engines (pandas, geopandas,
pyogrio, shapely, folium, matplotlib, openpyxl) only when a request needs them. The WSGI
application is imported in a process of its own, as gunicorn's master does before it forks the
workers; it serves the API, OGC and tiles, and then one map page, which must load folium."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from layers.domain import models

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # Django in a new process

# Never on the path of a plain read: each of these is tens of MiB in every worker. (pyproj is
# not among them: django-gisserver, the WFS channel, imports it with its views.)
ENGINES = (
    "pandas",
    "geopandas",
    "pyogrio",
    "shapely",
    "folium",
    "branca",
    "matplotlib",
    "openpyxl",
    "segno",
)

SCRIPT = r"""
import json, sys
from geo_service.wsgi import application  # noqa: F401 (what gunicorn's master imports)
from django.test import Client

engines = json.loads(sys.argv[1])
paths = json.loads(sys.argv[2])
client = Client()
out = {"statuses": {}, "loaded": {}}
for phase, urls in paths.items():
    for url in urls:
        out["statuses"][url] = client.get(url).status_code
    out["loaded"][phase] = sorted(name for name in engines if name in sys.modules)
print(json.dumps(out))
"""


def tile_of(lon: float, lat: float, z: int) -> str:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"{z}/{x}/{y}"


@pytest.mark.django_db
def test_a_worker_serving_reads_loads_no_file_or_map_engine():
    viewpoint = models.CulturalViewpoint.objects.order_by("pk").first()
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "geo_service.settings",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "testserver",
    }
    reads = [
        "/api/v1/viewpoints/?page_size=10",
        f"/api/v1/viewpoints/{viewpoint.pk}/",
        "/api/v1/layers/",
        "/ogc/",
        "/ogc/collections",
        "/ogc/collections/viewpoints/items?limit=10",
        f"/tiles/viewpoints/{tile_of(viewpoint.geom.x, viewpoint.geom.y, 16)}.pbf",
        "/healthz",
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            SCRIPT,
            json.dumps(ENGINES),
            json.dumps({"reads": reads, "map page": ["/tour/"]}),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(out["statuses"].values()) == {200}, out["statuses"]
    assert out["loaded"]["reads"] == []
    # The check sees an engine when one is loaded: a map page is built with folium (and the
    # pandas folium imports).
    assert {"folium", "pandas"} <= set(out["loaded"]["map page"])
