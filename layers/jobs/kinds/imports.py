"""The "import_layer" job kind: the upload page's (and `import_layer --job`'s) import, run by a
worker with progress.

Its input is a folder of its own, `jobs.job_dir(job) / "input"`, into which the page moves the
staged upload in the same transaction that records the job. The folder is removed once the job
has a definitive outcome (succeeded, or refused with its report); after an unexpected error
(or a killed worker) it stays, so that `retry` finds it.
"""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from layers.domain import registry
from layers.geo import files as io_crs
from layers.io import importer, mapping
from layers.io.read import ReadError, check_layer_name
from layers.jobs import engine as jobs
from layers.query import access
from layers.query.params import ParamError

KIND = "import_layer"
MAX_NAME = 200


def input_dir(job) -> Path:
    return jobs.job_dir(job) / "input"


def _text(params: dict, name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ParamError(name, "is required")
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise ParamError(name, f"expected a text of at most {MAX_NAME} characters")
    return value


def _flag(params: dict, name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise ParamError(name, "expected true or false")
    return value


def clean_params(params: dict, user=None) -> dict:
    """Strict checks of an import job's parameters (ParamError names the parameter)."""
    known = {"layer", "file", "source", "crs", "mode", "key", "skip_invalid", "dry_run"}
    known |= {"mapping", "cad_layer"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ParamError(unknown[0], f"unknown parameter; known: {', '.join(sorted(known))}")
    slug = _text(params, "layer", required=True)
    if slug not in registry.slugs():
        raise ParamError("layer", f"no layer {slug!r}")
    spec = registry.get(slug)
    if not access.can_edit(user, spec):
        raise ParamError("layer", f"you may not edit {slug}")
    name = _text(params, "file", required=True)
    parts = PurePosixPath(name).parts
    if PurePosixPath(name).is_absolute() or ".." in parts or "\\" in name or not parts:
        raise ParamError("file", "expected a relative path inside the job's input folder")
    crs = _text(params, "crs")
    if crs is not None and crs not in io_crs.CHOICES:
        raise ParamError("crs", f"use one of {', '.join(io_crs.CHOICES)}")
    mode = _text(params, "mode") or "append"
    if mode not in importer.MODES:
        raise ParamError("mode", f"use one of {', '.join(importer.MODES)}")
    key = _text(params, "key")
    fields = mapping.fields(spec)
    if key is not None and key not in fields:
        raise ParamError("key", f"not a field of {slug}: {key!r}")
    chosen = params.get("mapping")
    if chosen is not None:
        if not isinstance(chosen, dict):
            raise ParamError("mapping", "expected an object {column: field or null}")
        for column, target in chosen.items():
            if not isinstance(column, str) or len(column) > MAX_NAME:
                raise ParamError("mapping", f"bad column name {str(column)[:40]!r}")
            if target is not None and target not in fields:
                raise ParamError("mapping", f"{target!r} is not a field of {slug}")
    cad_layer = _text(params, "cad_layer")
    if cad_layer is not None:
        try:
            check_layer_name(cad_layer)
        except ReadError as exc:
            raise ParamError("cad_layer", str(exc)) from None
    return {
        "layer": slug,
        "file": name,
        "source": (_text(params, "source") or PurePosixPath(name).name)[:MAX_NAME],
        "crs": crs,
        "mode": mode,
        "key": key,
        "skip_invalid": _flag(params, "skip_invalid"),
        "dry_run": _flag(params, "dry_run"),
        "mapping": chosen,
        "cad_layer": cad_layer,
    }


def refused(report: importer.ImportReport, skip_invalid: bool) -> str:
    """Why the import was refused ("" when it was not): a fatal problem, or bad rows without
    skip_invalid (then nothing was written)."""
    if report.fatal:
        return report.fatal
    if report.errors and not skip_invalid:
        row, name, reason = report.errors[0]
        count = len(report.errors)
        return f"{count} bad row(s), nothing written; row {row}: {name}: {reason}"
    return ""


def stored(report: importer.ImportReport) -> dict:
    """The job's report: the import report's fields plus its readable `lines`."""
    return {**report.as_dict(), "lines": report.lines()}


@jobs.register(KIND, validate=clean_params, title=("导入数据", "Import data"))
def import_job(job, params, progress):
    folder = input_dir(job)
    path = folder / params["file"]
    if not path.exists():
        raise ParamError("file", "the job's input file is gone (it was removed after its run)")
    report = importer.run_import(
        params["layer"],
        path,
        crs=params["crs"],
        mode=params["mode"],
        key=params["key"],
        skip_invalid=params["skip_invalid"],
        dry_run=params["dry_run"],
        mapping=params["mapping"],
        user=job.user,
        progress=lambda **numbers: progress(done=numbers.get("read", 0), **numbers),
        cad_layer=params["cad_layer"],
        source=params["source"],
    )
    progress(
        done=report.rows_read, total=report.rows_read, read=report.rows_read,
        written=report.written, refused=report.refused, force=True,
    )  # fmt: skip
    reason = refused(report, params["skip_invalid"])
    shutil.rmtree(folder, ignore_errors=True)  # a definitive outcome: the input is done with
    if reason:
        raise jobs.JobRefused(reason, stored(report))
    return stored(report), None
