"""Sign-in for desktop GIS and other machine clients of /ogc/, /tiles/ and /wfs/.

QGIS, GDAL, ArcGIS and SuperMap send either HTTP Basic (user name and password) or an API
token (`Authorization: Token <key>`, layers/auth/tokens.py). Both resolve to the same Django
user, so the same roles apply as everywhere (layers/query/access.py). Without an Authorization
header the session (browser) user or the anonymous public is the caller.

HTTP Basic sends the password with every request, so a *password* is accepted only over HTTPS.
Plain HTTP is allowed for passwords when DEBUG is on, or when BASIC_AUTH_HTTP_LOCALHOST is set
and the client is this machine (a GIS on the server itself, the test suite). Production turns
that setting off by default: behind a reverse proxy every request comes from localhost.

An API token may be sent as the Basic *password* instead (any user name, or the token
owner's): QGIS 3.22's authentication database only knows Basic, and an intranet may have no
TLS. Over plain HTTP such a token opens read-only requests (GET, HEAD, OPTIONS) of every layer
its owner may read; writes over plain HTTP need `Authorization: Token <key>` (403 otherwise).
A token can be revoked on its own and never opens the sign-in page, so it is the credential
that may cross an unencrypted network; a password never is (docs/API.md, "QGIS").

Passwords are checked by django.contrib.auth.authenticate(request=...), so the sign-in
throttles and lockouts that hook into it (django-axes) apply to Basic as to the sign-in form.
Bad credentials answer 401 with WWW-Authenticate and never fall back to anonymous.
"""

from __future__ import annotations

import base64
import binascii
import re
from ipaddress import ip_address

from django.conf import settings
from django.contrib.auth import authenticate
from django.http import JsonResponse
from rest_framework import authentication, exceptions

from layers.auth.tokens import TokenAuthentication, user_for_key

REALM = "Hehuachi"
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
# What ApiToken.issue makes (secrets.token_urlsafe(32)); a password of another shape is
# never looked up as a token.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")
READ_ONLY = ("GET", "HEAD", "OPTIONS")
HTTPS_ONLY_MESSAGE = (
    "A password is accepted over HTTPS only. Over plain HTTP send an API token instead: as the "
    "Basic password (read-only requests), or as 'Authorization: Token <key>'."
)
READ_ONLY_MESSAGE = (
    "Over plain HTTP a token sent as the Basic password is for reading only (GET, HEAD, "
    "OPTIONS). Send writes with 'Authorization: Token <key>', or over HTTPS."
)


class ReadOnlyCredentials(exceptions.PermissionDenied):
    """Valid credentials that may not write over this connection (403, not 401)."""


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
    """`Authorization: Basic base64(user:password)`: an API token as the password (any user
    name; read-only over plain HTTP), else a password checked by django.contrib.auth (HTTPS
    only, see basic_allowed)."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid Basic header.")
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise exceptions.AuthenticationFailed("Invalid Basic header.") from None
        username, colon, password = decoded.partition(":")
        if not colon or "\x00" in decoded:
            raise exceptions.AuthenticationFailed("Invalid Basic header.")
        secure = basic_allowed(request)
        if TOKEN_SHAPE.match(password):
            found = self._token(request, password, secure)
            if found is not None:
                return found
        if not secure:
            raise exceptions.AuthenticationFailed(HTTPS_ONLY_MESSAGE)
        if not username:
            raise exceptions.AuthenticationFailed("Invalid Basic header.")
        user = authenticate(request=_django_request(request), username=username, password=password)
        if user is None or not user.is_active:
            raise exceptions.AuthenticationFailed("Invalid user name or password.")
        return user, None

    def _token(self, request, key: str, secure: bool):
        """(user, token) when `key` is an active token. Over plain HTTP a wrong one is counted
        and refused like a wrong `Token` header; over HTTPS it may still be a password."""
        try:
            user, token = user_for_key(request, key)
        except exceptions.AuthenticationFailed:
            if secure:
                return None
            raise
        if not secure and request.method not in READ_ONLY:
            raise ReadOnlyCredentials(READ_ONLY_MESSAGE)
        return user, token

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


def forbidden(message: str) -> JsonResponse:
    return JsonResponse({"code": "Forbidden", "description": message}, status=403)
