"""The illustrative old-town sample data (fixtures/): users and every layer, idempotently."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from layers.domain import registry
from layers.domain.roles import ALL_ROLES
from layers.services import derived, sample_history
from layers.services.loading import LoadError, LoadResult, read_feature_collection, upsert_features


def fixtures_dir() -> Path:
    return Path(settings.BASE_DIR) / "fixtures"


def load_users(path: Path, password: str | None) -> int:
    """Demo users and their roles; a password is set only when one is given (DEMO_PASSWORD)."""
    User = get_user_model()
    rows = json.loads(path.read_text(encoding="utf-8"))
    changed = 0
    for index, row in enumerate(rows, start=1):
        groups = row.get("groups", [])
        unknown = set(groups) - set(ALL_ROLES)
        if unknown or not row.get("username"):
            raise LoadError(f"{path} user #{index}: groups: unknown role(s) {sorted(unknown)}")
        user, created = User.objects.get_or_create(username=row["username"])
        before = (user.first_name, user.last_name, user.email, user.is_staff)
        user.first_name = row.get("first_name", "")
        user.last_name = row.get("last_name", "")
        user.email = row.get("email", "")
        user.is_staff = bool(row.get("is_staff", False))
        dirty = created or before != (user.first_name, user.last_name, user.email, user.is_staff)
        # Hashing is slow on purpose (~0.3 s): set a password only where none is usable yet,
        # so reloading stays fast; `changepassword` changes one later.
        if password and (created or not user.has_usable_password()):
            user.set_password(password)
            dirty = True
        elif created:
            user.set_unusable_password()
        if dirty:
            user.save()
            changed += 1
        current = set(user.groups.values_list("name", flat=True))
        if current != set(groups):
            user.groups.set(Group.objects.filter(name__in=groups))
    return changed


def load_sample_data(password: str | None = None) -> dict[str, LoadResult]:
    """Load users and every layer's fixture in one transaction; LoadError names the bad row."""
    results: dict[str, LoadResult] = {}
    # One transaction; the links that depend on what changed are re-derived once, at the end.
    with transaction.atomic(), derived.batch():
        load_users(fixtures_dir() / "users.json", password)
        for spec in registry.LAYERS:
            path = spec.sample_path
            features = read_feature_collection(path)
            results[spec.slug] = upsert_features(spec, features, path.name, path.parent)
    # The sample hazards' past: timelines over the months before the reference date.
    sample_history.apply()
    return results
