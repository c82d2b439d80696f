"""What the live-update process pushes, and to whom: plain (synchronous) Django code that the
server (server.py) runs in its worker threads.

- `reader_for(cookies)`: who a stream is for, from its session cookie, as every page resolves
  it (Django's session and auth), and which live layers they may read with which fields
  (layers/query/access.py, the same rules as the REST API). Readers with the same `view` are
  pushed the same bytes, so a change is read once per kind of reader, not once per stream.
- `recheck(readers)`: which streams are still signed in, with the same rights (a sign-out, an
  expired session, a deactivated user or a changed role ends the stream).
- `messages_for(view, changes)`: the events for one view: per layer the changed features as
  that view may see them (encoded by PostGIS, layers/query/encode.py), the ids that are gone
  (deleted), or `reload` when too many changed at once to send.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from importlib import import_module

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.db import close_old_connections
from django.db.models import Prefetch
from django.http import HttpRequest
from django.utils import timezone

from layers.domain import registry
from layers.domain.roles import ALL_ROLES
from layers.query import access, encode

# Above this many changed features of a layer in one push, readers are told to reload it.
MAX_FEATURES = 200


@dataclass(frozen=True)
class Reader:
    user_id: int
    session_key: str
    # ((layer slug, the fields this reader sees), ...): the live layers the reader may read.
    view: tuple[tuple[str, tuple[str, ...]], ...]


def _view_of(user) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (spec.slug, access.output_fields(user, spec))
        for spec in registry.LAYERS
        if spec.live and access.can_read(user, spec)
    )


def reader_for(cookies: dict[str, str]) -> Reader | None:
    """The signed-in reader of a stream's cookies, or None (not signed in, or no live layer
    they may read). Anonymous readers get no stream: no live layer is public."""
    close_old_connections()
    try:
        key = cookies.get(settings.SESSION_COOKIE_NAME)
        if not key:
            return None
        request = HttpRequest()
        request.COOKIES = cookies
        request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
        user = auth.get_user(request)
        if not user.is_authenticated:
            return None
        view = _view_of(user)
        if not any(fields for _, fields in view):
            return None
        return Reader(user_id=user.pk, session_key=key, view=view)
    finally:
        close_old_connections()


def _live_sessions(keys: set[str]) -> set[str]:
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        from django.contrib.sessions.models import Session

        return set(
            Session.objects.filter(
                session_key__in=keys, expire_date__gt=timezone.now()
            ).values_list("session_key", flat=True)
        )
    engine = import_module(settings.SESSION_ENGINE)
    return {key for key in keys if engine.SessionStore().exists(key)}


def recheck(readers: list[Reader]) -> dict[str, Reader | None]:
    """Each reader's session key to the reader as it stands now (None: no longer signed in or
    no longer allowed), in three queries for every stream of the process."""
    close_old_connections()
    try:
        keys = {r.session_key for r in readers}
        live = _live_sessions(keys)
        roles = Prefetch("groups", queryset=Group.objects.filter(name__in=ALL_ROLES))
        users = {
            u.pk: u
            for u in auth.get_user_model()
            .objects.filter(pk__in={r.user_id for r in readers}, is_active=True)
            .prefetch_related(roles)
        }
        views = {}
        for user in users.values():
            # roles_of() keeps a user's roles on the object: the prefetched groups are they.
            user._layer_roles = frozenset(g.name for g in user.groups.all())
            views[user.pk] = _view_of(user)
        out: dict[str, Reader | None] = {}
        for reader in readers:
            view = views.get(reader.user_id)
            still = reader.session_key in live and view and any(f for _, f in view)
            out[reader.session_key] = (
                Reader(reader.user_id, reader.session_key, view) if still else None
            )
        return out
    finally:
        close_old_connections()


def frame(event: str, text: str) -> bytes:
    """One Server-Sent Event: every line of `text` its own `data:` line (the client joins them
    with newlines again, so the JSON arrives as PostgreSQL wrote it)."""
    lines = "".join(f"data: {line}\n" for line in text.split("\n"))
    return f"event: {event}\n{lines}\n".encode()


def hello(reader: Reader) -> bytes:
    """The first event of a stream: which layers it carries (a page that sees it again after a
    lost connection reloads them: what changed meanwhile was not kept for it)."""
    body = {"layers": [slug for slug, fields in reader.view if fields], "at": _now()}
    return frame("hello", json.dumps(body, separators=(",", ":")))


def _now() -> str:
    return timezone.now().astimezone(dt.UTC).isoformat(timespec="seconds")


def messages_for(view, changes: dict[str, set[int]]) -> list[bytes]:
    """The events for readers of `view` about `changes` ({layer slug: ids})."""
    close_old_connections()
    try:
        out = []
        for slug, fields in view:
            ids = changes.get(slug)
            if not ids or not fields:
                continue
            if len(ids) > MAX_FEATURES:
                out.append(frame("features", json.dumps({"layer": slug, "reload": True})))
                continue
            spec = registry.get(slug)
            # Live rows only: a soft-deleted feature is gone from every map.
            queryset = spec.model.objects.filter(pk__in=sorted(ids)).order_by("pk")
            text, _count = encode.encode_page(queryset, spec, fields)
            found = {feature["id"] for feature in json.loads(text)}
            removed = sorted(set(ids) - found)
            head = json.dumps({"layer": slug, "removed": removed, "at": _now()})
            out.append(frame("features", f'{head[:-1]}, "features": {text}}}'))
        return out
    finally:
        close_old_connections()
