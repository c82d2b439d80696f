"""The public report pages (随手拍), for a phone and with no account: /report/ (the form, what
is already known nearby, "me too") and /report/<code>/ (the public status with its QR code, the
closing photo, "not fixed" and the rating). The rules are the reports service's; these views
parse requests strictly and answer in the page's language.
"""

from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from geo_service.middleware.limits import RateLimited, client_ip, too_many
from layers.channels.public.words import PLAIN_CATEGORY, script_words, words
from layers.compose import builder
from layers.compose import words as map_words
from layers.domain import vocabularies as status
from layers.domain.language import lang, pick
from layers.query import params as p
from layers.services import reports
from layers.services.reports.submit import FIELDS, GUARD_FIELDS, normalise_code

DEVICE_COOKIE = "hh_device"
YEAR = 365 * 24 * 3600


def sender(request) -> reports.Sender:
    return reports.Sender(address=client_ip(request), device=request.COOKIES.get(DEVICE_COOKIE))


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _single_fields(query, allowed) -> tuple[dict, dict]:
    """Each field's one value; a repeated or unknown field is an error naming it."""
    data, errors = {}, {}
    for name in query:
        values = query.getlist(name)
        if name == "csrfmiddlewaretoken":
            continue
        if name not in allowed:
            errors[name] = ["unknown field"]
        elif len(values) != 1:
            errors[name] = ["sent more than once"]
        else:
            data[name] = values[0]
    return data, errors


def _categories() -> list[dict]:
    return [
        {
            "value": t.value,
            "label": pick((t.zh, t.en)),
            "plain": pick(PLAIN_CATEGORY[t.value]),
            "color": t.color,
        }
        for t in status.HAZARD_CATEGORY.terms
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def report(request):
    """The report form (GET), and sending it (POST: JSON for the page's script, else a redirect
    to the status page)."""
    if request.method == "POST":
        return _send(request)
    return _form(request)


def _form(request, errors: dict | None = None, status_code: int = 200):
    from django.conf import settings

    minx, miny, maxx, maxy = settings.SERVICE_AREA
    config = {
        "lang": lang(),
        # Leaflet's own words (zoom buttons) in the page's language.
        "control_words": map_words.control_words(),
        "bounds": [[miny, minx], [maxy, maxx]],
        "centre": [31.7835, 119.9475],
        "basemap": builder.basemap_layers(request.user, embed=False)
        if builder.basemap_name() == "none"
        else [],
        "maxPhotos": settings.REPORT_MAX_PHOTOS,
        "maxSide": settings.REPORT_PHOTO_MAX_SIDE,
        "maxBytes": 500 * 1024,
        "urls": {
            "send": reverse("report"),
            "nearby": reverse("report-nearby"),
            "meToo": reverse("report-me-too"),
        },
        "words": script_words(),
    }
    context = {
        "page_title": pick(("随手拍", "Report a problem")),
        "clean_header": True,
        "w": words(),
        "categories": _categories(),
        "form_token": reports.form_token(),
        "config": config,
        "errors": errors or {},
    }
    response = render(request, "reports/report.html", context, status=status_code)
    if DEVICE_COOKIE not in request.COOKIES:
        response.set_cookie(
            DEVICE_COOKIE,
            reports.new_device_id(),
            max_age=YEAR,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


def _send(request):
    data, errors = _single_fields(request.POST, set(FIELDS) | set(GUARD_FIELDS))
    for name in request.FILES:
        if name != "photos":
            errors[name] = ["unknown file field; send photos as 'photos'"]
    if errors:
        return _refused(request, reports.Invalid(errors))
    try:
        sent = reports.submit(data, request.FILES.getlist("photos"), sender(request), guarded=True)
    except reports.Invalid as exc:
        return _refused(request, exc)
    except RateLimited as exc:
        return too_many(exc) if _wants_json(request) else _form_limited(request, exc)
    url = reverse("report-status", args=[sent.code])
    if not _wants_json(request):
        return redirect(url)
    body = {"code": sent.code, "url": url, "qr": reverse("report-qr", args=[sent.code])}
    return JsonResponse(body, status=201)


def _refused(request, exc):
    if _wants_json(request):
        return JsonResponse({"errors": exc.errors}, status=400)
    return _form(request, exc.errors, status_code=400)


def _form_limited(request, exc):
    response = _form(request, {"form": [script_words()["tooManyReports"].format(
        minutes=max(1, exc.retry_after // 60))]}, status_code=429)  # fmt: skip
    response["Retry-After"] = str(exc.retry_after)
    return response


@require_GET
def nearby(request):
    """Open reports and hazards of a category near a point: their public status only."""
    data, errors = _single_fields(request.GET, {"category", "lon", "lat"})
    values = {}
    parsers = {
        "category": lambda raw: p.choices("category", [raw], status.HAZARD_CATEGORY.values)[0],
        "lon": lambda raw: p.number("lon", raw, low=-180, high=180),
        "lat": lambda raw: p.number("lat", raw, low=-90, high=90),
    }
    for name, parse in parsers.items():
        if name not in data:
            errors.setdefault(name, ["required"])
            continue
        try:
            values[name] = parse(data[name])
        except p.ParamError as exc:
            errors[name] = [exc.message]
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    try:
        found = reports.nearby(values["category"], values["lon"], values["lat"], sender(request))
    except RateLimited as exc:
        return too_many(exc)
    from django.conf import settings

    return JsonResponse({"radius_m": settings.REPORT_NEARBY_RADIUS_M, "items": found})


@require_POST
def me_too(request):
    data, errors = _single_fields(request.POST, {"ref"})
    if errors or "ref" not in data:
        return JsonResponse({"errors": errors or {"ref": ["required"]}}, status=400)
    try:
        people = reports.me_too(data["ref"], sender(request))
    except reports.NotFound as exc:
        return JsonResponse({"detail": str(exc)}, status=404)
    except reports.NotNow as exc:
        return JsonResponse({"detail": str(exc)}, status=409)
    return JsonResponse({"people": people})


@require_GET
def lookup(request):
    """The code typed on the report page: to its status page."""
    code = normalise_code(request.GET.get("code", ""))
    if code is None:
        messages.error(request, words()["not_found"])
        return redirect("report")
    return redirect("report-status", code=code)


def _found(request, code: str):
    try:
        return reports.find(code, sender(request))
    except reports.NotFound:
        raise Http404("No report with this code.") from None


@never_cache
@require_GET
def status_page(request, code: str):
    """The public status: steps with their times, the promised time, the reason, the closing
    photos, and (for a fixed one) "not fixed" and the rating."""
    found = _found(request, code)
    if found.code != code:
        return redirect("report-status", code=found.code)
    view = reports.public_view(found)
    w = words()
    promised = view["promised"]
    if promised:
        key = "promised_answer" if promised["what"] == "answer" else "promised_fix"
        promised = w[key].format(date=promised["by"])
    feedback = view["feedback"]
    if feedback:
        until = timezone.localtime(dt.datetime.fromisoformat(feedback["until"]))
        feedback = {
            **feedback,
            "until_text": w["feedback_until"].format(date=f"{until:%Y-%m-%d %H:%M}"),
            "rated_text": w["rated"].format(n=feedback["rating"]),
        }
    context = {
        "page_title": w["status_title"],
        "clean_header": True,
        "w": w,
        "en": lang() == "en",
        "v": view,
        "promised": promised,
        "feedback": feedback,
        "steps": [
            {**s, "at": timezone.localtime(dt.datetime.fromisoformat(s["at"]))}
            for s in view["steps"]
        ],  # fmt: skip
        "link": request.build_absolute_uri(reverse("report-status", args=[found.code])),
        "config": {"maxSide": 1600, "maxBytes": 500 * 1024, "words": script_words()},
    }
    return render(request, "reports/status.html", context)


@require_GET
def qr(request, code: str):
    """The status page's link as a QR code (SVG), to keep or to show someone."""
    import segno

    found = _found(request, code)
    link = request.build_absolute_uri(reverse("report-status", args=[found.code]))
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="svg", scale=5, border=2, title=found.code)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    patch_cache_control(response, private=True, max_age=3600)
    return response


@require_GET
def closing_photo(request, code: str, pk: int):
    """A photo of the fix, only when it is part of this report's public status."""
    from layers.domain.models import HazardPhoto

    found = _found(request, code)
    if pk not in reports.public_view(found)["closing_photos"]:
        raise Http404("No such photo.")
    photo = HazardPhoto.objects.get(pk=pk)
    response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
    patch_cache_control(response, private=True, max_age=3600)
    return response


def _feedback_answer(request, code, done: str, action):
    try:
        action()
    except reports.Invalid as exc:
        if _wants_json(request):
            return JsonResponse({"errors": exc.errors}, status=400)
        for field, errors in exc.errors.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
    except reports.NotFound:
        raise Http404("No report with this code.") from None
    except reports.NotNow as exc:
        if _wants_json(request):
            return JsonResponse({"detail": str(exc)}, status=409)
        messages.error(request, words()["feedback_closed"])
    else:
        if _wants_json(request):
            return JsonResponse({"ok": True})
        messages.success(request, words()[done])
    return redirect("report-status", code=code)


@require_POST
def not_fixed(request, code: str):
    data, errors = _single_fields(request.POST, {"note"})
    files = request.FILES.getlist("photo")
    if len(files) > 1 or set(request.FILES) - {"photo"}:
        errors["photo"] = ["one photo, as 'photo'"]
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    upload = files[0] if files else None
    return _feedback_answer(
        request,
        code,
        "not_fixed_done",
        lambda: reports.not_fixed(code, data.get("note", ""), upload, sender(request)),
    )


@require_POST
def rate(request, code: str):
    data, errors = _single_fields(request.POST, {"rating"})
    if errors:
        return JsonResponse({"errors": errors}, status=400)
    return _feedback_answer(
        request,
        code,
        "rating_done",
        lambda: reports.rate(code, data.get("rating"), sender(request)),
    )
