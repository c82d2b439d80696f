"""One strict parser per kind of scalar parameter, shared by every channel.

Each parser takes the parameter's name and the raw text a client sent and returns a typed value
or raises ParamError naming the parameter. Channels turn ParamError into their own 400 (REST:
`{name: [message]}`; OGC: `InvalidParameterValue`; tiles: `{detail, name}`), so the contract is
the same everywhere:

- integers are ASCII digits only (no '²', no '٣', no '+', no spaces, no '_') and bounded;
- numbers are ASCII decimal literals, finite;
- text has no NUL or other C0 control character, and is bounded in length;
- vocabulary values and ordering terms come from a closed list.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_TEXT_LENGTH = 200
# Large enough for any id PostgreSQL's bigint holds.
MAX_ID = 2**63 - 1

_INTEGER = re.compile(r"[0-9]{1,19}", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class ParamError(ValueError):
    """A parameter the client sent cannot be used: `name` is the parameter, `message` why."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def _show(raw: str, limit: int = 40) -> str:
    """The client's value for an error message: repr'd (NUL and controls escaped), shortened."""
    return repr(raw if len(raw) <= limit else raw[:limit] + "…")


def integer(name: str, raw: str, *, low: int, high: int) -> int:
    """An ASCII decimal integer in [low, high]."""
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        raise ParamError(name, f"expected an integer from {low} to {high}, got {_show(str(raw))}")
    value = int(raw)
    if not low <= value <= high:
        raise ParamError(name, f"expected an integer from {low} to {high}, got {value}")
    return value


def identifier(name: str, raw: str) -> int | None:
    """A feature or boundary id: an ASCII integer 1..2⁶³-1, or None if `raw` is not one.

    None lets a channel decide: a path id that is no integer names no feature (404); a
    parameter that may be an id or a code goes on to try the code.
    """
    if not isinstance(raw, str) or not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def number(name: str, raw: str, *, low: float | None = None, high: float | None = None) -> float:
    """A finite ASCII decimal number (1e3 allowed), optionally in [low, high]."""
    if not isinstance(raw, str) or not _NUMBER.fullmatch(raw):
        raise ParamError(name, f"expected a number, got {_show(str(raw))}")
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise ParamError(name, f"expected a finite number, got {_show(raw)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParamError(name, f"expected a number from {low} to {high}, got {value}")
    return value


def numbers(name: str, raw: str, counts: Iterable[int]) -> list[float]:
    """Comma-separated finite numbers, as many as one of `counts`."""
    counts = tuple(counts)
    parts = raw.split(",") if isinstance(raw, str) else []
    if len(parts) not in counts:
        wanted = " or ".join(str(c) for c in counts)
        raise ParamError(name, f"expected {wanted} comma-separated numbers, got {_show(str(raw))}")
    return [number(name, part.strip()) for part in parts]


def text(name: str, raw: str, *, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text: no NUL or other control character, at most `max_length` characters."""
    if not isinstance(raw, str):
        raise ParamError(name, "expected text")
    if _CONTROL.search(raw):
        raise ParamError(name, "control characters (such as NUL) are not allowed")
    if len(raw) > max_length:
        raise ParamError(name, f"at most {max_length} characters")
    return raw


def boolean(name: str, raw: str) -> bool:
    lowered = raw.lower() if isinstance(raw, str) else ""
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise ParamError(name, f"expected true or false, got {_show(str(raw))}")


def choices(name: str, values: Iterable[str], allowed: Iterable[str]) -> list[str]:
    """Values from a closed list; each item of `values` may hold several, comma-separated."""
    allowed = tuple(allowed)
    chosen = [v for raw in values for v in raw.split(",") if v != ""]
    if not chosen:
        raise ParamError(name, f"expected one or more of {list(allowed)}")
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        shown = [_show(v) for v in unknown[:5]]
        raise ParamError(name, f"unknown value(s) {', '.join(shown)}; allowed: {list(allowed)}")
    return list(dict.fromkeys(chosen))


def ordering(name: str, raw: str, allowed: Iterable[str]) -> list[tuple[str, bool]]:
    """`field,-field`: (field, descending) pairs, each field from `allowed`, none twice."""
    allowed = set(allowed)
    out: list[tuple[str, bool]] = []
    for term in raw.split(","):
        descending = term.startswith("-")
        field = term[1:] if descending else term
        if field not in allowed:
            raise ParamError(name, f"cannot order by {_show(field)}; allowed: {sorted(allowed)}")
        if any(field == seen for seen, _ in out):
            raise ParamError(name, f"{field!r} is named twice")
        out.append((field, descending))
    return out


def single(params, name: str) -> str | None:
    """The one value of `name`, or None; a repeated parameter is refused (which would win?)."""
    if hasattr(params, "getlist"):
        values = params.getlist(name)
        if len(values) > 1:
            raise ParamError(name, "given more than once")
        return values[0] if values else None
    return params.get(name)


# --- JSON documents (request bodies) ---------------------------------------------------------

# A GeoJSON Feature holding a MultiPolygon is 6 levels deep; a GeometryCollection adds a few.
MAX_JSON_DEPTH = 20
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text`, counted without parsing it."""
    depth = peak = 0
    for bracket in _BRACKET.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            peak = max(peak, depth)
        else:
            depth -= 1
    return peak


def _no_constants(value: str):
    raise ValueError(f"{value} is not a JSON number")


def load_json(text: str, *, name: str = "body"):
    """A JSON document, nested at most MAX_JSON_DEPTH deep, without NaN/Infinity or NUL.

    The depth is measured before parsing, so the parser never recurses deeply (a
    RecursionError would otherwise be a 500). A NUL in a string is named by its nearest key.
    """
    import json

    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise ParamError(name, f"JSON nested {depth} levels deep; at most {MAX_JSON_DEPTH}")
    try:
        document = json.loads(text, parse_constant=_no_constants)
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise ParamError(name, f"invalid JSON: {exc}") from None
    stack = [(document, name)]
    while stack:  # iterative: no recursion whatever the shape
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    raise ParamError(where, "a key contains a NUL character")
                stack.append((item, key))
        elif isinstance(value, list):
            stack.extend((item, where) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise ParamError(where, "contains a NUL character")
    return document
