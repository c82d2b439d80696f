"""The ledger and an import at scale (issue 28 item 2): rows/s and the peak RSS of the process.

Usage: .venv/bin/python bench/bulk.py [--read 20000,200000] [--ledger 20000,200000]
                                      [--import 20000,200000] [--formats csv,gpkg,geojson]
                                      [--import-formats csv,gpkg] [--whole]

On the bench database (`<your database>_bench`, bench/benchdb.py; migrated and loaded with the
sample data here). For each size N:
- ledger: N synthetic hazards (ref BULK-L…) are inserted in SQL and their links derived, then
  a `hazard_ledger` job of every hazard runs in a fresh process (`engine.execute`, what the
  procrastinate worker calls): rows/s and the process's VmHWM.
- import: a file of N hazard rows (CSV, GeoPackage, …) is written, then an `import_layer` job
  of it runs in a fresh process as the worker runs it (one transaction, IMPORT_CHUNK_ROWS rows a
  chunk, history, timeline and derived links per row); the imported rows are removed after.
  `--whole` runs the same import once more with the whole file in one chunk (the reading of
  before issue 28), to show what the chunks save.
- read: the same files only read, in chunks (`read.open_source`, what the import does) and
  whole (`read.read`, the reading before issue 28), each in a fresh process: what reading
  alone costs in memory, at sizes whose full import would take hours on a loaded machine.
A baseline process (Django set up, pandas, pyogrio and openpyxl imported, nothing read) gives
the RSS every job process starts from. Memory that does not grow with N is the claim: compare
each VmHWM with the baseline across sizes. Figures go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchdb

HERE = Path(__file__).resolve()
BULK_USER = "bench-bulk-editor"


def vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- the child: one job in a fresh process ---------------------------------------------------


def child(what: str, job_id: int, path: str = "") -> None:
    import django  # the parent's environment already names the bench database

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings")
    django.setup()
    import openpyxl  # noqa: F401 (the baseline holds every engine a job loads)
    import pandas  # noqa: F401
    import pyogrio  # noqa: F401

    from layers.domain.models import Job
    from layers.jobs import engine

    started = time.perf_counter()
    rows = 0
    if what in ("read-chunks", "read-whole"):
        from django.conf import settings

        from layers.io import read

        if what == "read-whole":
            rows = len(read.read(Path(path)).rows)
        else:
            source = read.open_source(Path(path), size=settings.IMPORT_CHUNK_ROWS)
            rows = sum(len(table.rows) for table in source.chunks(settings.IMPORT_CHUNK_ROWS))
    elif what != "baseline":
        engine.execute(job_id)
    seconds = time.perf_counter() - started
    job = Job.objects.filter(pk=job_id).first()
    out = {"seconds": seconds, "vm_hwm_mib": vm_hwm_mib(), "rows": rows}
    if job is not None:
        out |= {"status": job.status, "error": job.error[:300], "done": job.done}
        out |= {"written": job.rows_written, "refused": job.rows_refused}
    print(json.dumps(out))


def run_child(what: str, job_id: int, env: dict, path: Path | None = None) -> dict:
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", what, "--job", str(job_id), "--path", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"child {what} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the parent ------------------------------------------------------------------------------


def load() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def insert_hazards(n: int) -> None:
    """N synthetic hazards (ref BULK-L…) over the old town, as bench/make_data.py makes them."""
    from django.db import connection, transaction

    from layers.domain import vocabularies as status
    from layers.services.derived import refresh_all

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.2028)")
        cursor.execute("DELETE FROM layers_safetyhazard WHERE ref LIKE 'BULK-%%'")
        cursor.execute(
            """
            INSERT INTO layers_safetyhazard (
                ref, name, name_en, status, created_at, updated_at, version, category, level,
                description, found_at, deadline, responsible_unit, reject_reason, supervised,
                geom)
            SELECT 'BULK-L' || g, '测试隐患 ' || g, 'Bench hazard ' || g,
                   (%(statuses)s::text[])[1 + floor(random() * cardinality(%(statuses)s::text[]))::int],
                   now(), now(), 1,
                   (%(categories)s::text[])[1 + floor(random() * cardinality(%(categories)s::text[]))::int],
                   CASE WHEN random() < 0.1 THEN 'major' ELSE 'general' END,
                   '基准测试数据', now() - (random() * 200 || ' days')::interval,
                   (now() + ((random() * 300 - 100)::int || ' days')::interval)::date,
                   '测试单位', '', false,
                   ST_SetSRID(ST_MakePoint(
                       119.935 + random() * 0.03, 31.770 + random() * 0.025), 4326)
            FROM generate_series(1, %(n)s) g
            """,  # noqa: E501
            {
                "n": n,
                "statuses": list(status.HAZARD_STATUS.values),
                "categories": list(status.HAZARD_CATEGORY.values),
            },
        )
        refresh_all()
        cursor.execute("ANALYZE layers_safetyhazard")


def write_file(n: int, fmt: str, folder: Path) -> Path:
    """N hazard rows as the import page takes them (name, category, level, description, ref,
    lon/lat or a point geometry), seeded."""
    import numpy as np

    from layers.domain import vocabularies as status

    rng = np.random.default_rng(2028)
    categories = list(status.HAZARD_CATEGORY.values)
    lon = 119.935 + rng.random(n) * 0.03
    lat = 31.770 + rng.random(n) * 0.025
    columns = {
        "ref": [f"BULK-I{i}" for i in range(n)],
        "name": [f"导入隐患 {i}" for i in range(n)],
        "category": [categories[i % len(categories)] for i in range(n)],
        "level": ["major" if i % 10 == 0 else "general" for i in range(n)],
        "description": ["批量导入基准测试"] * n,
    }
    path = folder / f"hazards-{n}.{fmt}"
    if fmt == "csv":
        import pandas as pd

        pd.DataFrame({**columns, "lon": lon, "lat": lat}).to_csv(path, index=False)
        return path
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame(columns, geometry=shapely.points(lon, lat), crs="EPSG:4326")
    driver = {"gpkg": "GPKG", "geojson": "GeoJSON"}[fmt]
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


def bulk_user():
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user, _ = get_user_model().objects.get_or_create(
        username=BULK_USER, defaults={"is_staff": True}
    )
    user.groups.add(Group.objects.get(name="editor"))
    return user


def ledger_job(user) -> int:
    from layers.domain.models import Job
    from layers.jobs.kinds import ledger as ledger_jobs

    params = ledger_jobs.clean_params({"filters": {}}, user)
    return Job.objects.create(kind=ledger_jobs.KIND, params=params, user=user).pk


def import_job(user, path: Path) -> int:
    import shutil

    from layers.domain.models import Job
    from layers.jobs.kinds import imports

    params = imports.clean_params({"layer": "hazards", "file": path.name}, user)
    job = Job.objects.create(kind=imports.KIND, params=params, user=user)
    folder = imports.input_dir(job)
    folder.mkdir(parents=True)
    shutil.copy(path, folder / path.name)
    return job.pk


def remove_imported() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("layers_hazardevent", "layers_notification"):
            cursor.execute(
                f"DELETE FROM {table} WHERE hazard_id IN "  # noqa: S608 (our table names)
                "(SELECT id FROM layers_safetyhazard WHERE ref LIKE 'BULK-I%%')"
            )
        cursor.execute("DELETE FROM layers_historicalsafetyhazard WHERE ref LIKE 'BULK-I%%'")
        cursor.execute("DELETE FROM layers_safetyhazard WHERE ref LIKE 'BULK-I%%'")


def sizes(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ledger", default="20000,200000", help="sizes, comma-separated")
    parser.add_argument("--import", dest="imports", default="20000,200000")
    parser.add_argument("--formats", default="csv,gpkg,geojson", help="of the reading runs")
    parser.add_argument("--import-formats", default="csv,gpkg")
    parser.add_argument("--whole", action="store_true", help="also import in one chunk")
    parser.add_argument("--child")
    parser.add_argument("--job", type=int, default=0)
    parser.add_argument("--path", default="")
    parser.add_argument("--read", default="20000,200000", help="sizes of the reading-only runs")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.job, args.path)

    name = benchdb.setup()
    from django.conf import settings

    benchdb.ensure_database(settings.DATABASES["default"]["NAME"])
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_sample_data", verbosity=0)
    user = bulk_user()
    media = Path(tempfile.mkdtemp(prefix="hehuachi-bulk-"))
    env = {**os.environ, "PRIVATE_MEDIA_ROOT": str(media)}
    settings.PRIVATE_MEDIA_ROOT = media
    print(f"{name}; {os.cpu_count()} cores; {load()}; chunk {settings.IMPORT_CHUNK_ROWS} rows")
    base = run_child("baseline", 0, env)
    print(f"baseline process (Django + pandas, pyogrio, openpyxl): {base['vm_hwm_mib']:.0f} MiB")

    folder = Path(tempfile.mkdtemp(prefix="hehuachi-bulk-files-"))
    for n in sizes(args.read):
        for fmt in args.formats.split(","):
            path = write_file(n, fmt, folder)
            for how in ("read-chunks", "read-whole"):
                out = run_child(how, 0, env, path)
                print(
                    f"  {how} {fmt} {out['rows']} rows ({path.stat().st_size / 2**20:.1f} MB): "
                    f"{out['seconds']:.1f} s, {out['rows'] / out['seconds']:.0f} rows/s, "
                    f"VmHWM {out['vm_hwm_mib']:.0f} MiB "
                    f"(+{out['vm_hwm_mib'] - base['vm_hwm_mib']:.0f}); {load()}"
                )
            path.unlink()

    for n in sizes(args.ledger):
        started = time.perf_counter()
        insert_hazards(n)
        from layers.domain.models import SafetyHazard

        total = SafetyHazard.objects.count()
        print(f"ledger: {n} synthetic hazards inserted ({time.perf_counter() - started:.0f} s)")
        out = run_child("ledger", ledger_job(user), env)
        rate = out["done"] / out["seconds"]
        print(
            f"  ledger of {total} rows: {out['status']}, {out['seconds']:.1f} s, "
            f"{rate:.0f} rows/s, VmHWM {out['vm_hwm_mib']:.0f} MiB "
            f"(+{out['vm_hwm_mib'] - base['vm_hwm_mib']:.0f} over the baseline); {load()}"
        )
    if sizes(args.ledger):
        insert_hazards(0)

    for n in sizes(args.imports):
        for fmt in args.import_formats.split(","):
            path = write_file(n, fmt, folder)
            runs = [("chunked", {})]
            if args.whole:
                runs.append(("whole", {"IMPORT_CHUNK_ROWS": str(n + 1)}))
            for label, extra in runs:
                remove_imported()
                out = run_child("import", import_job(user, path), {**env, **extra})
                rate = out["written"] / out["seconds"]
                print(
                    f"  import {fmt} {n} rows ({label}, {path.stat().st_size / 2**20:.1f} MB): "
                    f"{out['status']} {out['error']}, written {out['written']}, "
                    f"{out['seconds']:.0f} s, {rate:.0f} rows/s, VmHWM {out['vm_hwm_mib']:.0f} MiB "
                    f"(+{out['vm_hwm_mib'] - base['vm_hwm_mib']:.0f}); {load()}"
                )
                remove_imported()
            path.unlink()
    print(f"(job files under {media}; remove when done)")


if __name__ == "__main__":
    main()
