"""API tokens for field apps and desktop GIS: many per user, named, stored only as a hash.

A key is shown once, when it is made; afterwards only its first characters (`prefix`) are
kept in the clear, so a database dump gives nobody a working key. Requests authenticate with
`Authorization: Token <key>` (the keyword DRF, GDAL and QGIS already send).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from layers.domain.models.tokens import TOUCH_EVERY, ApiToken, digest


def _active_token(key_digest: str) -> ApiToken | None:
    """The unrevoked token with this digest, with its user and the user's roles, in one
    round trip: every GIS, tile and API request that carries a token asks this.

    Hand-written SQL (compiled once per process) because building the same ORM query per
    request cost more than running it (~1.5 ms of a 5 ms warm tile).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection

    from layers.domain.roles import ALL_ROLES

    User = get_user_model()
    global _TOKEN_SQL
    if _TOKEN_SQL is None:
        q = connection.ops.quote_name
        user_table, token_table = q(User._meta.db_table), q(ApiToken._meta.db_table)
        user_cols = ", ".join(f"u.{q(f.column)}" for f in User._meta.concrete_fields)
        groups = User._meta.get_field("groups")
        link = groups.remote_field.through._meta
        group_table = q(groups.related_model._meta.db_table)
        _TOKEN_SQL = (
            f"SELECT t.id, t.last_used_at, ARRAY(SELECT g.name FROM {q(link.db_table)} l"  # noqa: S608
            f" JOIN {group_table} g ON g.id = l.{q(groups.m2m_reverse_name())}"
            f" WHERE l.{q(groups.m2m_column_name())} = u.{q(User._meta.pk.column)}"
            f" AND g.name = ANY(%s)), {user_cols}"
            f" FROM {token_table} t JOIN {user_table} u ON u.{q(User._meta.pk.column)} = t.user_id"
            " WHERE t.key_digest = %s AND t.revoked_at IS NULL"
        )
    with connection.cursor() as cursor:
        cursor.execute(_TOKEN_SQL, [list(ALL_ROLES), key_digest])
        row = cursor.fetchone()
    if row is None:
        return None
    token_id, last_used_at, roles, *user_values = row
    user = User.from_db(
        connection.alias, [f.attname for f in User._meta.concrete_fields], user_values
    )
    user._layer_roles = frozenset(roles)  # read by layers.domain.roles.roles_of
    token = ApiToken(id=token_id, user=user, last_used_at=last_used_at)
    token._state.adding, token._state.db = False, connection.alias
    return token


_TOKEN_SQL: str | None = None


def user_for_key(request, key: str | None):
    """(user, token) of the active token `key`, else AuthenticationFailed, or Throttled (429)
    once this address has sent too many wrong ones (geo_service/middleware/limits.py).

    The key is looked up first: a valid token is never refused because others sent bad ones
    from the same address. Shared by `Authorization: Token` and by HTTP Basic with the token
    as the password (layers/auth/machine.py)."""
    from geo_service.middleware import limits

    found = valid_token(key)
    if found is None:
        try:
            limits.token_failed(request, key or "")  # counted per prefix and address
        except limits.RateLimited as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=exc.detail) from None
        raise exceptions.AuthenticationFailed("Invalid token.")
    return found


def valid_token(key: str | None):
    """(user, token) of the active token `key` of an active user (its use noted), else None;
    a wrong key is not counted here (user_for_key counts it)."""
    token = _active_token(digest(key)) if key else None
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` against ApiToken's digests."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        key = None
        if len(header) == 2:
            try:
                key = header[1].decode("ascii")
            except UnicodeDecodeError:
                key = None
        return user_for_key(request, key)

    def authenticate_header(self, request):
        return self.keyword


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI document describes TokenAuthentication (as DRF's own token scheme)."""

    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'An API token from /accounts/tokens/, sent as "Token <key>".',
        }
