"""The intake of public reports (/reports/intake/): editors and grid inspectors see the new
reports in their reach and accept, link, reject or (editors) hide each one. The decisions are
the reports service's; this page shows the queue and posts the forms."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from layers.auth import pages
from layers.channels.portal import nav
from layers.domain import roles
from layers.domain import vocabularies as status
from layers.services import reports

VIEWS = {
    "new": ("待受理", "New"),
    "accepted": ("已受理", "Accepted"),
    "rejected": ("不予受理", "Not accepted"),
    "hidden": ("已隐藏", "Hidden"),
}
ACTIONS = {
    "accept": reports.accept,
    "link": lambda pk, user, data: reports.link(pk, user, data.get("hazard", "")),
    "reject": reports.reject,
    "hide": reports.hide,
}
DONE = {
    "accept": ("已受理，已生成隐患 {hazard}。", "Accepted: hazard {hazard} created."),
    "link": ("已并入隐患 {hazard}。", "Linked to hazard {hazard}."),
    "reject": ("已答复不予受理。", "Answered: not accepted."),
    "hide": ("已隐藏。", "Hidden."),
}


def _terms(vocabulary) -> list[dict]:
    return [{"value": t.value, "label": nav.pick((t.zh, t.en))} for t in vocabulary.terms]


@never_cache
@require_http_methods(["GET", "POST"])
@pages.gate("report-intake")
def intake(request):
    user = request.user
    if request.method == "POST":
        return _decide(request)
    view = request.GET.get("view", "new")
    if view not in VIEWS or (view == "hidden" and not roles.can_hide_reports(user)):
        view = "new"
    if view == "hidden":
        found = reports.queue(user, None, hidden=True)
    else:
        found = reports.queue(user, view)
    found = found.select_related("contact", "hazard")
    contacts = roles.can_read_report_contacts(user)
    items = []
    for report in found[:200]:
        items.append(
            {
                "r": report,
                "category": status.HAZARD_CATEGORY.label(report.category, nav.lang()),
                "public_status": status.REPORT_PUBLIC_STATUS.label(
                    report.public_status, nav.lang()
                ),
                "photos": [
                    {
                        "full": reverse("report-staff-photo", args=[p.pk, "full"]),
                        "thumb": reverse("report-staff-photo", args=[p.pk, "thumb"]),
                    }
                    for p in report.photos.all()
                ],
                "contact": getattr(report, "contact", None) if contacts else None,
                "candidates": reports.candidates(report, user) if report.intake == "new" else [],
            }
        )
    context = {
        "page_title": nav.pick(("随手拍受理", "Report intake")),
        "nav_active": "report-intake",
        "items": items,
        "view": view,
        "views": [
            {"key": k, "label": nav.pick(v), "url": f"{reverse('report-intake')}?view={k}"}
            for k, v in VIEWS.items()
            if k != "hidden" or roles.can_hide_reports(user)
        ],
        "levels": _terms(status.HAZARD_LEVEL),
        "reasons": _terms(status.REPORT_REJECT_REASON),
        "may_hide": roles.can_hide_reports(user),
        "contacts": contacts,
    }
    return render(request, "reports/intake.html", context)


def _decide(request):
    action = request.POST.get("action")
    raw = request.POST.get("report", "")
    if action not in ACTIONS or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        messages.error(request, nav.pick(("请求无效。", "Invalid request.")))
        return redirect("report-intake")
    data = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "action")}
    try:
        result = ACTIONS[action](int(raw), request.user, data)
    except reports.Invalid as exc:
        for field, errors in exc.errors.items():
            messages.error(request, f"{field}: {' '.join(str(e) for e in errors)}")
    except reports.ReportError as exc:
        messages.error(request, str(exc))
    else:
        hazard = getattr(result, "pk", "") if action in ("accept", "link") else ""
        messages.success(request, nav.pick(DONE[action]).format(hazard=hazard))
    return redirect("report-intake")


@require_GET
def staff_photo(request, pk: int, size: str):
    """A reporter's photo, for those who take in reports (within their reach)."""
    from layers.domain.models import ReportPhoto

    user = request.caller
    if size not in ("full", "thumb") or not roles.can_take_reports(user):
        raise Http404("No such photo.")
    photo = ReportPhoto.objects.filter(pk=pk, report__in=reports.queue(user, None)).first()
    if photo is None and roles.can_hide_reports(user):
        photo = ReportPhoto.objects.filter(pk=pk).first()
    if photo is None:
        raise Http404("No such photo.")
    field = photo.image if size == "full" else photo.thumbnail
    response = FileResponse(field.open("rb"), content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=3600)
    patch_vary_headers(response, ("Cookie", "Authorization"))
    return response
