"""People as pages show them: a full name where one is set (李振华, Jane Doe), else the account."""

from __future__ import annotations

from django.contrib.auth import get_user_model


def display_name(user) -> str:
    """李振华 for Chinese names (family name first, no space), 'Jane Doe' otherwise."""
    if user is None:
        return ""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if not (first or last):
        return user.get_username()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def names_by_username() -> dict[str, str]:
    """Every active account's display name, by user name (for pages of users with a role)."""
    users = (
        get_user_model().objects.filter(is_active=True).only("username", "first_name", "last_name")
    )
    return {u.get_username(): display_name(u) for u in users}


def names_by_id(ids) -> dict[int, str]:
    users = (
        get_user_model()
        .objects.filter(pk__in=[i for i in ids if i])
        .only("username", "first_name", "last_name")
    )
    return {u.pk: display_name(u) for u in users}
