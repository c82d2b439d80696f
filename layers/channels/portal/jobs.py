"""Job pages: my jobs, one job's progress/report/output, retry; the maps' "print" action.

A job is seen by the user who started it and by editors (anyone else gets 404: a job's
existence is not shown). The page polls `/jobs/<id>/status.json` for its progress bar.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from layers.auth import pages as gate
from layers.channels.portal.nav import lang, pick
from layers.domain import pages, registry
from layers.domain.models import Job
from layers.jobs import engine as jobs
from layers.query import access
from layers.query.params import ParamError

STATUS_LABELS = {
    Job.QUEUED: ("排队中", "Queued"),
    Job.RUNNING: ("进行中", "Running"),
    Job.SUCCEEDED: ("已完成", "Succeeded"),
    Job.FAILED: ("失败", "Failed"),
}


def _visible_job(request, pk: int) -> Job:
    job = Job.objects.filter(pk=pk).select_related("user").first()
    if job is None or not jobs.visible_to(job, request.user):
        raise Http404("No such job.")
    return job


def state(job: Job, user=None) -> dict:
    """What the job page shows (the JSON it polls): with `user`, the links to what the job
    wrote that this user may open."""
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "status_label": pick(STATUS_LABELS[job.status]),
        "finished": job.finished,
        "percent": job.percent,
        "done": job.done,
        "total": job.total,
        "rows": {"read": job.rows_read, "written": job.rows_written, "refused": job.rows_refused},
        "message": job.message,
        # The ids of the rows an import wrote stay on the server (the links below use them).
        "report": {k: v for k, v in job.report.items() if k != "ids"} if job.report else None,
        "links": written_links(job, user) if user is not None else [],
        "error": job.error,
        "attempts": job.attempts,
        "can_retry": jobs.can_retry(job),
        "output": reverse("job-output", args=[job.pk]) if job.output else None,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def _title(job: Job) -> str:
    try:
        return pick(jobs.get_kind(job.kind).title)
    except ParamError:
        return job.kind


@login_required
@require_GET
def job_list(request):
    mine = Job.objects.filter(user=request.user).order_by("-created_at", "-pk")[:100]
    rows = [
        {"job": job, "title": _title(job), "status": pick(STATUS_LABELS[job.status])}
        for job in mine
    ]
    return render(request, "jobs/list.html", {"rows": rows, "page_title": _("My jobs")})


@login_required
@require_GET
def job_detail(request, pk: int):
    job = _visible_job(request, pk)
    title = _title(job)
    context = {"job": job, "state": state(job, request.user), "title": title, "page_title": title}
    return render(request, "jobs/detail.html", context)


def written_links(job: Job, user) -> list[dict]:
    """A finished import's rows, for the user: the admin's list filtered to them (editors) and
    every map page that draws their layer, zoomed to them with the layer shown."""
    report = job.report or {}
    layer = (job.params or {}).get("layer") if job.kind == "import_layer" else None
    if not layer or job.status != Job.SUCCEEDED or not report.get("ids"):
        return []
    spec = registry.get(layer)
    n = len(report["ids"])
    links = []
    if user.is_staff and access.can_edit(user, spec):
        meta = spec.model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        text = _("The %(n)s rows it wrote, in the list of %(layer)s")
        links.append(
            {
                "kind": "list",
                "href": f"{url}?{urlencode({'import_job': job.pk})}",
                "text": text % {"n": n, "layer": spec.title(lang())},
            }
        )
    extent = report.get("extent")
    for page in pages.PAGES.values():
        if not (page.roles and gate.allows(user, page.slug)):
            continue
        if extent and any(m.slug == layer for m in page.layers):
            query = urlencode(
                {"fit": ",".join(f"{v:.7f}" for v in extent), "show": layer}, safe=","
            )
            links.append(
                {
                    "kind": "map",
                    "href": f"{reverse(f'map-{page.slug}')}?{query}",
                    "text": _("On the %(map)s, zoomed to them")
                    % {"map": pick((page.title_zh, page.title_en))},
                }
            )
    return links


@login_required
@require_GET
def job_status(request, pk: int):
    return JsonResponse(state(_visible_job(request, pk), request.user))


@login_required
@require_GET
def job_output(request, pk: int):
    job = _visible_job(request, pk)
    path = jobs.output_path(job)
    if path is None or not path.is_file():
        raise Http404("This job has no output file.")
    # A name the reader recognises (a printed map's: 规划项目图-荷花池社区-2026-12-07.pdf).
    name = (job.report or {}).get("file_name") or f"{job.kind}-{job.pk}{path.suffix}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)


@login_required
@require_POST
def job_retry(request, pk: int):
    job = _visible_job(request, pk)
    try:
        jobs.retry(job)
    except ParamError as exc:
        return _bad(exc)
    return redirect("job-detail", pk=job.pk)


@require_POST
def print_map(request, slug: str):
    """The map pages' "print" action: a render_map job of the page's layers."""
    page = pages.PAGES.get(slug)
    if page is None or not page.printable:
        raise Http404("This map cannot be printed.")
    denied = gate.check(request, page.slug)  # the map's own gate: who may open it may print it
    if denied is not None:
        return denied
    layers = [
        layer.slug
        for layer in page.layers
        if access.can_read(request.user, registry.get(layer.slug))
    ]
    raw = {name: request.POST.get(name, "") for name in ("bbox", "format", "paper")}
    raw |= {name: request.POST.get(name, "") for name in ("orientation", "title", "subtitle")}
    raw["layers"] = layers
    if not raw["title"]:
        raw["title"] = pick((page.title_zh, page.title_en))
    # The area: the current view (bbox), or a community, grid cell or site chosen by name.
    area = request.POST.get("area", "view") or "view"
    kind, _, key = area.partition(":")
    if kind in ("community", "grid", "site") and key:
        raw[kind] = key
        raw["bbox"] = ""
    elif kind != "view":
        return _bad(ParamError("area", "choose the current view, a community, a grid or a site"))
    for name in ("format", "paper", "orientation"):
        if not raw[name]:
            raw.pop(name)
    try:
        if not any(raw.get(k) for k in ("bbox", "community", "grid", "site")):
            raise ParamError("bbox", "the map's extent is missing")
        job = jobs.start_job("render_map", request.user, raw)
    except ParamError as exc:
        return _bad(exc)
    return redirect("job-detail", pk=job.pk)


@require_POST
def start_ledger(request):
    """The dashboard's "prepare the ledger" button: a hazard_ledger job (the list's filters from
    the query string), followed on its job page, which offers the workbook when it is done."""
    denied = gate.check(request, "dashboard")  # who may open the dashboard may ask for it
    if denied is not None:
        return denied
    filters = {name: request.GET.getlist(name) for name in request.GET}
    try:
        job = jobs.start_job("hazard_ledger", request.user, {"filters": filters})
    except ParamError as exc:
        return _bad(exc)
    return redirect("job-detail", pk=job.pk)


def _bad(exc: ParamError):
    return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
