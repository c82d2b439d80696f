"""The REST writes a phone may retry answer a repeated `Idempotency-Key` with their first
answer (layers/services/idempotency.py): creating a feature (a hazard report), uploading a
hazard photo and taking a lifecycle step. The views themselves are unchanged: the mixin wraps
their dispatch."""

from __future__ import annotations

from layers.services import idempotency

# The viewset actions (POST) that honour the header.
IDEMPOTENT_ACTIONS = frozenset({"create", "photos", "transitions"})


class IdempotentMixin:
    def dispatch(self, request, *args, **kwargs):
        action = getattr(self, "action_map", {}).get(request.method.lower())
        parent = super().dispatch
        if request.method != "POST" or action not in IDEMPOTENT_ACTIONS:
            return parent(request, *args, **kwargs)
        return idempotency.respond(request, lambda: parent(request, *args, **kwargs))
