"""OGC API - Features Part 4 (create, replace, update, delete) through the REST API's write path.

A write on /ogc/collections/{id}/items[/{featureId}] is handed to the layer's REST viewset
(layers/api/views.py): the same roles (edit_roles), the same serializer and model validation
(400 naming the field), layers.editing (history, derived links, versions), the hazard
lifecycle of layers/workflow.py (status not writable; steps go through /api/v1/), ETag /
If-Match with 412 on a stale edit and 428 without a precondition. Only the answers change to
what Part 4 says: a create answers 201 with Location, the others keep the REST bodies.
"""

from __future__ import annotations

import json
from functools import cache

from rest_framework.authentication import SessionAuthentication

from layers import registry
from layers.portal.gisauth import ResolvedAuthentication


@cache
def _viewset(slug: str):
    from layers.api.views import viewset_for

    base = viewset_for(registry.get(slug))
    # The Authorization header was checked once by gis_auth; a browser session keeps DRF's
    # CSRF check.
    attrs = {"authentication_classes": [ResolvedAuthentication, SessionAuthentication]}
    return type(f"Ogc{base.__name__}", (base,), attrs)


def dispatch(request, spec: registry.LayerSpec, action: str, pk: int | None = None):
    method = request.method.lower()
    view = _viewset(spec.slug).as_view({method: action})
    response = view(request, **({"pk": str(pk)} if pk is not None else {}))
    if action == "create" and response.status_code == 201:
        created = json.loads(response.content)
        base = request.build_absolute_uri("/ogc").rstrip("/")
        response["Location"] = f"{base}/collections/{spec.slug}/items/{created['id']}"
    return response
