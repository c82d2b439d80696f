"""`make backup` / `make restore`: a backup of a populated service restored into an empty
database (a cluster of the test's own) brings back every layer, its history and its photos
exactly; a damaged backup and a non-empty target are refused with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from layers.domain import registry
from tests.pgcluster import Cluster

ROOT = Path(__file__).resolve().parent.parent
# Its own cluster, made once for the module (on one xdist worker).
pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("test_backup")]


def _env(url: str, media: Path, private: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(media),
        "PRIVATE_MEDIA_ROOT": str(private),
        "DJANGO_SETTINGS_MODULE": "geo_service.settings",
    }
    env.pop("DATABASE_TEST_TEMPLATE", None)
    return env


def _run(args, env, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result


def _fingerprint(cluster: Cluster, database: str) -> dict[str, str]:
    """md5 of every layer table and its history table, rows in id order, as text."""
    out = {}
    tables = []
    for spec in registry.LAYERS:
        tables += [spec.model._meta.db_table, spec.model.history.model._meta.db_table]
    tables += ["layers_hazardphoto", "layers_hazardevent", "auth_user"]
    for table in tables:
        key = "history_id" if "historical" in table else "id"
        digest = f"coalesce(md5(string_agg(t::text, '|' ORDER BY t.{key})), '')"
        query = f"SELECT count(*) || ':' || {digest} FROM {table} t"  # noqa: S608 (our names)
        out[table] = cluster.sql(query, database=database)
    return out


PHOTO_SCRIPT = r"""
import io, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
django.setup()
from PIL import Image
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from layers.services import photos
from layers.domain.models import SafetyHazard
hazard = SafetyHazard.objects.filter(status="found").order_by("pk").first()
user = get_user_model().objects.get(username="demo-inspector")
for colour in ("red", "blue"):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG")
    upload = SimpleUploadedFile(f"{colour}.jpg", buffer.getvalue(), "image/jpeg")
    photos.store(hazard, upload, user)
print(hazard.photos.count())
"""


@pytest.fixture(scope="module")
def cluster():
    own = Cluster()
    own.start()
    yield own
    own.remove()


def test_backup_restores_into_an_empty_database_exactly(cluster, tmp_path):
    media, private = tmp_path / "media", tmp_path / "private"
    source = _env(cluster.create_postgis_database("hh_source"), media, private)
    _run([sys.executable, "manage.py", "migrate", "--noinput"], source)
    _run([sys.executable, "manage.py", "load_sample_data"], source)
    photos = _run([sys.executable, "-c", PHOTO_SCRIPT], source, check=False)
    assert photos.returncode == 0, photos.stderr[-2000:]
    media.mkdir(exist_ok=True)
    (media / "viewpoints").mkdir(exist_ok=True)
    (media / "viewpoints" / "public.txt").write_text("a public file 公开")
    before = _fingerprint(cluster, "hh_source")
    files_before = {
        p.relative_to(private): p.read_bytes() for p in private.rglob("*") if p.is_file()
    }
    assert files_before, "the photos were stored"

    out = tmp_path / "backup"
    _run(["make", "-s", "backup", f"OUT={out}", "VPY=" + sys.executable], source)
    manifest = (out / "manifest.json").read_text()
    assert "database.dump" in manifest and "private-media.tar" in manifest

    # An empty database elsewhere, empty media folders.
    media2, private2 = tmp_path / "media2", tmp_path / "private2"
    cluster.sql("CREATE DATABASE hh_target")
    target = _env(cluster.url("hh_target"), media2, private2)
    _run(["make", "-s", "restore", f"FROM={out}", "VPY=" + sys.executable], target)

    assert _fingerprint(cluster, "hh_target") == before
    files_after = {
        p.relative_to(private2): p.read_bytes() for p in private2.rglob("*") if p.is_file()
    }
    assert files_after == files_before
    assert (media2 / "viewpoints" / "public.txt").read_text() == "a public file 公开"

    # Again into the now populated database: refused without YES, nothing changed.
    again = _run(
        ["make", "-s", "restore", f"FROM={out}", "VPY=" + sys.executable], target, check=False
    )
    assert again.returncode != 0 and "not empty" in again.stderr


def test_a_damaged_backup_is_refused_before_anything_changes(cluster, tmp_path):
    media, private = tmp_path / "m", tmp_path / "p"
    source = _env(cluster.create_postgis_database("hh_small"), media, private)
    out = tmp_path / "b"
    _run([sys.executable, "tools/backup.py", "backup", "--out", str(out)], source)
    with (out / "database.dump").open("ab") as f:
        f.write(b"tampered")
    cluster.sql("CREATE DATABASE hh_empty")
    target = _env(cluster.url("hh_empty"), media, private)
    refused = _run([sys.executable, "tools/backup.py", "restore", str(out)], target, check=False)
    assert refused.returncode == 1 and "database.dump: checksum differs" in refused.stderr
    assert (
        cluster.sql("SELECT count(*) FROM pg_tables WHERE schemaname='public'", database="hh_empty")
        == "0"
    )
