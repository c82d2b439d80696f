"""Roles are Django groups; the public is the anonymous user."""

PLANNER = "planner"
INSPECTOR = "inspector"
EDITOR = "editor"
ALL_ROLES = (PLANNER, INSPECTOR, EDITOR)

ROLE_LABELS = {
    PLANNER: ("规划人员", "Planner"),
    INSPECTOR: ("网格巡查员", "Inspector"),
    EDITOR: ("数据管理员", "Editor"),
}


def roles_of(user) -> set[str]:
    """The user's roles, read once per user object (one request)."""
    if not getattr(user, "is_authenticated", False):
        return set()
    if user.is_superuser:
        return set(ALL_ROLES)
    cached = getattr(user, "_layer_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        user._layer_roles = cached
    return set(cached)
