"""The pages of the site and who may open them, declared once, and the one page gate.

The navigation (home cards, header links) offers a page to exactly the roles named here, and
every page view is guarded by `gate` with the same name: an anonymous visitor is sent to the
sign-in form (and comes back after it), a signed-in user without the role gets the 403 page.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from layers.domain import pages as maps
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER, roles_of

SIGNED_IN = "signed-in"  # any signed-in user, with or without a role
ANYONE = "anyone"
STAFF = (PLANNER, INSPECTOR, EDITOR)

ROLES: dict[str, tuple[str, ...]] = {
    "home": (ANYONE,),
    "tour": (ANYONE,),
    "planning": maps.PLANNING.roles,
    "inspection": maps.INSPECTION.roles,
    "field": (INSPECTOR, EDITOR),
    "dashboard": STAFF,
    "progress": (PLANNER, EDITOR),
    "api-docs": STAFF,
    "jobs": STAFF,
    "tokens": (SIGNED_IN,),
    "import": (EDITOR,),
    "admin": (EDITOR,),
}


def roles_for(page: str) -> tuple[str, ...]:
    """Who may open `page` (a map page's own roles when it has them; public when empty)."""
    if page in ROLES:
        return ROLES[page]
    declared = maps.PAGES.get(page)
    if declared is None:
        raise KeyError(f"no page named {page!r}")
    return declared.roles or (ANYONE,)


def allows(user, page: str) -> bool:
    wanted = roles_for(page)
    if ANYONE in wanted:
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return SIGNED_IN in wanted or bool(roles_of(user) & set(wanted))


def check(request, page: str):
    """None when the caller may open `page`; else the sign-in redirect (anonymous), or
    PermissionDenied (answered by the 403 page)."""
    if allows(request.user, page):
        return None
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    raise PermissionDenied("Your role may not open this page.")


def gate(page: str):
    """Decorator: the view of `page` runs only for those who may open it."""
    roles_for(page)  # a typo fails at import, not at the first request

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            denied = check(request, page)
            if denied is not None:
                return denied
            return view(request, *args, **kwargs)

        return wrapped

    return decorate
