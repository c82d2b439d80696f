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


# -- who may: one named predicate per rule, used by every channel and service ------------------
def is_leader(user) -> bool:
    """Leaders (the editor role) dispatch, decide and administer: every "leaders only" rule."""
    return EDITOR in roles_of(user)


def has_role(user) -> bool:
    """Any role: reads internal layers, every field, history and every filter."""
    return bool(roles_of(user))


def can_import(user) -> bool:
    """Upload files into layers (the /import/ page, import jobs)."""
    return is_leader(user)


def can_manage_tokens(user) -> bool:
    """See and revoke everyone's API tokens, not only one's own."""
    return is_leader(user)


def can_see_deleted(user) -> bool:
    """List, read and restore soft-deleted features."""
    return is_leader(user)


def can_run_maintenance(user) -> bool:
    """Start maintenance jobs (re-deriving every link); None is the command line."""
    return user is None or is_leader(user)


def can_see_job(user, job) -> bool:
    """A job is its owner's; leaders see every job."""
    if not getattr(user, "is_authenticated", False):
        return False
    return job.user_id == user.pk or is_leader(user)
