"""Sign-in for desktop GIS and other machine clients of /ogc/, /tiles/ and /wfs/.

QGIS, GDAL, ArcGIS and SuperMap send either HTTP Basic (user name and password) or an API
token (`Authorization: Token <key>`, layers/auth/tokens.py). Both resolve to the same Django
user, so the same roles apply as everywhere (layers/query/access.py). Without an Authorization
header the session (browser) user or the anonymous public is the caller.

HTTP Basic sends the password with every request, so it is accepted only over HTTPS. Plain
HTTP is allowed when DEBUG is on, or when BASIC_AUTH_HTTP_LOCALHOST is set and the client is
this machine (a GIS on the server itself, the test suite). Production turns that setting off by
default: behind a reverse proxy every request comes from localhost (docs/OGC.md).

Passwords are checked by django.contrib.auth.authenticate(request=...), so the sign-in
throttles and lockouts that hook into it (django-axes) apply to Basic as to the sign-in form.
Bad credentials answer 401 with WWW-Authenticate and never fall back to anonymous.
"""

from __future__ import annotations

import base64
import binascii
from functools import wraps
from ipaddress import ip_address

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import JsonResponse
from rest_framework import authentication, exceptions

from layers.auth.tokens import TokenAuthentication

REALM = "Hehuachi"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


def _django_request(request):
    return getattr(request, "_request", request)


def basic_allowed(request) -> bool:
    """Whether HTTP Basic may be used on this request (see the module's doc)."""
    request = _django_request(request)
    if request.is_secure() or settings.DEBUG:
        return True
    if not settings.BASIC_AUTH_HTTP_LOCALHOST:
        return False
    try:
        return ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


class BasicAuthentication(authentication.BaseAuthentication):
    """`Authorization: Basic base64(user:password)`, checked by django.contrib.auth."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Basic header.")
        if not basic_allowed(request):
            raise exceptions.AuthenticationFailed(
                "HTTP Basic is accepted over HTTPS only; use https:// or an API token."
            )
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Invalid Basic header.") from None
        username, colon, password = decoded.partition(":")
        if not colon or not username or "\x00" in decoded:
            raise exceptions.AuthenticationFailed("Invalid Basic header.")
        user = authenticate(request=_django_request(request), username=username, password=password)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid user name or password.")
        return user, None

    def authenticate_header(self, request):
        return CHALLENGE


def header_user(request):
    """The user an Authorization header names (Token or Basic); None without one.

    Raises AuthenticationFailed for bad credentials or an unknown scheme.
    """
    header = authentication.get_authorization_header(request).split()
    if not header:
        return None
    for backend in (TokenAuthentication(), BasicAuthentication()):
        found = backend.authenticate(request)
        if found:
            return found[0]
    raise exceptions.AuthenticationFailed("Unsupported Authorization scheme; use Basic or Token.")


def unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"code": "Unauthorized", "description": message}, status=401)
    response["WWW-Authenticate"] = f"{CHALLENGE}, Token"
    return response


def gis_auth(view):
    """Resolve the caller from the Authorization header (else the session) before the view.

    Sets request.user; bad credentials answer 401 and the view does not run.
    """

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        from layers.query.access import request_user

        # Worked out once per request (the rate-limit middleware may have asked already);
        # RateLimited while the address guesses tokens (answered 429 by that middleware).
        user = request_user(request)
        error = getattr(request, "_layers_auth_error", None)
        if error is not None:
            return unauthorized(str(error.detail))
        if getattr(request, "_layers_header_user", None) is not None:
            request.user = user
            request.gis_header_user = user
        return view(request, *args, **kwargs)

    return wrapped
