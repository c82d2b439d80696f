"""The rates on the dashboard (a table and bar charts per grid cell, unit, person or month) and
the drill-down page behind every number: /dashboard/hazards/?number=…&by=…&key=…&from=…&to=…
lists the hazards that number counts, each linking to the hazard; ?grid=CODE lists a cell's
open hazards (the map's cells link there). Figures: layers.query.kpis."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from layers.channels.portal import nav
from layers.domain import vocabularies as status
from layers.domain.models import SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, roles_of
from layers.query import dashboard as figures
from layers.query import kpis

# The table's columns: (number, zh, en); rates are shown beside their counts.
COLUMNS = (
    ("reported", "上报", "Reported"),
    ("dispatched", "派遣", "Dispatched"),
    ("closed", "销号", "Closed"),
    ("on_time", "按期", "On time"),
    ("late", "超期销号", "Closed late"),
    ("reinspected", "复查", "Re-inspected"),
    ("reworked", "返工", "Reworked"),
    ("reopened", "群众反映未整改", "Reopened by residents"),
    ("returned", "退回", "Returned"),
    ("overdue_now", "当前超期", "Overdue now"),
    ("rated", "群众评价", "Rated by reporters"),
    ("satisfied", "满意", "Satisfied"),
)
# The rates beside the counts, and their colours in the chart.
SERIES = (
    ("on_time_rate", "#43a047"),
    ("rework_rate", "#e53935"),
    ("satisfaction_rate", "#1e88e5"),
)
BY_LABELS = {
    "grid": ("网格", "Grid cell"),
    "unit": ("责任单位", "Responsible unit"),
    "person": ("承办人", "Assignee"),
    "month": ("月份", "Month"),
}


def hazard_url(user, pk: int) -> str:
    """Where a hazard opens for `user`: the field view for inspectors and leaders, its
    timeline for others."""
    if roles_of(user) & {EDITOR, INSPECTOR}:
        return f"{reverse('field')}?hazard={pk}"
    return reverse("api:hazards-timeline", args=[pk])


def drill_url(number: str, by: str | None, key: str | None, start, end) -> str:
    query = {"number": number, "from": start.isoformat(), "to": end.isoformat()}
    if by is not None:
        query.update(by=by, key=key or "")
    return f"{reverse('dashboard-hazards')}?{urlencode(query)}"


def context(params) -> dict:
    """The rates section's context; BadQuery for bad by/from/to."""
    by, start, end = kpis.parse(params)
    data = kpis.compute(by, start, end)
    rows = []
    for group in [*data["groups"], {"key": None, **data["total"]}]:
        key = group["key"]
        rows.append(
            {
                "key": key,
                "label": (key or nav.pick(("（未填）", "(none)")))
                if key is not None
                else nav.pick(("合计", "Total")),
                "total": key is None,
                "cells": [
                    {
                        "number": n,
                        "value": group[n],
                        "url": drill_url(n, by if key is not None else None, key, start, end),
                    }
                    for n, _zh, _en in COLUMNS
                ],
                "on_time_rate": _percent(group["on_time_rate"]),
                "rework_rate": _percent(group["rework_rate"]),
                "satisfaction_rate": _percent(group["satisfaction_rate"]),
                "mean": group["mean_workdays_to_close"],
            }
        )
    return {
        "by": by,
        "from": start,
        "to": end,
        "by_choices": [(k, nav.pick(v)) for k, v in BY_LABELS.items()],
        "by_label": nav.pick(BY_LABELS[by]),
        "columns": [nav.pick((zh, en)) for _n, zh, en in COLUMNS],
        "rows": rows,
        "chart": rate_chart(data["groups"], by=nav.pick(BY_LABELS[by])),
    }


def _percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def rate_chart(groups: list[dict], width: int = 640, *, by: str = "") -> str:
    """On-time rate (green), rework rate (red) and satisfaction rate (blue) per group as
    horizontal bars, SVG, named and described in words (its <title> and <desc>)."""
    rows = [g for g in groups if any(g[name] is not None for name, _fill in SERIES)]
    if not rows:
        return ""
    series = {
        "on_time_rate": _("on-time rate"),
        "rework_rate": _("rework rate"),
        "satisfaction_rate": _("satisfaction rate"),
    }
    said = "; ".join(
        f"{g['key'] or '—'}: "
        + ", ".join(f"{series[k]} {_percent(g[k])}" for k in series if g[k] is not None)
        for g in rows
    )
    title = _("On-time, rework and satisfaction rates by %(by)s") % {"by": by}
    desc = _("%(figures)s. The same figures are in the table above.") % {"figures": said}
    bar, gap, label_w = 9, 8, 180
    step = len(SERIES) * bar + gap
    height = len(rows) * step + 10
    plot = width - label_w - 50
    parts = []
    for i, g in enumerate(rows):
        y = 5 + i * step
        parts.append(
            format_html(
                '<text x="0" y="{}" font-size="11" fill="#334155">{}</text>',
                y + bar + 3,
                (g["key"] or "—")[:16],
            )
        )
        for j, (name, fill) in enumerate(SERIES):
            value = g[name]
            if value is None:
                continue
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}" data-key="{}" '
                    'data-series="{}" data-value="{}"><title>{} {}: {}%</title></rect>'
                    '<text x="{}" y="{}" font-size="10" fill="#475569">{}%</text>',
                    label_w,
                    y + j * bar,
                    round(max(plot * value, 1), 1),
                    bar - 1,
                    fill,
                    g["key"],
                    name,
                    value,
                    g["key"],
                    series[name],
                    round(value * 100),
                    label_w + round(plot * value, 1) + 4,
                    y + j * bar + bar - 1,
                    round(value * 100),
                )
            )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" id="hh-rates-chart" width="100%" '
        'viewBox="0 0 {} {}" role="img" aria-labelledby="hh-rates-chart-title '
        'hh-rates-chart-desc">{}{}</svg>',
        width,
        height,
        figures.labelled("hh-rates-chart", title, desc),
        format_html_join("", "{}", ((p,) for p in parts)),
    )


def drill_context(user, params) -> dict:
    """The hazards behind one number of the rates, or the open hazards of one grid cell
    (?grid=CODE); ValueError names a bad parameter."""
    grid = params.get("grid")
    if grid is not None:
        if set(params) - {"grid"}:
            raise ValueError("grid: give only grid=CODE")
        hazards = SafetyHazard.objects.filter(
            grid_cell__code=grid, status__in=status.HAZARD_OPEN_STATUSES
        )
        title = nav.pick((f"网格 {grid} 的在办隐患", f"Open hazards of grid cell {grid}"))
    else:
        number = params.get("number", "")
        if number not in kpis.NUMBERS:
            raise ValueError(f"number: one of {', '.join(kpis.NUMBERS)}")
        rest = {k: v for k, v in params.items() if k not in ("number", "key")}
        try:
            by, start, end = kpis.parse(rest)
        except kpis.BadQuery as exc:
            raise ValueError("; ".join(f"{k}: {v[0]}" for k, v in exc.errors.items())) from None
        by = by if "by" in params else None
        ids = kpis.drill(number, by, params.get("key"), start, end)
        hazards = SafetyHazard.objects.filter(pk__in=ids)
        label = {n: nav.pick((zh, en)) for n, zh, en in COLUMNS}[number]
        scope = f" · {params.get('key') or '—'}" if by else ""
        title = f"{label}{scope} · {start} – {end}"
    hazards = hazards.select_related("grid_cell").order_by("pk")
    rows = [
        {
            "h": h,
            "url": hazard_url(user, h.pk),
            "status": status.HAZARD_STATUS.label(h.status, nav.lang()),
            "left": h.workdays_left,
        }
        for h in hazards
    ]
    return {"title": title, "rows": rows}
