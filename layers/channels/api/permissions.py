"""DRF permissions. The default (settings.REST_FRAMEWORK) is DenyAll: a view that names no
permission is closed, so forgetting a check cannot open anything. Views open what is public."""

from __future__ import annotations

from rest_framework import permissions

from layers.query import access


class DenyAll(permissions.BasePermission):
    """The default: nobody, until the view says otherwise."""

    message = "This endpoint is closed."

    def has_permission(self, request, view):
        return False


class PublicRead(permissions.BasePermission):
    """GET/HEAD/OPTIONS for everyone; the view answers each caller only what they may read
    (the layer index and the statistics filter by access.readable_layers)."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS

    @staticmethod
    def allows_anonymous(view, method: str) -> bool:
        return method in permissions.SAFE_METHODS


class LayerAccess(permissions.BasePermission):
    """A layer viewset: reading needs access.can_read, writing access.can_edit."""

    message = "Your role may not do this on this layer."

    def has_permission(self, request, view):
        spec = view.spec
        if not access.can_read(request.user, spec):
            return False
        if request.method in permissions.SAFE_METHODS:
            return True
        return access.can_edit(request.user, spec) or getattr(view, "_skip_edit_check", False)

    @staticmethod
    def allows_anonymous(view, method: str) -> bool:
        return view.spec.is_public and method in permissions.SAFE_METHODS


def allows_anonymous(view, method: str) -> bool:
    """Whether every permission of `view` lets an anonymous caller use `method` (for the
    OpenAPI document's empty security requirement)."""
    checks = [getattr(p, "allows_anonymous", None) for p in view.get_permissions()]
    return bool(checks) and all(c is not None and c(view, method) for c in checks)
