"""The layers as they were at an instant, read from their history (django-simple-history).

`features(spec, at)` is one historical record per feature: the version current at `at`
(the latest record not after it), features deleted since included, features created after it
or hard-removed by then left out. It is a queryset of the layer's historical model with the
same field names, so the channels' filters and the PostGIS encoders run on it unchanged; the
feature's id is the record's `id` (its primary key is the record's own `history_id`).

`as_of` takes a date (the layer as that day ended, Asia/Shanghai) or a date-time, strictly
(query/times.py); never one in the future.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef
from django.utils import timezone

from layers.domain import registry
from layers.query import times
from layers.query.params import ParamError, _show


def parse(name: str, raw: str, now: dt.datetime | None = None) -> dt.datetime:
    """The instant `raw` names: a date-time itself, a date the last instant of that day (the
    present, for today); a ParamError for anything else or a time in the future."""
    moment = times.moment(name, raw)
    now = now or timezone.now()
    if moment.start > now:
        raise ParamError(name, f"{_show(raw)} is in the future; the history ends now")
    if moment.is_day:
        end = moment.next - dt.timedelta(microseconds=1) if moment.next else now
        return min(end, now)
    return moment.start


def history_model(spec: registry.LayerSpec):
    return spec.model.history.model


def features(spec: registry.LayerSpec, at: dt.datetime):
    """The version of every feature of `spec` current at `at` (deleted ones keep deleted_at)."""
    model = history_model(spec)
    # A feature's records are appended as it changes: a later record has a larger history_id.
    # "No newer record by then" is then one probe of the (id, history_id) index per candidate.
    newer = model.objects.filter(
        id=OuterRef("id"), history_id__gt=OuterRef("history_id"), history_date__lte=at
    )
    return (
        model.objects.filter(history_date__lte=at).exclude(history_type="-").filter(~Exists(newer))
    )


def ordering(order: list[str]) -> list[str]:
    """A live list's ordering for the history: its `pk` is the feature's `id` there."""
    out = []
    for term in order:
        bare = term.lstrip("-")
        out.append(term[: len(term) - len(bare)] + ("id" if bare == "pk" else bare))
    return out
