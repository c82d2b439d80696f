"""Who may see and edit what, from the registry: audience, edit_roles and public_fields."""

from __future__ import annotations

from layers.domain import registry, roles
from layers.domain.roles import roles_of

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
    return roles.has_role(user)


can_see_deleted = roles.can_see_deleted


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
