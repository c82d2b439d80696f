"""Who is calling, worked out once per request for every channel: the session user, else the
user of an API token or of HTTP Basic (each password checked once, however many ask).

`CallerMiddleware` sets `request.caller` (lazily: nothing is looked up until someone asks).
The rate limits, the GIS channels and the pages all read it; none resolves the caller itself.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.models import AnonymousUser
from django.utils.functional import SimpleLazyObject
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied, Throttled

from geo_service.middleware.limits import RateLimited
from layers.auth.machine import forbidden, header_user, unauthorized


def resolve(request):
    """The caller of `request`. An Authorization header speaks for its client, before any
    session cookie. A bad header is remembered (`request.auth_error`): the GIS channels answer
    it 401, or 403 for a read-only token (Basic over plain HTTP) that writes (`gis_auth`);
    others ignore it. Raises RateLimited while the caller's
    address is guessing tokens (answered 429 by the rate-limit middleware)."""
    user = getattr(request, "user", None)
    if "HTTP_AUTHORIZATION" in request.META or user is None or not user.is_authenticated:
        try:
            found = header_user(request)
        except (AuthenticationFailed, PermissionDenied) as exc:
            request.auth_error = exc
            found = None
        except Throttled as exc:
            raise RateLimited(exc.wait or 1, str(exc.detail)) from None
        if found:
            user = request.header_user = found
        elif user is None:
            user = AnonymousUser()
    return user


class CallerMiddleware:
    """Sets `request.caller`; after AuthenticationMiddleware, before the rate limits."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.auth_error = None
        request.header_user = None
        request.caller = SimpleLazyObject(lambda: resolve(request))
        return self.get_response(request)


def resolved(request):
    """`request.caller`, looked up now (so a bad Authorization header is known)."""
    caller = request.caller
    caller.is_authenticated  # noqa: B018 (asking resolves the lazy caller)
    return caller


def gis_auth(view):
    """For the machine channels (/ogc/, /tiles/, /wfs/): bad credentials in the Authorization
    header answer 401 and the view does not run; good ones make the header's user the request's
    user (else the session's)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = resolved(request)
        if isinstance(request.auth_error, PermissionDenied):
            return forbidden(str(request.auth_error.detail))
        if request.auth_error is not None:
            return unauthorized(str(request.auth_error.detail))
        if request.header_user is not None:
            request.user = user
            request.gis_header_user = user
        return view(request, *args, **kwargs)

    return wrapped
