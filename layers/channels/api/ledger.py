"""The hazard ledger's rows: the list's filters applied for a caller (the REST download and the
`hazard_ledger` job share it; AppConfig.ready hands `queryset` to the job kind, which may not
import a channel)."""

from __future__ import annotations

from rest_framework import exceptions

from layers.channels.api import filters
from layers.domain import registry
from layers.query import access
from layers.query.params import ParamError


def queryset(user, params):
    """The hazards of the ledger for `user` with the list's filters `params` (a QueryDict or
    a dict of lists), in the list's order. ParamError names a bad parameter; a caller who may
    not read hazards gets NotAuthenticated / PermissionDenied."""
    spec = registry.get("hazards")
    fields = access.output_fields(user, spec)
    if not fields:
        if not getattr(user, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        raise exceptions.PermissionDenied("Your role may not do this on this layer.")
    paging = sorted(set(params) & set(filters.PAGING_PARAMS))
    if paging:
        raise ParamError(paging[0], "the ledger holds every matching hazard; leave it out")
    found, _query = filters.apply_filters(
        spec.model.all_objects.all(),
        spec,
        params,
        fields,
        may_see_deleted=access.can_see_deleted(user),
        staff=access.is_staff_reader(user),
    )
    return found


def for_job(user, params):
    """`queryset` for a job: a refusal is a ParamError (400 on the web, the job's reason)."""
    try:
        return queryset(user, params)
    except exceptions.APIException as exc:
        raise ParamError("user", str(exc.detail)) from None
