"""One search over every layer a caller may read: names (zh, en), references and codes,
addresses and the pinyin initials of a name (`kcc` finds 客车厂), ranked and grouped by layer.

The layers' queries are joined into one SQL statement (UNION ALL of each layer's ordered,
limited query on its trigram indexes, migration 0014): a rank from how the
text matches (an exact name first, then a name that starts with it, a code, the initials, a
name that holds it, the English name, an address), ties broken by trigram similarity and the
shorter name. Only fields the caller may read are searched or shown (layers/query/access.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connections, models, router
from django.db.models import Case, F, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Length, Lower, NullIf

from layers.domain import registry
from layers.query import access
from layers.query import params as p

MAX_QUERY = 100
DEFAULT_LIMIT = 5
MAX_LIMIT = 50
PARAMS = ("q", "layers", "limit")
_INITIALS = re.compile(r"[a-z0-9]{2,}", re.ASCII)


class Initials(Func):
    """hh_initials(name): the first letters of the name's pinyin (migration 0014)."""

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


def _initials_of(text: str) -> bool:
    """Whether `text` may be pinyin initials (ASCII letters and digits, two or more)."""
    return bool(_INITIALS.fullmatch(text.lower()))


def _layer_rows(user, spec: registry.LayerSpec, text: str, limit: int, initials=None):
    """The best `limit` matches of `text` in one layer, as a sliced queryset of the same
    columns for every layer (so that the layers' queries combine into one statement); None when
    the caller may search no field of the layer."""
    fields = searched_fields(user, spec)
    if not any(fields.values()):
        return None
    initials = _initials_of(text) if initials is None else initials
    queryset = spec.model.objects.all()
    if initials and fields["name"]:
        queryset = queryset.annotate(_initials=Initials("name"))
    condition, rank = _rank(fields, text, initials)
    if not condition:
        return None
    name = fields["name"][0] if fields["name"] else fields["name_en"][0]
    text_field = models.CharField()
    # The first code that is set (ref, then code), as the one-layer query did.
    codes = [NullIf(F(c), Value("")) for c in fields["code"]]
    code = Coalesce(*codes, Value(""), output_field=text_field) if codes else Value("", text_field)
    bound = {k: Func("geom", function=f"ST_{k.title()}", output_field=FloatField()) for k in BOX}
    return (
        queryset.filter(condition)
        .annotate(
            _rank=rank,
            _similarity=Coalesce(Similarity(Lower(F(name)), Value(text.lower())), Value(0.0)),
            _length=Length(name),
        )
        .order_by("-_rank", "-_similarity", "_length", "pk")
        .annotate(
            _layer=Value(spec.slug, output_field=text_field),
            _id=F("pk"),
            _name=F("name") if fields["name"] else Value("", output_field=text_field),
            _name_en=F("name_en") if fields["name_en"] else Value("", output_field=text_field),
            _code=code,
            _status=F(spec.status_field),
            **{f"_{k}": v for k, v in bound.items()},
        )
        .values_list(*COLUMNS)[:limit]
    )


# The columns every layer's part of the statement gives, in this order.
BOX = ("xmin", "ymin", "xmax", "ymax")
COLUMNS = ("_layer", "_id", "_name", "_name_en", "_code", "_status", "_rank", "_similarity")
COLUMNS += tuple(f"_{k}" for k in BOX)


def _result(spec: registry.LayerSpec, row: dict, visible_status: bool) -> dict:
    vocabulary = spec.status_vocabulary
    status = row["_status"]
    term = vocabulary.term(status) if visible_status and status in vocabulary.values else None
    return {
        "id": row["_id"],
        "name": row["_name"] or "",
        "name_en": row["_name_en"] or "",
        "code": row["_code"] or "",
        "status": status if visible_status else None,
        "status_zh": term.zh if term else "",
        "status_en": term.en if term else "",
        "color": term.color if term else "",
        "bbox": [round(row[f"_{k}"], 7) for k in BOX],
        "rank": row["_rank"] + round(row["_similarity"], 3),
    }


def search_layer(user, spec: registry.LayerSpec, text: str, limit: int) -> list[dict]:
    """The best `limit` matches of `text` in one layer: id, names, code, status, bbox, rank."""
    rows = _layer_rows(user, spec, text, limit)
    if rows is None:
        return []
    visible = spec.status_field in access.output_fields(user, spec)
    return [_result(spec, dict(zip(COLUMNS, row, strict=True)), visible) for row in rows]


# The statement of a search, compiled once per shape (the layers and the fields the caller
# may read there, the limit, whether the text may be initials) with a stand-in for the text:
# building and compiling eleven layers' querysets costs the ORM some 30 ms, ten times the
# statement itself (docs/benchmarks.md). Each search fills the text into the parameters.
_STAND_IN = "\u2603"
_STATEMENTS: dict[tuple, tuple[str, tuple]] = {}
_MAX_STATEMENTS = 256


def _shape(user, specs, limit: int, initials: bool) -> tuple:
    return (
        tuple((spec.slug, tuple(searched_fields(user, spec).items())) for spec in specs),
        limit,
        initials,
    )


def _statement(user, specs, limit: int, initials: bool) -> tuple[str, tuple]:
    """(sql, params with the stand-in); ("", ()) when no layer has a field to search."""
    key = _shape(user, specs, limit, initials)
    found = _STATEMENTS.get(key)
    if found is None:
        parts = [
            rows
            for spec in specs
            if (rows := _layer_rows(user, spec, _STAND_IN, limit, initials)) is not None
        ]
        found = ("", ())
        if parts:
            combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
            sql, params = combined.query.get_compiler(combined.db).as_sql()
            found = (sql, tuple(params))
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        _STATEMENTS[key] = found
    return found


def _filled(param, text: str, like):
    """A parameter with the text in place of the stand-in: as it is where the statement
    compares it whole, escaped by `like` (the backend's) in a LIKE pattern. Lower case: every
    comparison with the text is case-insensitive (UPPER on both sides) or on lower case
    (initials, similarity)."""
    if not isinstance(param, str) or _STAND_IN not in param:
        return param
    text = text.lower()
    return text if param == _STAND_IN else param.replace(_STAND_IN, like(text))


def search(user, query: Query) -> list[dict]:
    """Per layer that has matches, best layer first: slug, titles and its results. Every
    layer's best matches come from ONE statement: the layers' queries, each ordered and
    limited, joined by UNION ALL (one round trip, one plan), compiled once per shape."""
    specs = [spec for slug in query.layers if access.can_read(user, spec := registry.get(slug))]
    sql, params = _statement(user, specs, query.limit, _initials_of(query.text))
    if not sql:
        return []
    # Chosen per request, like a queryset's: the replica, or the primary after a write.
    alias = router.db_for_read(specs[0].model)
    like = connections[alias].ops.prep_for_like_query
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [_filled(p, query.text, like) for p in params])
        rows = cursor.fetchall()
    visible = {spec.slug: spec.status_field in access.output_fields(user, spec) for spec in specs}
    found: dict[str, list[dict]] = {}
    for row in rows:
        values = dict(zip(COLUMNS, row, strict=True))
        spec = registry.get(values["_layer"])
        found.setdefault(spec.slug, []).append(_result(spec, values, visible[spec.slug]))
    groups = []
    for spec in specs:
        results = sorted(found.get(spec.slug, []), key=lambda r: -r["rank"])
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
