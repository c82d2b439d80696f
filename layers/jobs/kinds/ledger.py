"""The "hazard_ledger" job kind: the hazard ledger (隐患台账, layers/io/ledger.py) written by a
worker with progress (rows written / matching hazards), for ledgers too large to download in
one request (`LEDGER_DIRECT_ROWS`). Its output is the job's private file: its owner and editors
download it from the job's page.

The kind stores the list's filters as the caller sent them; the rows are chosen by the REST
list's own filter code, which a job kind may not import (channels stand to the right of jobs):
AppConfig.ready hands it over with `use_query` (layers/channels/api/ledger.py `for_job`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import QueryDict
from django.utils import timezone

from layers.io import ledger
from layers.jobs import engine as jobs
from layers.query.params import ParamError

KIND = "hazard_ledger"
MAX_VALUES = 50
MAX_TEXT = 500

# (user, filters as a QueryDict) -> the hazards' queryset; ParamError names a bad filter.
_query: Callable | None = None


def use_query(fn: Callable) -> None:
    global _query
    _query = fn


def _querydict(filters: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for name, values in filters.items():
        query.setlist(name, values)
    return query


def _hazards(user, filters: dict[str, list[str]]):
    if _query is None:
        raise RuntimeError("the ledger's query was not set up (AppConfig.ready)")
    return _query(user, _querydict(filters))


def clean_params(params: dict, user=None) -> dict:
    """{"filters": {name: [values]}}: the REST list's filters (checked by the list's code)."""
    unknown = sorted(set(params) - {"filters"})
    if unknown:
        raise ParamError(unknown[0], "unknown parameter; known: filters")
    raw = params.get("filters") or {}
    if not isinstance(raw, dict):
        raise ParamError("filters", "expected an object {name: [values]}")
    filters: dict[str, list[str]] = {}
    for name, values in raw.items():
        values = [values] if isinstance(values, str) else values
        if (
            not isinstance(name, str)
            or not isinstance(values, list)
            or len(values) > MAX_VALUES
            or not all(isinstance(v, str) and len(v) <= MAX_TEXT for v in values)
        ):
            raise ParamError("filters", f"bad filter {str(name)[:40]!r}")
        filters[name] = values
    _hazards(user, filters)  # the list's checks, before anything is queued
    return {"filters": filters}


def file_name() -> str:
    return f"hazard-ledger-{timezone.localtime().strftime('%Y%m%d-%H%M')}.xlsx"


@jobs.register(KIND, validate=clean_params, title=("隐患台账", "Hazard ledger"))
def ledger_job(job, params, progress):
    hazards = _hazards(job.user, params["filters"])
    total = hazards.count()
    progress(done=0, total=total, written=0, force=True)
    out = jobs.workdir(job) / "ledger.xlsx"

    def tell(done: int, total: int) -> None:
        progress(done=done, total=total, written=done)

    rows = ledger.write(hazards, out, tell, total=total)
    progress(done=rows, total=max(total, rows), written=rows, force=True)
    return {"rows": rows, "file_name": file_name(), "filters": params["filters"]}, out
