"""Which file column fills which layer field: by field name, zh label, en label or a mapping file.

The importable fields are exactly what the API's write serializer accepts (`writable_fields`), so
a new layer gets import for free and nothing the API refuses (derived links, lifecycle status,
files) can be written by a file. Labels: zh is the model field's verbose_name (名称, 状态,
建成年份 …), en is the field name in words ("year built"); a shapefile's short column name
(`short_name`) matches too.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from layers.domain import labels as field_labels
from layers.domain import registry
from layers.services.validation import writable_fields


class MappingError(ValueError):
    pass


def fields(spec: registry.LayerSpec) -> list[str]:
    return [name for name in writable_fields(spec) if name != "geom"]


def zh_label(spec: registry.LayerSpec, name: str) -> str:
    return field_labels.field_label(spec.model, name, "zh")


def en_label(name: str) -> str:
    return name.replace("_", " ")


def labels(spec: registry.LayerSpec, names) -> dict[str, tuple[str, str]]:
    """name -> (zh, en) for the layer's fields (and `ref`, `status` and the like)."""
    return {n: (zh_label(spec, n), en_label(n)) for n in names}


def short_name(name: str) -> str:
    """A shapefile column name (at most 10 characters): the name, or its first word cut short
    with the initials of the others (households_total -> househol_t). Exports write it,
    imports match it."""
    if len(name) <= 10:
        return name
    head, *rest = name.split("_")
    tail = "".join(part[:1] for part in rest)
    return f"{head[: 9 - len(tail)]}_{tail}" if tail else head[:10]


def _norm(text: str) -> str:
    return str(text).strip().lower().replace("-", "_").replace(" ", "_")


def match(
    spec: registry.LayerSpec, columns: list[str], given: dict[str, str | None] | None = None
) -> dict[str, str]:
    """{column: field}. `given` (a mapping file or the page's choices) wins over names; a
    column given None is skipped. MappingError names a bad field or column."""
    names = fields(spec)
    by_key: dict[str, str] = {}
    for name in names:
        zh, en = zh_label(spec, name), en_label(name)
        for key in (name, zh, en, short_name(name)):
            by_key.setdefault(_norm(key), name)
    result: dict[str, str] = {}
    given = dict(given or {})
    for column in given:
        if column not in columns:
            raise MappingError(f"mapping: no column {column!r} in the file")
    for column in columns:
        if column in given:
            target = given[column]
            if target in (None, ""):
                continue
            if target not in names:
                raise MappingError(
                    f"mapping: {column!r} -> {target!r}: not an importable field of "
                    f"{spec.slug} ({', '.join(names)})"
                )
        else:
            target = by_key.get(_norm(column))
            if target is None:
                continue
        if target in result.values():
            raise MappingError(f"mapping: two columns fill {target!r}; map one of them to null")
        result[column] = target
    return result


def load_file(path: Path) -> dict[str, str | None]:
    """A mapping file: JSON or YAML object {column: field or null}."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping file: cannot read it: {exc}") from None
    return check(data)


def check(data) -> dict[str, str | None]:
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in data.items()
    ):
        raise MappingError("mapping: expected an object {column: field or null}")
    return data
