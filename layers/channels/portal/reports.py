"""The progress report page (/reports/progress/): two dates side by side per renovation site,
on screen, as XLSX and as one A4 PDF (layers/query/progress.py, layers/io/progress_report.py).
For planners and editors."""

from __future__ import annotations

import datetime as dt

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache

from layers.auth import pages
from layers.channels.portal import nav
from layers.io import progress_report
from layers.query import asof, progress
from layers.query import params as p

FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _quarter_end(today: dt.date) -> dt.date:
    """The last day of the quarter before the one `today` is in."""
    first_month = 3 * ((today.month - 1) // 3) + 1
    return dt.date(today.year, first_month, 1) - dt.timedelta(days=1)


def _dates(params) -> tuple[str, str]:
    unknown = sorted(set(params) - {"first", "second", "format"})
    if unknown:
        raise p.ParamError(unknown[0], "unknown parameter; allowed: first, second, format")
    today = timezone.localdate()
    first = p.single(params, "first") or _quarter_end(today).isoformat()
    second = p.single(params, "second") or today.isoformat()
    return first, second


@never_cache
@pages.gate("progress")
def progress_page(request):
    lang = nav.lang()
    try:
        first, second = _dates(request.GET)
        a, b = asof.parse("first", first), asof.parse("second", second)
        fmt = p.single(request.GET, "format") or "html"
        if fmt not in (*FORMATS, "html"):
            raise p.ParamError("format", "use html, xlsx or pdf")
    except p.ParamError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    rows = progress.report(a, b, lang)
    title = progress_report.LABELS[lang]["title"]
    if fmt != "html":
        writer = progress_report.workbook_bytes if fmt == "xlsx" else progress_report.pdf_bytes
        response = HttpResponse(writer(rows, first, second, lang), content_type=FORMATS[fmt])
        response["Content-Disposition"] = content_disposition_header(
            True, f"{title}-{first}-{second}.{fmt}"
        )
        return response
    context = {
        "page_title": title,
        "nav_active": "progress",
        "first": first,
        "second": second,
        "today": timezone.localdate().isoformat(),
        "headers": progress_report.headers(first, second, lang),
        "rows": [progress_report.cells(row, lang) for row in rows],
    }
    return render(request, "reports/progress.html", context)
