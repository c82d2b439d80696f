"""Writes to layers as plain functions: create, update, soft delete, restore, history.

Every channel writes through here (the REST API, the admin, sample loading and imports), so
every write re-derives the links of the rows that depend on it (`layers.services.derived`) in
the same transaction, and tells the live-update listeners on commit (`layers.services.live`).
Every update proves the version it started from; a stale one raises
StaleVersion and changes nothing (optimistic locking, as uMap and the admin do). Versions
written only by a derived-link change do not make an edit stale (see `is_current`). Callers hold
the transaction."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from layers.domain import registry
from layers.services import derived, live


class StaleVersion(Exception):
    def __init__(self, current: int):
        super().__init__(f"the feature is at version {current}")
        self.current = current


class Missing(Exception):
    pass


class Refused(Exception):
    """A lifecycle rule refuses the write (who may create where, or edit what); the caller's
    transaction must be rolled back (the API answers 403, an import reports the row)."""


def lock(spec: registry.LayerSpec, pk: int, *, deleted: bool = False):
    """The row, locked FOR UPDATE until the transaction ends; Missing if there is none."""
    obj = (
        spec.model.all_objects.select_for_update(of=("self",))
        .filter(pk=pk, deleted_at__isnull=not deleted)
        .first()
    )
    if obj is None:
        raise Missing()
    return obj


def is_current(obj, seen: int | None) -> bool:
    """Whether an edit made on version `seen` may be applied to `obj` (at `obj.version`).

    Yes if nothing changed since, or if every version after `seen` was written by a derived-link
    change (history reason "derived"): those change only links the user cannot edit and that
    the save recomputes, so the edit loses nothing and overwrites nothing.
    """
    current = obj.version
    if seen == current:
        return True
    if not isinstance(seen, int) or not 0 < seen < current:
        return False
    since = list(
        obj.history.filter(version__gt=seen, version__lte=current).values_list(
            "version", "history_change_reason"
        )
    )
    derived_versions = {v for v, reason in since if reason == derived.DERIVED_REASON}
    return len(since) == len(derived_versions) and derived_versions == set(
        range(seen + 1, current + 1)
    )


def check_version(obj, seen: int) -> None:
    if not is_current(obj, seen):
        raise StaleVersion(obj.version)


def lock_for_edit(spec: registry.LayerSpec, pk: int, seen: int, *, deleted: bool = False):
    """The row locked FOR UPDATE, if it is at version `seen`; StaleVersion otherwise."""
    obj = lock(spec, pk, deleted=deleted)
    check_version(obj, seen)
    return obj


def _stamp(obj, user) -> None:
    if getattr(user, "is_authenticated", False):
        obj.updated_by = user
        obj._history_user = user  # token-authenticated requests bypass the history middleware


def list_field_errors(obj) -> dict[str, list[str]]:
    """Each JSON list field the layer's spec names (`list_fields`) holds a list of values of its
    vocabulary (a park's facilities, a service point's services)."""
    errors = {}
    for name, vocabulary in registry.for_model(type(obj)).list_fields.items():
        value = getattr(obj, name)
        if not isinstance(value, list):
            errors[name] = [f"{name} must be a list of values."]
            continue
        unknown = [v for v in value if v not in vocabulary.values]
        if unknown:
            allowed = ", ".join(vocabulary.values)
            errors[name] = [f"Unknown value(s) {unknown} in {name}; use {allowed}."]
    return errors


def full_clean(obj, **kwargs) -> None:
    """Every check a write must pass: the model's own rules and the registry's list fields."""
    errors: dict[str, list[str]] = {}
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for name, messages in list_field_errors(obj).items():
        errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def save(obj, user):
    """Save `obj` as changed by `user` (new or not) and re-derive the links that depend on it."""
    if obj._state.adding and getattr(user, "is_authenticated", False):
        obj.created_by = user
    _stamp(obj, user)
    derived.apply_own(obj)
    obj.save()
    derived.changed(obj, user)
    live.changed(obj)
    return obj


def create(spec: registry.LayerSpec, values: dict, user):
    return save(spec.model(**values), user)


def create_as(spec: registry.LayerSpec, values: dict, user):
    """Create a feature as `user` would through any channel: a layer with a lifecycle sets its
    server values, checks where the user may create, and starts the timeline. Refused when the
    lifecycle says no (after the write: roll the transaction back)."""
    wf = spec.workflow_module
    if wf is not None:
        values = {**values, **wf.server_values(user)}
    obj = create(spec, values, user)
    if wf is not None:
        refused = wf.may_create_at(user, obj)
        if refused:
            raise Refused(refused)
        wf.record_creation(obj, user)
    return obj


def check_edit(spec: registry.LayerSpec, obj, user) -> None:
    """Refused when the layer's lifecycle does not let `user` edit `obj`'s plain fields."""
    wf = spec.workflow_module
    refused = wf.may_edit(user, obj) if wf is not None else None
    if refused:
        raise Refused(refused)


def update_as(spec: registry.LayerSpec, obj, values: dict, user):
    """Edit `obj` as `user` would through any channel (REST, OGC Part 4): the lifecycle
    decides whether the user may edit it, and, when the geometry moves, whether the user may
    place it where it lands (a grid worker stays in their cells, as when creating). Refused
    after the write: roll the transaction back."""
    check_edit(spec, obj, user)
    before = obj.geom.clone() if getattr(obj, "geom", None) is not None else None
    obj = update(obj, values, user)
    wf = spec.workflow_module
    moved = "geom" in values and (before is None or not before.equals_exact(obj.geom, 0))
    if wf is not None and moved:
        refused = wf.may_move_to(user, obj)
        if refused:
            raise Refused(refused)
    check_edit(spec, obj, user)
    return obj


def update(obj, values: dict, user):
    for name, value in values.items():
        setattr(obj, name, value)
    return save(obj, user)


def soft_delete(obj, user) -> None:
    _stamp(obj, user)
    obj.soft_delete(user=obj.updated_by)
    derived.changed(obj, user)
    live.changed(obj)


def restore(obj, user) -> None:
    _stamp(obj, user)
    obj.restore(user=obj.updated_by)
    derived.changed(obj, user)
    live.changed(obj)


_KIND = {"+": "created", "~": "changed", "-": "removed"}
# Bookkeeping that changes with every save; not a change a reader asked about.
_BOOKKEEPING = {"version", "updated_at", "updated_by", "created_at", "created_by", "id"}


def _changed(record, previous, names: list[str]) -> list[str]:
    return [n for n in names if getattr(record, n) != getattr(previous, n)]


def history_of(obj, visible_fields: set[str]) -> list[dict]:
    """Every version of `obj`, oldest first: who, when, and which (visible) fields changed."""
    records = list(
        obj.history.order_by("history_date", "history_id").select_related("history_user")
    )
    tracked = [
        f.attname
        for f in type(obj)._meta.concrete_fields
        if f.name not in _BOOKKEEPING and (f.name in visible_fields or f.name == "geom")
    ]
    out = []
    previous = None
    for record in records:
        changed: list[str] = []
        kind = _KIND.get(record.history_type, record.history_type)
        if record.history_change_reason == derived.DERIVED_REASON:
            kind = "derived"  # links re-derived after a boundary or building changed
        if previous is not None:
            changed = _changed(record, previous, tracked + ["deleted_at"])
            if "deleted_at" in changed:
                kind = "deleted" if record.deleted_at else "restored"
                changed.remove("deleted_at")
            changed = [name.removesuffix("_id") for name in changed]
        out.append(
            {
                "version": record.version,
                "date": record.history_date.isoformat(),
                "user": record.history_user.username if record.history_user else None,
                "type": kind,
                "changed_fields": changed,
                "status": record.status,
            }
        )
        previous = record
    return out
