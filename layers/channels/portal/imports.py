"""The editors' upload page /import/: choose a layer, upload a file, see and change the column
mapping, run the import, read the report.

It calls the same API as `manage.py import_layer` (layers/io). The uploaded file waits between the
two steps in a private staging folder named by a random token kept in the session (removed when
cancelled, and swept with the other import folders once older than IMPORT_TMP_MAX_AGE). The run
step records an "import_layer" job (layers/jobs/kinds/imports.py) and, in the same transaction,
moves the staged folder into the job's own input folder; it answers 303 to the job page, where a
progress bar shows the rows read, written and refused, then the report.
"""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path, PureWindowsPath

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from layers.channels.portal import nav
from layers.domain import registry, roles
from layers.geo import files as io_crs
from layers.io import importer, mapping, safety
from layers.io.read import ReadError, check_layer_name, scrub_paths
from layers.jobs import engine as jobs
from layers.jobs.kinds import imports as import_jobs
from layers.query import access
from layers.query.params import ParamError

SESSION_KEY = "hehuachi_import"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME = 100


def _layers(user) -> list[registry.LayerSpec]:
    return [spec for spec in registry.LAYERS if access.can_edit(user, spec)]


def _folder(token: str) -> Path:
    if not _TOKEN.match(token or ""):
        raise ValueError("bad token")
    return safety.tmp_root() / f"{safety.PREFIX}staged-{token}"


def _staged(request) -> dict | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict) or not _TOKEN.match(str(data.get("token", ""))):
        return None
    if not _folder(data["token"]).is_dir():
        return None
    return data


def _discard(request) -> None:
    data = request.session.pop(SESSION_KEY, None)
    if isinstance(data, dict) and _TOKEN.match(str(data.get("token", ""))):
        shutil.rmtree(_folder(data["token"]), ignore_errors=True)


def _context(request, **extra) -> dict:
    return {
        "page_title": nav.pick(("导入数据", "Import data")),
        "layers": [(s.slug, s.title(nav.lang())) for s in _layers(request.user)],
        "crs_choices": io_crs.CHOICES,
        "modes": importer.MODES,
        "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        "extensions": ", ".join(safety.UPLOAD_EXTENSIONS),
        **extra,
    }


def _refuse(request, reason: str, **extra):
    context = _context(request, error=reason, **extra)
    return render(request, "portal/import.html", context, status=400)


def _stage(request):
    """Step 1: keep the upload in a staging folder and show the mapping the import would use."""
    _discard(request)
    slug = request.POST.get("layer", "")
    if slug not in [s.slug for s in _layers(request.user)]:
        return _refuse(request, nav.pick(("layer: 请选择您可以编辑的图层。", "layer: choose one.")))
    upload = request.FILES.get("file")
    if upload is None:
        return _refuse(request, nav.pick(("file: 请选择文件。", "file: choose a file.")))
    sub_layer = (request.POST.get("sub_layer") or "").strip() or None
    # Messages name the file as the user named it, never the staging folder (issue 27).
    shown = Path(PureWindowsPath(upload.name).name).name[:MAX_NAME] or "upload"
    token = secrets.token_hex(16)
    folder = _folder(token)
    folder.mkdir(parents=True)
    saved = None
    try:
        saved = safety.save_upload(upload, folder)
        local = safety.extract_or_keep(saved, folder)
        if sub_layer is not None:
            check_layer_name(sub_layer)
        report, spec, table, columns, _geoms = importer.prepare(
            slug, local, cad_layer=sub_layer, source=shown
        )
    except safety.UploadRefused as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(request, f"file: {scrub_paths(str(exc), saved or folder, shown)}")
    except ReadError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(request, f"sub_layer: {exc}")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if report.fatal:
        shutil.rmtree(folder, ignore_errors=True)
        return _refuse(request, report.fatal, report=report)
    request.session[SESSION_KEY] = {
        "token": token,
        "layer": slug,
        "path": str(local.relative_to(folder)),
        "filename": shown,
        "sub_layer": sub_layer,
        "columns": table.columns,
    }
    shown = _mapping_context(spec, table.columns, columns, report)
    return render(request, "portal/import.html", _context(request, **shown))


def _mapping_context(spec, file_columns, columns, report) -> dict:
    fields = mapping.fields(spec)
    labels = mapping.labels(spec, fields)
    return {
        "staged": True,
        "spec": spec,
        "report": report,
        "rows": [(i, c, columns.get(c, "")) for i, c in enumerate(file_columns)],
        "fields": [(n, f"{n} · {labels[n][0]}") for n in fields],
    }


def _run(request):
    """Step 2: run the import of the staged file with the mapping the user chose."""
    staged = _staged(request)
    if staged is None:
        gone = ("file: 没有待导入的文件，请重新上传。", "file: nothing staged; upload it again.")
        return _refuse(request, nav.pick(gone))
    spec = registry.get(staged["layer"])
    if not access.can_edit(request.user, spec):
        raise PermissionDenied
    names = set(mapping.fields(spec))
    chosen: dict[str, str | None] = {}
    for i, column in enumerate(staged["columns"]):
        value = request.POST.get(f"map_{i}", "")
        if value and value not in names:
            return _refuse(request, f"map_{i}: {value!r} is not a field of {spec.slug}")
        chosen[column] = value or None
    crs = request.POST.get("crs") or None
    if crs is not None and crs not in io_crs.CHOICES:
        return _refuse(request, f"crs: use one of {', '.join(io_crs.CHOICES)}")
    params = {
        "layer": spec.slug,
        "file": staged["path"],
        "source": staged["filename"],
        "crs": crs,
        "mode": request.POST.get("mode", "append"),
        "key": request.POST.get("key") or None,
        "skip_invalid": request.POST.get("skip_invalid") == "on",
        "dry_run": request.POST.get("dry_run") == "on",
        "mapping": chosen,
        "cad_layer": staged["sub_layer"],
    }
    try:
        with transaction.atomic():
            job = jobs.start_job(import_jobs.KIND, request.user, params)
            # The job owns its input from now on: the task (deferred on commit) finds it.
            target = import_jobs.input_dir(job)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(_folder(staged["token"]), target)
    except ParamError as exc:
        return _refuse(request, str(exc))
    request.session.pop(SESSION_KEY, None)
    return _see(job)


def _see(job) -> HttpResponseRedirect:
    response = HttpResponseRedirect(reverse("job-detail", args=[job.pk]))
    response.status_code = 303
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def import_page(request):
    if not roles.can_import(request.user):
        raise PermissionDenied
    if request.method == "GET":
        return render(request, "portal/import.html", _context(request))
    action = request.POST.get("action")
    if action == "upload":
        return _stage(request)
    if action == "run":
        return _run(request)
    if action == "cancel":
        _discard(request)
        return redirect("import")
    return _refuse(request, "action: expected upload, run or cancel")
