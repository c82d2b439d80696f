"""Imports read and write in chunks (issue 28 item 2): a chunked import writes what an
unchunked one writes, in every chunked format; a bad row in a later chunk is still named and
leaves nothing written; progress advances chunk by chunk. Real PostGIS."""

from __future__ import annotations

import csv

import pytest
import shapely

from layers.domain import models
from layers.io import importer, read, safety
from tests import io_files as f
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

SP = models.ServicePoint
ROWS = 23  # five chunks of 5: four full, one of 3
FIELDS = ("ref", "name", "kind", "services", "status", "phone")


@pytest.fixture
def user(db):
    return make_user("t-chunk-editor", "editor", staff=True)


def _csv(rows: list[dict], geoms, path):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FIELDS, "lon", "lat"])
        for row, geom in zip(rows, geoms, strict=True):
            writer.writerow([*(row[k] for k in FIELDS), geom.x, geom.y])
    return path


def make_file(tmp_path, fmt: str, rows: list[dict] | None = None):
    rows = rows or f.service_rows(ROWS, prefix="CH")
    geoms = f.points(len(rows), step=0.0001)
    if fmt == "csv":
        return _csv(rows, geoms, tmp_path / "sp.csv")
    return f.write(f.frame(rows, geoms), tmp_path / f"sp.{fmt}")


def written():
    rows = SP.objects.filter(ref__startswith="CH-").order_by("ref")
    return [
        (*(getattr(r, k) for k in FIELDS), round(r.geom.x, 9), round(r.geom.y, 9), r.grid_cell_id)
        for r in rows
    ]


def run(path, user, chunk_size, **kwargs):
    with safety.prepared(path) as local:
        return importer.run_import("service-points", local, user=user, chunk_size=chunk_size,
                                   **kwargs)  # fmt: skip


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "zip", "csv"])
def test_a_chunked_import_writes_what_an_unchunked_one_writes(tmp_path, user, fmt):
    path = make_file(tmp_path, fmt)
    calls = []
    chunked = run(path, user, 5, progress=lambda **k: calls.append(k))
    assert not chunked.failed, chunked.lines()
    assert (chunked.rows_read, chunked.written, chunked.created) == (ROWS, ROWS, ROWS)
    in_chunks = written()
    assert len(in_chunks) == ROWS
    ids, extent = chunked.ids, chunked.extent
    SP.all_objects.filter(ref__startswith="CH-").delete()

    whole = run(path, user, 10_000)
    assert not whole.failed, whole.lines()
    assert written() == in_chunks
    assert (whole.rows_read, whole.written, whole.created) == (ROWS, ROWS, ROWS)
    assert extent == whole.extent and len(ids) == len(whole.ids) == ROWS
    # Progress went forward chunk by chunk to the end, with the file's total.
    reads = [c["read"] for c in calls]
    assert reads == sorted(reads) and reads[-1] == ROWS
    assert {5, 10, 15, 20, 23} <= set(reads)  # every chunk's end is told
    assert {c["total"] for c in calls} == {ROWS}
    assert calls[-1]["written"] == ROWS


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "csv"])
def test_a_bad_row_in_a_later_chunk_is_named_and_nothing_is_written(tmp_path, user, fmt, settings):
    settings.IMPORT_CHUNK_ROWS = 5  # the setting, not the argument
    rows = f.service_rows(ROWS, prefix="CH")
    rows[18]["kind"] = "nonsense"  # row 19: in the fourth chunk
    path = make_file(tmp_path, fmt, rows)
    before = (SP.all_objects.count(), SP.history.count())
    with safety.prepared(path) as local:
        report = importer.run_import("service-points", local, user=user)
    assert [(row, name) for row, name, _reason in report.errors] == [(19, "kind")]
    assert report.written == 0 and report.ids == [] and report.rows_read == ROWS
    assert "nothing written" in " ".join(report.notes)
    assert (SP.all_objects.count(), SP.history.count()) == before
    assert any(line.startswith("row 19: kind:") for line in report.lines())
    # With skip_invalid the 22 good rows are written, the bad one named.
    kept = run(path, user, 5, skip_invalid=True)
    assert (kept.written, kept.refused, kept.errors[0][0]) == (ROWS - 1, 1, 19)


def test_a_file_problem_in_a_later_chunk_writes_nothing(tmp_path, user):
    """A spreadsheet naming a second CRS after the first chunk: the whole file is refused."""
    rows = f.service_rows(12, prefix="CH")
    geoms = f.points(12, step=0.0001)
    path = tmp_path / "two-crs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FIELDS, "lon", "lat", "crs"])
        for i, (row, geom) in enumerate(zip(rows, geoms, strict=True)):
            writer.writerow([*(row[k] for k in FIELDS), geom.x, geom.y,
                             "EPSG:4326" if i < 10 else "EPSG:4490"])  # fmt: skip
    before = SP.all_objects.count()
    report = importer.run_import("service-points", path, user=user, chunk_size=5)
    assert "one CRS per file" in report.fatal and report.written == 0
    assert SP.all_objects.count() == before


def test_the_chunked_reader_gives_the_whole_files_rows(tmp_path):
    path = make_file(tmp_path, "gpkg")
    whole = read.read(path)
    source = read.open_source(path, size=4)
    assert source.total == ROWS and source.columns == whole.columns
    chunks = list(source.chunks(4))
    assert [c.start for c in chunks] == [0, 4, 8, 12, 16, 20]
    assert [r for c in chunks for r in c.rows] == whole.rows
    assert shapely.equals_exact(
        [g for c in chunks for g in c.geoms], list(whole.geoms), tolerance=0
    ).all()
