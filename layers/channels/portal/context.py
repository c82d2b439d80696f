"""Template context for the common header: links the user may follow, roles as words."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from layers.channels.portal import nav
from layers.services import notifications


def site(request):
    user = getattr(request, "user", None)
    if user is None:
        return {}
    # Lazy: the admin's pages share this processor but never show the header.
    return {
        "site_nav": SimpleLazyObject(lambda: nav.destinations_for(user, header=True)),
        "site_roles": SimpleLazyObject(lambda: nav.role_labels(user)),
        "site_user_name": SimpleLazyObject(lambda: nav.display_name(user)),
        "site_unread": SimpleLazyObject(lambda: notifications.unread_count(user)),
        # Where pages that update themselves connect (templates/includes/live.html).
        "live_config": {"path": settings.LIVE_PATH, "port": settings.LIVE_PORT},
    }
