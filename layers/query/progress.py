"""The progress report: per renovation site, its stage, progress and households at two dates
and the change between them (the quarterly report planners write by hand), from history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from layers.domain import registry
from layers.query import asof

FIGURES = ("progress", "households_total", "households_signed", "households_vacated")


@dataclass
class SiteRow:
    id: int
    name: str
    kind: str
    stage: tuple[str | None, str | None]  # stage labels at the first and second date
    figures: dict[str, tuple[int | None, int | None]]
    exists: tuple[bool, bool]

    def change(self, name: str) -> int | None:
        a, b = self.figures[name]
        return None if a is None or b is None else b - a

    @property
    def stage_changed(self) -> bool:
        return self.stage[0] != self.stage[1]


def _state(spec, at: dt.datetime) -> dict[int, object]:
    rows = asof.features(spec, at).filter(deleted_at__isnull=True)
    return {r.id: r for r in rows.only("id", "name", "name_en", "kind", "status", *FIGURES)}


def report(first: dt.datetime, second: dt.datetime, lang: str = "zh") -> list[SiteRow]:
    """Every site that existed at either instant, in name order."""
    spec = registry.get("renovation-sites")
    vocabulary, kinds = spec.status_vocabulary, spec.filter_fields["kind"]
    a, b = _state(spec, first), _state(spec, second)

    def stage(record):
        if record is None:
            return None
        return vocabulary.label(record.status, lang) if record.status in vocabulary.values else ""

    out = []
    for pk in sorted(set(a) | set(b)):
        then, now = a.get(pk), b.get(pk)
        latest = now or then
        name = (latest.name_en or latest.name) if lang == "en" else latest.name
        out.append(
            SiteRow(
                id=pk,
                name=name,
                kind=kinds.label(latest.kind, lang) if latest.kind in kinds.values else "",
                stage=(stage(then), stage(now)),
                figures={
                    f: (getattr(then, f) if then else None, getattr(now, f) if now else None)
                    for f in FIGURES
                },
                exists=(then is not None, now is not None),
            )
        )
    out.sort(key=lambda r: r.name)
    return out
