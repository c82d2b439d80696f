"""Live updates, the writing side: every write of a layer marked `live` in the registry (the
hazards) tells PostgreSQL which features changed, with NOTIFY on CHANNEL.

NOTIFY is transactional: it is sent in the write's own transaction and delivered to the
listeners when that transaction commits, never when it rolls back. So a page is told of a
change exactly when the change can be read, and a refused step tells nobody. The writes call
`changed()` from the editing service (create, update, lifecycle steps, soft delete, restore)
and from the derived links' bulk update, so every channel's writes are covered.

The payload names only the layer and the ids (`{"layer": "hazards", "ids": [12]}`): what a
reader may see of them is decided by the live-update process when it reads them, with the same
access rules as every channel (layers/channels/sse/). A payload holds at most IDS_PER_NOTICE ids
(PostgreSQL caps a payload at 8000 bytes); PostgreSQL folds identical notices of one
transaction into one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db import connection

from layers.domain import registry

CHANNEL = "hh_live"
IDS_PER_NOTICE = 500  # 500 ids of up to 12 digits: under PostgreSQL's 8000-byte payload


def payloads(slug: str, ids: Iterable[int]) -> list[str]:
    """The NOTIFY payloads naming `ids` of layer `slug`, in order, IDS_PER_NOTICE at most each."""
    unique = sorted({int(i) for i in ids})
    return [
        json.dumps({"layer": slug, "ids": unique[n : n + IDS_PER_NOTICE]}, separators=(",", ":"))
        for n in range(0, len(unique), IDS_PER_NOTICE)
    ]


def changed_ids(spec: registry.LayerSpec, ids: Iterable[int]) -> None:
    """Tell the listeners, on commit, that these features of `spec` changed (if it is live)."""
    if not spec.live:
        return
    messages = payloads(spec.slug, ids)
    if not messages:
        return
    with connection.cursor() as cursor:
        for message in messages:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, message])


def changed(obj) -> None:
    """Tell the listeners, on commit, that `obj` (a layer feature) changed."""
    try:
        spec = registry.for_model(obj)
    except KeyError:  # not a layer's feature
        return
    if spec.live and obj.pk is not None:
        changed_ids(spec, [obj.pk])
