"""Versions as HTTP shows them: the ETag of a feature, and the version a writer proves it saw
(If-Match, else the body's `version` property). Shared by every channel that writes."""

from __future__ import annotations

from layers.query import params as p


def etag_for(version: int) -> str:
    return f'"{version}"'


def seen_version(if_match: str | None, body) -> int | None:
    """The version the client proves it saw: If-Match, else the body's `version` (top level or
    in `properties`); None when it sends neither. ParamError names what is malformed."""
    if if_match:
        value = if_match.strip().removeprefix("W/").strip('"')
        try:
            return p.integer("If-Match", value, low=0, high=p.MAX_ID)
        except p.ParamError:
            raise p.ParamError("If-Match", f'expected an ETag like "3", got {if_match!r}') from None
    data = body if isinstance(body, dict) else {}
    properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    version = properties.get("version", data.get("version"))
    if version is None:
        return None
    if not isinstance(version, int) or isinstance(version, bool) or not 0 <= version <= p.MAX_ID:
        raise p.ParamError("version", "expected an integer")
    return version
