"""One search over every layer a caller may read: names (zh, en), references and codes,
addresses and the pinyin initials of a name (`kcc` finds 客车厂), ranked and grouped by layer.

Each layer is one SQL statement on its trigram indexes (migration 0008): a rank from how the
text matches (an exact name first, then a name that starts with it, a code, the initials, a
name that holds it, the English name, an address), ties broken by trigram similarity and the
shorter name. Only fields the caller may read are searched or shown (layers/query/access.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Length, Lower

from layers.domain import registry
from layers.query import access
from layers.query import params as p

MAX_QUERY = 100
DEFAULT_LIMIT = 5
MAX_LIMIT = 50
PARAMS = ("q", "layers", "limit")
_INITIALS = re.compile(r"[a-z0-9]{2,}", re.ASCII)


class Initials(Func):
    """hh_initials(name): the first letters of the name's pinyin (migration 0008)."""

    function = "hh_initials"
    output_field = models.TextField()


class Similarity(Func):
    function = "similarity"
    output_field = FloatField()


@dataclass(frozen=True)
class Query:
    text: str
    layers: tuple[str, ...]
    limit: int


def parse(params, user) -> Query:
    """The search's parameters, strictly: q (1–100 characters, no control character), layers
    (slugs the caller may read, comma-separated), limit (1–50 per layer)."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise p.ParamError(unknown[0], f"unknown parameter; allowed: {', '.join(PARAMS)}")
    raw = p.single(params, "q")
    if raw is None:
        raise p.ParamError("q", "required: the text to look for")
    text = p.text("q", raw, max_length=MAX_QUERY).strip()
    if not text:
        raise p.ParamError("q", "empty; give the text to look for")
    readable = [spec.slug for spec in access.readable_layers(user)]
    raw_layers = p.single(params, "layers")
    chosen = tuple(readable)
    if raw_layers is not None:
        chosen = tuple(p.choices("layers", [p.text("layers", raw_layers)], readable))
    raw_limit = p.single(params, "limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        limit = p.integer("limit", raw_limit, low=1, high=MAX_LIMIT)
    return Query(text, chosen, limit)


def searched_fields(user, spec: registry.LayerSpec) -> dict[str, tuple[str, ...]]:
    """The fields of `spec` the search reads for `user`, by kind (names, codes, addresses)."""
    visible = set(access.output_fields(user, spec))
    own = {f.name for f in spec.model._meta.concrete_fields}
    return {
        "name": tuple(n for n in ("name",) if n in visible),
        "name_en": tuple(n for n in ("name_en",) if n in visible),
        "code": tuple(n for n in ("ref", "code") if n in own and n in visible),
        "address": tuple(n for n in ("address",) if n in own and n in visible),
    }


def _rank(fields: dict, text: str, initials: bool):
    """(condition, rank expression): higher ranks for better kinds of match."""
    whens, condition = [], Q()

    def add(q: Q, rank: int):
        nonlocal condition
        whens.append(When(q, then=Value(rank)))
        condition |= q

    for name in fields["name"]:
        add(Q(**{f"{name}__iexact": text}), 100)
    for name in fields["code"]:
        add(Q(**{f"{name}__iexact": text}), 95)
    for name in fields["name"]:
        add(Q(**{f"{name}__istartswith": text}), 80)
    if initials and fields["name"]:
        add(Q(_initials__startswith=text.lower()), 70)
    for name in fields["name"]:
        add(Q(**{f"{name}__icontains": text}), 60)
    for name in fields["name_en"]:
        add(Q(**{f"{name}__istartswith": text}), 55)
    for name in fields["code"]:
        add(Q(**{f"{name}__istartswith": text}), 50)
    for name in fields["name_en"]:
        add(Q(**{f"{name}__icontains": text}), 45)
    for name in fields["address"]:
        add(Q(**{f"{name}__icontains": text}), 35)
    if initials and fields["name"]:
        add(Q(_initials__contains=text.lower()), 30)
    rank = Case(*whens, default=Value(0), output_field=IntegerField())
    return condition, rank


def search_layer(user, spec: registry.LayerSpec, text: str, limit: int) -> list[dict]:
    """The best `limit` matches of `text` in one layer: id, names, code, status, bbox, rank."""
    fields = searched_fields(user, spec)
    if not any(fields.values()):
        return []
    initials = bool(_INITIALS.fullmatch(text.lower()))
    queryset = spec.model.objects.all()
    if initials and fields["name"]:
        queryset = queryset.annotate(_initials=Initials("name"))
    condition, rank = _rank(fields, text, initials)
    if not condition:
        return []
    name = fields["name"][0] if fields["name"] else fields["name_en"][0]
    status = spec.status_field
    rows = (
        queryset.filter(condition)
        .annotate(
            _rank=rank,
            _similarity=Coalesce(Similarity(Lower(F(name)), Value(text.lower())), Value(0.0)),
            _length=Length(name),
            _xmin=Func("geom", function="ST_XMin", output_field=FloatField()),
            _ymin=Func("geom", function="ST_YMin", output_field=FloatField()),
            _xmax=Func("geom", function="ST_XMax", output_field=FloatField()),
            _ymax=Func("geom", function="ST_YMax", output_field=FloatField()),
        )
        .order_by("-_rank", "-_similarity", "_length", "pk")
        .values(
            "pk",
            "name",
            "name_en",
            status,
            "_rank",
            "_similarity",
            "_xmin",
            "_ymin",
            "_xmax",
            "_ymax",
            *fields["code"],
        )[:limit]
    )
    vocabulary = spec.status_vocabulary
    out = []
    for row in rows:
        term = vocabulary.term(row[status]) if row[status] in vocabulary.values else None
        visible_status = status in access.output_fields(user, spec)
        out.append(
            {
                "id": row["pk"],
                "name": row["name"] if "name" in fields["name"] else "",
                "name_en": row["name_en"] if fields["name_en"] else "",
                "code": next((row[c] for c in fields["code"] if row[c]), ""),
                "status": row[status] if visible_status else None,
                "status_zh": term.zh if term and visible_status else "",
                "status_en": term.en if term and visible_status else "",
                "color": term.color if term and visible_status else "",
                "bbox": [round(row[k], 7) for k in ("_xmin", "_ymin", "_xmax", "_ymax")],
                "rank": row["_rank"] + round(row["_similarity"], 3),
            }
        )
    return out


def search(user, query: Query) -> list[dict]:
    """Per layer that has matches, best layer first: slug, titles and its results."""
    groups = []
    for slug in query.layers:
        spec = registry.get(slug)
        if not access.can_read(user, spec):
            continue
        results = search_layer(user, spec, query.text, query.limit)
        if results:
            groups.append(
                {
                    "layer": spec.slug,
                    "title_zh": spec.title_zh,
                    "title_en": spec.title_en,
                    "results": results,
                }
            )
    groups.sort(key=lambda g: -g["results"][0]["rank"])
    return groups
