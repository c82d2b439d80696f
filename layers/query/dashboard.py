"""The hazard dashboard's figures, each one a GROUP BY in PostgreSQL, and its two drawings
(the grid-cell choropleth and the weekly trend) as server-side SVG: no chart library, no CDN.

"Open" is every status but closed and rejected; "overdue" is SafetyHazard.overdue_q (computed
from the deadline, never stored); a week starts on Monday in the service's time zone; "closed"
in the trend counts 销号 (status closed) by the week of closed_at.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from layers.domain import clock, language
from layers.domain import vocabularies as status
from layers.domain.models import SafetyHazard

TREND_WEEKS = 26
# Choropleth classes: upper bounds (inclusive) of open hazards per cell, and their colours.
CLASSES = ((0, "#f1f5f9"), (1, "#fde2c8"), (3, "#fbb27a"), (5, "#f07c3c"), (None, "#c2410c"))
OPEN = Q(status__in=status.HAZARD_OPEN_STATUSES)


def _label(vocabulary, value: str, lang: str) -> str:
    return vocabulary.label(value, lang)


def _breakdown(field: str, vocabulary, lang: str) -> list[dict]:
    """Per value of `field`: all live hazards, the open ones and the overdue ones (one query)."""
    rows = {
        r[field]: r
        for r in SafetyHazard.objects.values(field).annotate(
            total=Count("pk"),
            open=Count("pk", filter=OPEN),
            overdue=Count("pk", filter=SafetyHazard.overdue_q()),
        )
    }
    out = []
    for term in vocabulary.terms:
        row = rows.get(term.value, {})
        out.append(
            {
                "value": term.value,
                "label": _label(vocabulary, term.value, lang),
                "color": term.color,
                "total": row.get("total", 0),
                "open": row.get("open", 0),
                "overdue": row.get("overdue", 0),
            }
        )
    return out


def cells() -> list[dict]:
    """Every live grid cell with its open hazards, and its outline as an SVG path in Web
    Mercator metres (PostGIS ST_AsSVG: y is already negated for SVG)."""
    sql = """
        SELECT g.code, g.name, g.name_en, COUNT(h.id) AS open,
               ST_AsSVG(ST_Transform(g.geom, 3857), 0, 1) AS path
        FROM layers_gridcell g
        LEFT JOIN layers_safetyhazard h
               ON h.grid_cell_id = g.id AND h.deleted_at IS NULL AND h.status = ANY(%s)
        WHERE g.deleted_at IS NULL
        GROUP BY g.id ORDER BY g.code
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(status.HAZARD_OPEN_STATUSES)])
        en = language.lang() == "en"
        return [
            {"code": code, "name": (name_en or name) if en else name, "open": n, "path": path}
            for code, name, name_en, n, path in cursor.fetchall()
        ]


def _extent() -> tuple[float, float, float, float] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
            "ST_Extent(ST_Transform(geom, 3857)) AS e FROM layers_gridcell "
            "WHERE deleted_at IS NULL) s"
        )
        row = cursor.fetchone()
    return None if row is None or row[0] is None else row


def weeks(today: dt.date | None = None, count: int = TREND_WEEKS) -> list[dict]:
    """Found and closed hazards per week, the last `count` weeks up to this one."""
    today = today or clock.today()
    this_monday = today - dt.timedelta(days=today.weekday())
    first = this_monday - dt.timedelta(weeks=count - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))

    def per_week(queryset, field: str) -> dict[dt.date, int]:
        rows = (
            queryset.filter(**{f"{field}__gte": start})
            .annotate(week=TruncWeek(field))
            .values("week")
            .annotate(n=Count("pk"))
        )
        return {timezone.localtime(r["week"]).date(): r["n"] for r in rows}

    found = per_week(SafetyHazard.objects.all(), "found_at")
    closed = per_week(SafetyHazard.objects.filter(status="closed"), "closed_at")
    out = []
    for i in range(count):
        monday = first + dt.timedelta(weeks=i)
        out.append({"week": monday, "found": found.get(monday, 0), "closed": closed.get(monday, 0)})
    return out


def overdue_list() -> list[dict]:
    today = clock.today()
    rows = (
        SafetyHazard.objects.filter(SafetyHazard.overdue_q())
        .select_related("grid_cell", "assignee")
        .order_by("deadline", "pk")
    )
    return [
        {
            "id": h.pk,
            "name": h.name,
            "grid": h.grid_cell.code if h.grid_cell else "",
            "level": h.level,
            "status": h.status,
            "deadline": h.deadline,
            "days": h.overdue_days(today),
            "supervised": h.supervised,
            "unit": h.responsible_unit,
            "assignee": h.assignee.username if h.assignee else "",
        }
        for h in rows
    ]


def compute(lang: str = "zh") -> dict:
    totals = SafetyHazard.objects.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=OPEN),
        overdue=Count("pk", filter=SafetyHazard.overdue_q()),
        supervised=Count("pk", filter=OPEN & Q(supervised=True)),
        outside=Count("pk", filter=OPEN & Q(grid_cell__isnull=True)),
    )
    by_status = _breakdown("status", status.HAZARD_STATUS, lang)
    overdue = overdue_list()
    for row in overdue:
        row["level_label"] = _label(status.HAZARD_LEVEL, row["level"], lang)
        row["status_label"] = _label(status.HAZARD_STATUS, row["status"], lang)
    return {
        "totals": totals,
        "by_status": by_status,
        "by_level": _breakdown("level", status.HAZARD_LEVEL, lang),
        "by_category": _breakdown("category", status.HAZARD_CATEGORY, lang),
        "overdue": overdue,
        "cells": cells(),
        "weeks": weeks(),
    }


def colour(count: int) -> str:
    for bound, fill in CLASSES:
        if bound is None or count <= bound:
            return fill
    return CLASSES[-1][1]


def labelled(svg_id: str, title: str, desc: str):
    """An SVG chart's name and text alternative: its <title> and <desc>, which the <svg>
    names with aria-labelledby (what axe's svg-img-alt asks for; screen readers read both)."""
    return format_html(
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>', svg_id, title, svg_id, desc
    )


def choropleth_svg(
    rows: list[dict], width: int = 360, link: str | None = None, *, title: str = "", desc: str = ""
) -> str:
    """Grid cells coloured by their open hazards, each with its code and count (escaped);
    with `link`, each cell links to `link?grid=CODE` (its open hazards). `title` and `desc`
    name the chart and say what it shows in words."""
    extent = _extent()
    if extent is None or not rows:
        return ""
    minx, miny, maxx, maxy = extent
    pad = max(maxx - minx, maxy - miny) * 0.02
    w, h = maxx - minx + 2 * pad, maxy - miny + 2 * pad
    height = round(width * h / w)
    path = (
        '<path d="{}" fill="{}" stroke="#334155" stroke-width="{}" data-code="{}" '
        'data-open="{}"><title>{} {} · {}</title></path>'
    )
    stroke = round(w / 400, 2)
    if link:
        shapes = format_html_join(
            "",
            '<a href="{}">' + path + "</a>",
            (
                (f"{link}?{urlencode({'grid': r['code']})}", r["path"], colour(r["open"]), stroke)
                + (r["code"], r["open"], r["code"], r["name"], r["open"])
                for r in rows
            ),
        )
    else:
        shapes = format_html_join(
            "",
            path,
            (
                (r["path"], colour(r["open"]), stroke, r["code"], r["open"])
                + (r["code"], r["name"], r["open"])
                for r in rows
            ),
        )
    # With links the chart is a group of links (an image may hold no control), named and
    # described the same way.
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" id="hh-choropleth" width="{}" height="{}" '
        'viewBox="{} {} {} {}" role="{}" aria-labelledby="hh-choropleth-title '
        'hh-choropleth-desc">{}{}</svg>',
        width,
        height,
        round(minx - pad, 1),
        round(-maxy - pad, 1),
        round(w, 1),
        round(h, 1),
        "group" if link else "img",
        labelled("hh-choropleth", title, desc),
        shapes,
    )


def trend_svg(
    rows: list[dict],
    width: int = 640,
    height: int = 200,
    *,
    title: str = "",
    desc: str = "",
    series: dict | None = None,
) -> str:
    """Found (bars) and closed (bars beside them) per week, with the week axis labelled;
    `series` names "found" and "closed" in the page's language (each bar's tooltip)."""
    series = series or {}
    if not rows:
        return ""
    top = max([1, *(r["found"] for r in rows), *(r["closed"] for r in rows)])
    left, bottom, right, head = 28, 34, 6, 10
    plot_w, plot_h = width - left - right, height - bottom - head
    slot = plot_w / len(rows)
    bar = max(slot / 2 - 1, 1)
    parts = []
    for i, r in enumerate(rows):
        x = left + i * slot
        for j, (key, fill) in enumerate((("found", "#e53935"), ("closed", "#43a047"))):
            value = r[key]
            bar_h = plot_h * value / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-week="{}" '
                    'data-series="{}" data-value="{}"><title>{} {}: {}</title></rect>',
                    round(x + j * bar, 1),
                    round(head + plot_h - bar_h, 1),
                    round(bar, 1),
                    round(bar_h, 1),
                    fill,
                    r["week"].isoformat(),
                    key,
                    value,
                    r["week"].isoformat(),
                    series.get(key, key),
                    value,
                )
            )
        if i % 4 == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" font-size="10" fill="#475569">{}</text>',
                    round(x, 1),
                    height - bottom + 14,
                    r["week"].strftime("%m-%d"),
                )
            )
    axis = format_html(
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#94a3b8"/>'
        '<text x="2" y="{}" font-size="10" fill="#475569">{}</text>'
        '<text x="2" y="{}" font-size="10" fill="#475569">0</text>',
        left,
        head + plot_h,
        width - right,
        head + plot_h,
        head + 8,
        top,
        head + plot_h,
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" id="hh-trend" width="100%" '
        'viewBox="0 0 {} {}" role="img" aria-labelledby="hh-trend-title hh-trend-desc">'
        "{}{}{}</svg>",
        width,
        height,
        labelled("hh-trend", title, desc),
        axis,
        format_html_join("", "{}", ((p,) for p in parts)),
    )
