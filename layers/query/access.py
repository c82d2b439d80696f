"""Who may see and edit what, from the registry: audience, edit_roles and public_fields."""

from __future__ import annotations

from layers.domain import registry
from layers.domain.roles import EDITOR, roles_of

# Fields every reader with a role sees besides the model's own: audit and version.
AUDIT_FIELDS = ("ref", "version", "created_at", "updated_at", "created_by", "updated_by")


def can_read(user, spec: registry.LayerSpec) -> bool:
    return spec.is_public or bool(roles_of(user))


def can_edit(user, spec: registry.LayerSpec) -> bool:
    return bool(roles_of(user) & set(spec.edit_roles))


# Set by the system on every save, never written by a client.
MANAGED_FIELDS = {"id", "geom", "version", "deleted_at", "created_at", "updated_at"}


def writable_fields(spec: registry.LayerSpec) -> list[str]:
    """The properties a client may write (geometry aside), in the model's order."""
    from django.db import models

    return [
        field.name
        for field in spec.model._meta.concrete_fields
        if field.editable
        and field.name not in MANAGED_FIELDS
        and not isinstance(field, models.FileField)
    ]


def is_staff_reader(user) -> bool:
    """A user with a role: reads internal layers, every field, history and every filter."""
    return bool(roles_of(user))


def can_see_deleted(user) -> bool:
    return EDITOR in roles_of(user)


def readable_layers(user) -> list[registry.LayerSpec]:
    return [spec for spec in registry.LAYERS if can_read(user, spec)]


def output_fields(user, spec: registry.LayerSpec) -> tuple[str, ...]:
    """The properties `user` may see, in order; the public gets only the public_fields."""
    if not roles_of(user):
        return spec.public_fields if spec.is_public else ()
    names = []
    for field in spec.model._meta.concrete_fields:
        if field.name in {"id", "geom", "deleted_at"}:
            continue
        names.append(field.name)
    if can_see_deleted(user):
        names.append("deleted_at")
    return tuple(names)


def request_user(request):
    """The caller of a plain Django view: the session user, else the user of an API token or
    of HTTP Basic (each password checked once per request, however many ask).

    Worked out once per request. Raises geo_service.middleware.limits.RateLimited while the caller's
    address is guessing tokens (answered 429 by geo_service.middleware.limits.RateLimitMiddleware).
    """
    cached = getattr(request, "_layers_caller", None)
    if cached is not None:
        return cached
    user = getattr(request, "user", None)
    # An Authorization header speaks for its client, before any session cookie.
    if "HTTP_AUTHORIZATION" in request.META or user is None or not user.is_authenticated:
        from rest_framework.exceptions import AuthenticationFailed, Throttled

        from geo_service.middleware.limits import RateLimited
        from layers.auth.machine import header_user

        try:
            # An API token, or HTTP Basic where it is allowed (layers/auth/machine.py). A bad
            # one is remembered: the GIS channels answer it 401 (gis_auth), others ignore it.
            found = header_user(request)
        except AuthenticationFailed as exc:
            request._layers_auth_error = exc
            found = None
        except Throttled as exc:
            raise RateLimited(exc.wait or 1, str(exc.detail)) from None
        if found:
            user = request._layers_header_user = found
        elif user is None:
            from django.contrib.auth.models import AnonymousUser

            user = AnonymousUser()
    request._layers_caller = user
    return user
