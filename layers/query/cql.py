"""CQL2 filters (OGC API - Features Part 3): text or JSON, parsed by pygeofilter, into Q objects.

Only the queryables of a layer (the scalar fields the caller may see, and `geometry`) may be
named; every literal must have its field's type, vocabulary fields take only their values.
Anything else is a ParamError naming the problem, so a filter never reaches the database with
something PostgreSQL would refuse (no 500s). Spatial predicates compare `geom` with a GEOS
geometry in EPSG:4326, so PostGIS uses the spatial index.

Supported: AND, OR, NOT; = <> < <= > >=; BETWEEN; LIKE (% and _); IN; IS NULL; the spatial
predicates S_INTERSECTS, S_DISJOINT, S_CONTAINS, S_WITHIN, S_TOUCHES, S_CROSSES, S_OVERLAPS,
S_EQUALS with WKT / GeoJSON geometries or BBOX(...). Nothing else (temporal, array, arithmetic
and function predicates are refused with 400).

Temporal literals are RFC 3339, in both encodings (layers.query.times.rfc3339_date_time and
rfc3339_date): pygeofilter's own reading (dateparser) would take "tomorrow" or a date without a
zone, so text is parsed with our own transformer and JSON literals are read before pygeofilter.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.contrib.gis.db import models as gis_models
from django.contrib.gis.geos import GEOSException, GEOSGeometry, Polygon
from django.db import models
from django.db.models import Q

from layers.domain import labels, registry
from layers.geo import crs as ogc_crs
from layers.query import access, times
from layers.query.params import MAX_TEXT_LENGTH, ParamError, load_json

MAX_FILTER_LENGTH = 20_000
MAX_NODES = 500
GEOMETRY = "geometry"
SPATIAL = {
    "GeometryIntersects": "intersects",
    "GeometryDisjoint": "disjoint",
    "GeometryContains": "contains",
    "GeometryWithin": "within",
    "GeometryTouches": "touches",
    "GeometryCrosses": "crosses",
    "GeometryOverlaps": "overlaps",
    "GeometryEquals": "equals",
}
COMPARISON = {"=": "exact", "<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


@dataclass(frozen=True)
class Queryable:
    name: str
    lookup: str  # the ORM field path
    kind: str  # string | integer | number | boolean | date | date-time
    enum: tuple[str, ...] = ()
    title: str = ""


def _kind(field) -> str | None:
    if field.many_to_one:
        return None if field.related_model._meta.app_label == "auth" else "integer"
    if isinstance(field, (models.JSONField, models.FileField, gis_models.GeometryField)):
        return None
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(field, (models.IntegerField, models.BigAutoField)):
        return "integer"
    if isinstance(field, (models.FloatField, models.DecimalField)):
        return "number"
    if isinstance(field, models.DateTimeField):
        return "date-time"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, (models.CharField, models.TextField)):
        return "string"
    return None


def queryables(user, spec: registry.LayerSpec) -> dict[str, Queryable]:
    """The properties `user` may filter and sort `spec` by, in the order of the output."""
    vocabularies = {**spec.vocabularies()}
    out = {}
    for name in access.output_fields(user, spec):
        field = spec.model._meta.get_field(name)
        kind = _kind(field)
        if kind is None:
            continue
        vocabulary = vocabularies.get(name)
        enum = vocabulary.values if vocabulary is not None else ()
        lookup = field.attname if field.many_to_one else name
        title = labels.field_label(spec.model, name, "zh")
        out[name] = Queryable(name, lookup, kind, enum, title)
    return out


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Translator:
    def __init__(self, fields: dict[str, Queryable], crs: ogc_crs.Crs):
        self.fields = fields
        self.crs = crs
        self.nodes = 0

    # -- names and values --------------------------------------------------------------------
    def attribute(self, node) -> Queryable:
        from pygeofilter import ast

        if not isinstance(node, ast.Attribute):
            raise ParamError("filter", f"expected a property name, got {_show(node)}")
        if node.name == GEOMETRY:
            raise ParamError("filter", "geometry can be used in spatial predicates only")
        found = self.fields.get(node.name)
        if found is None:
            raise ParamError(
                "filter",
                f"unknown property {_show(node.name)}; queryables: "
                f"{', '.join([*self.fields, GEOMETRY])}",
            )
        return found

    def value(self, field: Queryable, value):
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, (int, float)) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "date": isinstance(value, dt.date) and not isinstance(value, dt.datetime),
            "date-time": isinstance(value, dt.date)
            and (not isinstance(value, dt.datetime) or value.tzinfo is not None),
        }[field.kind]
        if not ok:
            raise ParamError(
                "filter", f"{field.name} is a {field.kind}; {_show(value)} is not a {field.kind}"
            )
        if field.kind == "string" and "\x00" in value:
            raise ParamError("filter", f"{field.name}: a value contains a NUL character")
        if field.kind == "integer" and not -(2**63) <= value < 2**63:
            raise ParamError("filter", f"{field.name}: {value} is out of range")
        if field.kind == "number" and (value != value or value in (float("inf"), float("-inf"))):
            raise ParamError("filter", f"{field.name}: {value} is not a finite number")
        if field.enum and value not in field.enum:
            raise ParamError(
                "filter", f"{field.name}: unknown value {_show(value)}; allowed: {list(field.enum)}"
            )
        return value

    def geometry(self, node) -> GEOSGeometry:
        from pygeofilter import ast, values

        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            numbers = node.arguments
            if len(numbers) != 4 or not all(
                isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers
            ):
                raise ParamError("filter", "BBOX takes four numbers")
            minx, miny, maxx, maxy = numbers
            if self.crs.flip:
                minx, miny, maxx, maxy = miny, minx, maxy, maxx
            shape = Polygon.from_bbox((minx, miny, maxx, maxy))
        elif isinstance(node, values.Envelope):
            shape = Polygon.from_bbox((node.x1, node.y1, node.x2, node.y2))
            if self.crs.flip:
                shape = _flip(shape)
        elif isinstance(node, values.Geometry):
            try:
                shape = GEOSGeometry(json.dumps(node.geometry))
            except (GEOSException, ValueError, TypeError):
                raise ParamError("filter", "invalid geometry literal") from None
            if self.crs.flip:
                shape = _flip(shape)
        else:
            raise ParamError("filter", f"expected a geometry, got {_show(node)}")
        coords = shape.extent
        if not (
            self.crs.contains(coords[0], coords[1]) and self.crs.contains(coords[2], coords[3])
        ):
            raise ParamError("filter", f"geometry outside the area of use of {self.crs.uri}")
        if shape.num_points > 10_000:
            raise ParamError("filter", "geometry literal has more than 10000 points")
        if not shape.valid:
            raise ParamError("filter", f"invalid geometry: {shape.valid_reason}")
        shape.srid = self.crs.srid
        if self.crs.srid != 4326:
            shape.transform(4326)
        return shape

    # -- predicates --------------------------------------------------------------------------
    def translate(self, node) -> Q:
        from pygeofilter import ast

        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParamError("filter", f"more than {MAX_NODES} terms")
        if isinstance(node, ast.And):
            return self.translate(node.lhs) & self.translate(node.rhs)
        if isinstance(node, ast.Or):
            return self.translate(node.lhs) | self.translate(node.rhs)
        if isinstance(node, ast.Not):
            return ~self.translate(node.sub_node)
        if isinstance(node, ast.Comparison):
            field = self.attribute(node.lhs)
            value = self.value(field, node.rhs)
            op = node.op.value
            if op == "<>":
                return ~Q(**{field.lookup: value}) & Q(**{f"{field.lookup}__isnull": False})
            return Q(**{f"{field.lookup}__{COMPARISON[op]}": value})
        if isinstance(node, ast.Between):
            field = self.attribute(node.lhs)
            low, high = self.value(field, node.low), self.value(field, node.high)
            q = Q(**{f"{field.lookup}__range": (low, high)})
            return ~q if node.not_ else q
        if isinstance(node, ast.In):
            field = self.attribute(node.lhs)
            options = [self.value(field, v) for v in node.sub_nodes]
            q = Q(**{f"{field.lookup}__in": options})
            return ~q if node.not_ else q
        if isinstance(node, ast.IsNull):
            field = self.attribute(node.lhs)
            return Q(**{f"{field.lookup}__isnull": not node.not_})
        if isinstance(node, ast.Like):
            return self.like(node)
        if isinstance(node, ast.SpatialComparisonPredicate):
            return self.spatial(node)
        name = type(node).__name__
        raise ParamError("filter", f"{name} is not supported here; see /ogc/conformance")

    def like(self, node) -> Q:
        field = self.attribute(node.lhs)
        if field.kind != "string":
            raise ParamError("filter", f"LIKE needs a string property; {field.name} is not one")
        pattern = node.pattern
        if not isinstance(pattern, str) or "\x00" in pattern:
            raise ParamError("filter", f"LIKE needs a pattern string, got {_show(pattern)}")
        if len(pattern) > MAX_TEXT_LENGTH:
            raise ParamError("filter", f"LIKE pattern longer than {MAX_TEXT_LENGTH} characters")
        regex = []
        escape = False
        for char in pattern:
            if escape:
                regex.append(_re_escape(char))
                escape = False
            elif char == node.escapechar:
                escape = True
            elif char == node.wildcard:
                regex.append(".*")
            elif char == node.singlechar or char == "_":
                regex.append(".")
            else:
                regex.append(_re_escape(char))
        lookup = "iregex" if node.nocase else "regex"
        q = Q(**{f"{field.lookup}__{lookup}": "^" + "".join(regex) + "$"})
        return ~q if node.not_ else q

    def spatial(self, node) -> Q:
        from pygeofilter import ast

        lhs, rhs = node.lhs, node.rhs
        if not (isinstance(lhs, ast.Attribute) and lhs.name == GEOMETRY):
            lhs, rhs = rhs, lhs
            if not (isinstance(lhs, ast.Attribute) and lhs.name == GEOMETRY):
                raise ParamError("filter", "a spatial predicate compares geometry with a literal")
            inverted = {"GeometryContains": "within", "GeometryWithin": "contains"}
            op = inverted.get(type(node).__name__, SPATIAL[type(node).__name__])
        else:
            op = SPATIAL[type(node).__name__]
        return Q(**{f"geom__{op}": self.geometry(rhs)})


def _re_escape(char: str) -> str:
    import re

    return re.escape(char)


def _flip(shape: GEOSGeometry) -> GEOSGeometry:
    """Swap x and y (EPSG axis order: latitude / northing first)."""
    import shapely

    flipped = shapely.transform(shapely.from_wkb(bytes(shape.wkb)), lambda xy: xy[:, ::-1])
    return GEOSGeometry(memoryview(shapely.to_wkb(flipped)))


def parse(raw: str, lang: str):
    """The pygeofilter AST of a filter in `lang` (cql2-text or cql2-json)."""
    if len(raw) > MAX_FILTER_LENGTH:
        raise ParamError("filter", f"longer than {MAX_FILTER_LENGTH} characters")
    if "\x00" in raw:
        raise ParamError("filter", "contains a NUL character")
    if lang == "cql2-json":
        from pygeofilter.parsers.cql2_json import parse as parse_json

        document = _strict_json_times(load_json(raw, name="filter"))
        try:
            return parse_json(document)
        except Exception as exc:  # noqa: BLE001 (the parser raises many kinds; all are bad input)
            raise ParamError("filter", f"invalid CQL2-JSON: {_reason(exc)}") from None
    from lark.exceptions import UnexpectedInput, VisitError

    try:
        return _text_parser().parse(raw)
    except ParamError:
        raise
    except UnexpectedInput as exc:
        raise ParamError(
            "filter", f"CQL2-text syntax error at column {exc.column}: {_snippet(raw, exc)}"
        ) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, ParamError):
            raise exc.orig_exc from None
        raise ParamError("filter", f"invalid CQL2-text: {_reason(exc.orig_exc)}") from None
    except Exception as exc:  # noqa: BLE001 (lark wraps errors of its callbacks)
        raise ParamError("filter", f"invalid CQL2-text: {_reason(exc)}") from None


_PARSER = None


def _text_parser():
    """pygeofilter's CQL2-text grammar with its transformer, except that DATE('…') and
    TIMESTAMP('…') are read as RFC 3339 (pygeofilter hands them to dateparser)."""
    global _PARSER  # noqa: PLW0603 (built once, on first use: compiling the grammar costs)
    if _PARSER is None:
        import os

        from lark import Lark
        from pygeofilter.parsers.cql2_text import parser as text

        class StrictTransformer(text.CQLTransformer):
            def DATETIME(self, token):  # noqa: N802 (lark names callbacks after terminals)
                return times.rfc3339_date_time("filter", str(token))

            def DATE(self, token):  # noqa: N802
                return times.rfc3339_date("filter", str(token))

        _PARSER = Lark.open(
            "grammar.lark",
            rel_to=text.__file__,
            parser="lalr",
            maybe_placeholders=False,
            transformer=StrictTransformer(),
            import_paths=[os.path.dirname(os.path.dirname(text.__file__))],
        )
    return _PARSER


def _strict_json_times(document):
    """`document` with every {"date": …}, {"timestamp": …} and {"interval": […]} literal
    checked as RFC 3339 and written back in a form pygeofilter reads exactly (ISO dates, UTC
    date-times with an explicit offset). Iterative: the depth is bounded but needs no stack."""
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        if "date" in node and not isinstance(node.get("op"), str):
            node["date"] = times.rfc3339_date("filter", node["date"]).isoformat()
        elif "timestamp" in node and not isinstance(node.get("op"), str):
            node["timestamp"] = times.rfc3339_date_time("filter", node["timestamp"]).isoformat()
        elif "interval" in node and isinstance(node["interval"], list):
            node["interval"] = [_interval_end(end) for end in node["interval"]]
        else:
            stack.extend(node.values())
    return document


def _interval_end(raw):
    if raw == "..":
        return raw
    if isinstance(raw, str) and len(raw) == 10:
        return times.rfc3339_date("filter", raw).isoformat()
    return times.rfc3339_date_time("filter", raw).isoformat()


def _snippet(raw: str, exc) -> str:
    start = max(0, exc.pos_in_stream - 20) if exc.pos_in_stream is not None else 0
    return repr(raw[start : start + 40])


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def to_q(raw: str, lang: str, fields: dict[str, Queryable], crs: ogc_crs.Crs) -> Q:
    """The Q object of a CQL2 filter over `fields`; ParamError naming the problem."""
    tree = parse(raw, lang)
    try:
        return _Translator(fields, crs).translate(tree)
    except RecursionError:
        raise ParamError("filter", "nested too deeply") from None
