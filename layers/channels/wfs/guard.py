"""Every WFS request checked before django-gisserver parses it (called by views.py beside it).

Long because every WFS parameter and every FES / GML element has a rule of its own; kept in one
module so that the rules read side by side (sections: CRSs, helpers, GET, XML, POST).

gisserver turns many bad values into an OWS ExceptionReport, but not all: a negative COUNT, a
STARTINDEX past bigint, NaN or infinite coordinates, a DOCTYPE in a POST body, a filter nested
1,000 deep, an empty PROPERTYNAME or `<fes:Filter/>`, a two-point ring, an unknown distance unit,
a function with the wrong arguments all answered 500. Here each is refused first, as
gisserver's own exceptions (so its view renders them): 400 with the OWS exceptionCode and a
locator naming the parameter (`count`, `bbox`, `filter`, …), or 413 for a body over the cap.

The same parsers as the other channels decide (layers.query.params, spatial, times: ASCII
integers and finite numbers only, coordinates inside their CRS's area of use before anything
transforms them), and the same caps as CQL2 (layers.query.cql.MAX_NODES terms; 10,000 points
in the geometries of one filter). CRSs are a closed list of integer EPSG codes (the feature
types' own): no other SRS string reaches GDAL or PROJ.

Limits (settings, documented in docs/API.md):
- a POST body of at most WFS_MAX_BODY_BYTES (100 KB), else 413;
- a filter (FILTER or the `<fes:Filter>` of a body) of at most MAX_NODES terms (operators,
  functions, resource ids) nested at most MAX_DEPTH elements deep;
- at most MAX_QUERIES type names / queries per request;
- COUNT as in layers/channels/wfs/views.py (WFS_COUNT_DEFAULT without COUNT, larger values cut to
  WFS_COUNT_MAX); STARTINDEX at most MAX_START_INDEX.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace

from gisserver.exceptions import (
    InvalidParameterValue,
    OperationNotSupported,
    OperationParsingFailed,
)

from layers.geo import crs as crs_table
from layers.query import params, spatial, times
from layers.query.cql import MAX_NODES
from layers.query.params import ParamError

# A chain of N binary <And>/<Or> (how GDAL and QGIS write `a AND b AND c …`) is N deep;
# gisserver's recursive parser breaks near 250 levels, so 100 leaves a wide margin.
MAX_DEPTH = 100
MAX_QUERIES = 20
MAX_START_INDEX = 10**9
MAX_POINTS = 10_000
MAX_VALUE_LENGTH = 16_000
MAX_NAMES = 100
MAX_DISTANCE_M = spatial.MAX_RADIUS_M

FES = {"http://www.opengis.net/fes/2.0", "http://www.opengis.net/ogc"}
GML = {"http://www.opengis.net/gml/3.2", "http://www.opengis.net/gml"}
WFS = {"http://www.opengis.net/wfs/2.0", "http://www.opengis.net/wfs"}

# Parameters that carry data: given empty they are a mistake, not "absent".
DATA_PARAMETERS = {
    "FILTER": "filter",
    "PROPERTYNAME": "propertyName",
    "BBOX": "bbox",
    "RESOURCEID": "resourceId",
    "SORTBY": "sortBy",
    "SRSNAME": "srsName",
    "COUNT": "count",
    "MAXFEATURES": "maxFeatures",
    "STARTINDEX": "startIndex",
    "TYPENAMES": "typeNames",
    "TYPENAME": "typeName",
    "VALUEREFERENCE": "valueReference",
    "STOREDQUERY_ID": "STOREDQUERY_ID",
    "RESULTTYPE": "resultType",
    "OUTPUTFORMAT": "outputFormat",
    "RESOLVE": "resolve",
    "RESOLVEDEPTH": "resolveDepth",
    "RESOLVETIMEOUT": "resolveTimeout",
    "NAMESPACES": "namespaces",
    "ALIASES": "aliases",
    "FILTER_LANGUAGE": "filterLanguage",
    "ID": "ID",
}
RESULT_TYPES = {"results", "hits"}
RESOLVE_VALUES = {"local", "remote", "all", "none"}
_VERSION = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){0,2}", re.ASCII)
_RESOURCE_ID = re.compile(r"(?P<type>[^.]+)\.(?P<id>.*)", re.DOTALL)

COMPARISONS = {
    "PropertyIsEqualTo",
    "PropertyIsNotEqualTo",
    "PropertyIsLessThan",
    "PropertyIsGreaterThan",
    "PropertyIsLessThanOrEqualTo",
    "PropertyIsGreaterThanOrEqualTo",
    "PropertyIsBetween",
    "PropertyIsLike",
}
# fes elements that are no term of their own (operands and their wrappers).
OPERANDS = {
    "Filter",
    "ValueReference",
    "PropertyName",
    "Literal",
    "Distance",
    "LowerBoundary",
    "UpperBoundary",
}
POSITIONS = {"pos", "posList", "lowerCorner", "upperCorner", "coordinates"}


# --- CRSs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Srs:
    srid: int
    # x/east first as written (CRS84, or a legacy form that gisserver reads x/y).
    xy: bool


_EPSG_FORMS = (
    # (pattern, x/y order in a GML geometry)
    (re.compile(r"urn:ogc:def:crs:epsg:(?:[0-9.]*):([0-9]{1,6})", re.I | re.A), False),
    (re.compile(r"http://www\.opengis\.net/def/crs/epsg/0/([0-9]{1,6})", re.I | re.A), False),
    (re.compile(r"http://www\.opengis\.net/gml/srs/epsg\.xml#([0-9]{1,6})", re.I | re.A), True),
    (re.compile(r"epsg:([0-9]{1,6})", re.I | re.A), None),  # x/y for EPSG:4326 only
    (re.compile(r"([0-9]{1,6})", re.A), False),
)
_CRS84 = re.compile(r"urn:ogc:def:crs:ogc:(?:1\.3)?:(?:crs)?84", re.I | re.A)


def parse_srs(locator: str, raw: str, allowed: frozenset[int]) -> Srs:
    """One of the service's CRSs, by any name gisserver reads; nothing else is parsed."""
    text = raw.strip() if isinstance(raw, str) else ""
    if _CRS84.fullmatch(text) and 4326 in allowed:
        return Srs(4326, True)
    for pattern, xy in _EPSG_FORMS:
        match = pattern.fullmatch(text)
        if match and int(match.group(1)) in allowed:
            srid = int(match.group(1))
            return Srs(srid, srid == 4326 if xy is None else xy)
    codes = ", ".join(f"urn:ogc:def:crs:EPSG::{code}" for code in sorted(allowed))
    raise InvalidParameterValue(
        f"{params._show(str(raw))} is not a CRS of this service; use one of {codes}",
        locator=locator,
    )


def _area(srid: int) -> crs_table.Crs:
    return crs_table.BY_SRID[srid]


def _check_position(locator: str, srs: Srs, x: float, y: float) -> None:
    """(x, y) as written, inside the area of use of its CRS (axis order of the form)."""
    area = _area(srs.srid)
    east, north = (x, y) if srs.xy else (y, x)
    if not area.contains(east, north):
        minx, miny, maxx, maxy = area.bounds
        order = "x/east first" if srs.xy else "EPSG axis order: latitude/northing first"
        raise InvalidParameterValue(
            f"coordinates {x:g} {y:g} outside the area of use of EPSG:{srs.srid} "
            f"(east {minx:g}…{maxx:g}, north {miny:g}…{maxy:g}; {order})",
            locator=locator,
        )


# --- helpers ----------------------------------------------------------------------------------


@contextmanager
def _as(locator: str):
    """A ParamError of the shared parsers as gisserver's InvalidParameterValue."""
    try:
        yield
    except ParamError as exc:
        raise InvalidParameterValue(exc.message, locator=locator) from None


def _groups(value: str) -> list[str]:
    """KVP parameter lists: `(a)(b)` is two values, one per query (as gisserver splits)."""
    if value.startswith("(") and value.endswith(")"):
        return value[1:-1].split(")(")
    return [value]


def _local(name: str) -> str:
    """The property name without a namespace prefix (`app:floors` -> `floors`)."""
    return name.rsplit(":", 1)[-1]


def _simple(name: str) -> bool:
    return not any(c in name for c in "/[]@()")


def _integer(locator: str, raw: str, *, low: int, high: int) -> int:
    text = raw.strip() if isinstance(raw, str) else raw
    with _as(locator):
        if isinstance(text, str) and text.startswith("-") and low < 0:
            return -params.integer(locator, text[1:], low=0, high=-low)
        return params.integer(locator, text, low=max(low, 0), high=high)


@dataclass(frozen=True)
class Caller:
    """What the caller may ask for: per type name, its properties and their kinds
    (layers.query.cql kinds, plus `geometry`), and the CRS codes the types speak."""

    kinds: Mapping[str, Mapping[str, str]]
    srids: frozenset[int]

    def properties(self, type_name: str | None) -> Mapping[str, str] | None:
        if type_name is None:
            return None
        return self.kinds.get(_local(type_name))


# --- GET (key-value pairs) --------------------------------------------------------------------


def check_query(query, caller: Caller) -> None:
    """The KVP parameters of a GET: refused with gisserver's exceptions when malformed."""
    values: dict[str, str] = {}
    for name, given in query.lists():
        upper = name.upper()
        locator = DATA_PARAMETERS.get(upper, name)
        if upper in values or len(given) > 1:
            raise InvalidParameterValue(f"{name} is given more than once", locator=locator)
        raw = given[0]
        limit = MAX_VALUE_LENGTH if upper != "FILTER" else _max_body()
        with _as(locator):
            params.text(locator, raw, max_length=limit)
        if upper in DATA_PARAMETERS and raw.strip() == "":
            raise InvalidParameterValue(f"{name} is empty", locator=locator)
        values[upper] = raw

    if "VERSION" in values and not _VERSION.fullmatch(values["VERSION"]):
        raise InvalidParameterValue("expected a version such as 2.0.0", locator="version")
    for name in ("COUNT", "MAXFEATURES"):
        if name in values:
            _integer(DATA_PARAMETERS[name], values[name], low=0, high=params.MAX_ID)
    if "STARTINDEX" in values:
        _integer("startIndex", values["STARTINDEX"], low=0, high=MAX_START_INDEX)
    if "RESULTTYPE" in values and values["RESULTTYPE"].lower() not in RESULT_TYPES:
        raise InvalidParameterValue("expected results or hits", locator="resultType")
    if "RESOLVE" in values and values["RESOLVE"] not in RESOLVE_VALUES:
        raise InvalidParameterValue(f"expected one of {sorted(RESOLVE_VALUES)}", locator="resolve")
    if "RESOLVEDEPTH" in values and values["RESOLVEDEPTH"] != "*":
        _integer("resolveDepth", values["RESOLVEDEPTH"], low=0, high=100)
    if "RESOLVETIMEOUT" in values:
        _integer("resolveTimeout", values["RESOLVETIMEOUT"], low=0, high=86_400)
    if "SRSNAME" in values:
        parse_srs("srsName", values["SRSNAME"], caller.srids)

    type_text = values.get("TYPENAMES", values.get("TYPENAME"))
    type_groups = [group.split(",") for group in _groups(type_text)] if type_text else []
    names = [n for group in type_groups for n in group]
    if len(type_groups) > MAX_QUERIES or len(names) > MAX_QUERIES:
        raise InvalidParameterValue(
            f"at most {MAX_QUERIES} type names per request", locator="typeNames"
        )
    if names and any(n.strip() == "" for n in names):
        raise InvalidParameterValue("an empty type name", locator="typeNames")

    def type_of(index: int) -> str | None:
        if index < len(type_groups) and len(type_groups[index]) == 1:
            return type_groups[index][0] or None
        return type_groups[0][0] if len(type_groups) == 1 and type_groups[0][0] else None

    if "BBOX" in values:
        for raw in _groups(values["BBOX"]):
            _check_bbox(raw, caller)
    if "RESOURCEID" in values:
        ids = values["RESOURCEID"].split(",")
        if len(ids) > MAX_NODES:
            raise InvalidParameterValue(f"more than {MAX_NODES} ids", locator="resourceId")
        for rid in ids:
            _check_resource_id("resourceId", rid)
    if "ID" in values:
        _check_resource_id("ID", values["ID"])
    for upper, locator in (("PROPERTYNAME", "propertyName"), ("SORTBY", "sortBy")):
        if upper in values:
            for index, group in enumerate(_groups(values[upper])):
                terms = group.split(",")
                if len(terms) > MAX_NAMES:
                    raise InvalidParameterValue(f"at most {MAX_NAMES} names", locator=locator)
                for term in terms:
                    name = term.strip().split(" ")[0] if upper == "SORTBY" else term.strip()
                    if name == "*" and upper == "PROPERTYNAME":
                        continue
                    _check_property(locator, name, caller.properties(type_of(index)))
    if "FILTER" in values:
        for index, text in enumerate(_groups(values["FILTER"])):
            root = _parse_xml("filter", text, filter_param=True)
            check_filter(root, caller, type_of(index), locator="filter")


def _max_body() -> int:
    from django.conf import settings

    return settings.WFS_MAX_BODY_BYTES


def _check_bbox(raw: str, caller: Caller) -> None:
    parts = raw.split(",")
    if len(parts) not in (4, 5):
        raise InvalidParameterValue(
            f"expected minx,miny,maxx,maxy[,crs], got {params._show(raw)}", locator="bbox"
        )
    srs = Srs(4326, False)  # gisserver's default: the feature type's urn:…:EPSG::4326
    if len(parts) == 5:
        # gisserver reads a BBOX in the authority's axis order whatever the form of its CRS
        # (EPSG:4326 too): only CRS84 is x/y.
        found = parse_srs("bbox", parts[4], caller.srids)
        srs = Srs(found.srid, bool(_CRS84.fullmatch(parts[4].strip())))
    area = _area(srs.srid)
    crs = replace(area, flip=not srs.xy)
    with _as("bbox"):
        spatial.bbox("bbox", ",".join(parts[:4]), crs)


def _check_resource_id(locator: str, raw: str) -> None:
    match = _RESOURCE_ID.fullmatch(raw.strip())
    if match is None or not re.fullmatch(r"[0-9]+", match.group("id"), re.ASCII):
        raise InvalidParameterValue(
            f"expected typename.id with an ASCII integer id, got {params._show(raw)}",
            locator=locator,
        )


def _check_property(locator: str, name: str, known: Mapping[str, str] | None) -> None:
    if name == "":
        raise InvalidParameterValue("an empty property name", locator=locator)
    if known is None or not _simple(name):
        return  # gisserver resolves XPaths and names of unknown types (with its own 400)
    if _local(name) not in known:
        raise InvalidParameterValue(
            f"unknown property {params._show(name)}; properties: {', '.join(known)}",
            locator=locator,
        )


# --- XML --------------------------------------------------------------------------------------


def _parse_xml(locator: str, text, *, filter_param: bool = False):
    """The element tree of `text`, parsed by defusedxml: no DTD, entities or external
    references (a DOCTYPE is refused in GET and POST alike)."""
    import defusedxml.ElementTree as safe
    from defusedxml import DefusedXmlException

    if filter_param and isinstance(text, str):
        # As gisserver: a KVP <Filter> may come without namespaces (GeoServer and MapServer
        # accept it too).
        end = text.find(">")
        first = text[:end].lstrip() if end > 0 else ""
        if "xmlns" not in first and (first == "<Filter" or first.startswith("<Filter ")):
            text = (
                f'{first} xmlns="http://www.opengis.net/fes/2.0" '
                f'xmlns:gml="http://www.opengis.net/gml/3.2"{text[end:]}'
            )
    try:
        return safe.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise OperationParsingFailed(
            "a DOCTYPE, entity or external reference is not allowed", locator=locator
        ) from None
    except (safe.ParseError, ValueError, UnicodeError) as exc:
        raise OperationParsingFailed(f"not well-formed XML: {exc}", locator=locator) from None


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _walk(root, depth_limit: int, locator: str) -> Iterator[tuple[object, list]]:
    """Every element with its ancestors (nearest last), depth-first, without recursion."""
    stack = [(root, [])]
    while stack:
        element, ancestors = stack.pop()
        if len(ancestors) >= depth_limit:
            raise InvalidParameterValue(
                f"nested more than {depth_limit} elements deep", locator=locator
            )
        yield element, ancestors
        inner = [*ancestors, element]
        stack.extend((child, inner) for child in reversed(element))


def check_filter(root, caller: Caller, type_name: str | None, *, locator: str) -> None:
    """A `<fes:Filter>`: the caps, then every literal, distance, function and geometry."""
    ns, local = _split(root.tag)
    if ns in FES and local == "Filter" and len(root) == 0:
        raise InvalidParameterValue("an empty filter", locator=locator)
    known = caller.properties(type_name)
    terms = points = 0
    positions: dict[int, list[tuple[float, ...]]] = {}
    primitives = []
    for element, ancestors in _walk(root, MAX_DEPTH, locator):
        ns, local = _split(element.tag)
        if ns in FES:
            if local not in OPERANDS:
                terms += 1
                if terms > MAX_NODES:
                    raise InvalidParameterValue(f"more than {MAX_NODES} terms", locator=locator)
            _check_fes(element, local, known, caller, locator)
        elif ns in GML:
            srs = _srs_of([*ancestors, element], caller, locator)
            if local in POSITIONS:
                coordinates = _positions(element, local, ancestors, srs, locator)
                points += len(coordinates)
                if points > MAX_POINTS:
                    raise InvalidParameterValue(
                        f"the geometries have more than {MAX_POINTS} points", locator=locator
                    )
                parent = ancestors[-1] if ancestors else element
                positions.setdefault(id(parent), []).extend(coordinates)
            elif local in ("LinearRing", "LineString", "Point", "Envelope"):
                primitives.append((element, local))
    for element, local in primitives:
        _check_primitive(local, positions.get(id(element), []), locator)


def _check_fes(element, local: str, known, caller: Caller, locator: str) -> None:
    if local in COMPARISONS and known is not None:
        _check_comparison(element, local, known, locator)
    elif local in ("And", "Or") and len(element) < 2:
        raise InvalidParameterValue(f"fes:{local} needs two or more operands", locator=locator)
    elif local == "Not" and len(element) != 1:
        raise InvalidParameterValue("fes:Not needs exactly one operand", locator=locator)
    elif local == "Distance":
        _check_distance(element, locator)
    elif local == "DWithin":
        raise OperationNotSupported(
            "DWithin is not supported here (the layers are stored in EPSG:4326, where PostGIS "
            "would measure it in degrees); use Not around Beyond, or Intersects with a polygon",
            locator=locator,
        )
    elif local == "Function":
        _check_function(element, locator)
    elif local == "Div" and len(element) == 2:
        divisor = element[1]
        if _split(divisor.tag)[1] == "Literal" and len(divisor) == 0:
            with _as(locator):
                value = params.number(locator, (divisor.text or "").strip())
            if value == 0:
                raise InvalidParameterValue("division by zero", locator=locator)
    elif local == "ResourceId":
        _check_resource_id(locator, element.get("rid", ""))


def _children(element, *names: str):
    return [child for child in element if _split(child.tag)[1] in names]


def _check_comparison(element, local: str, known: Mapping[str, str], locator: str) -> None:
    references = _children(element, "ValueReference", "PropertyName")
    if len(references) != 1:
        return  # two properties, or an expression: gisserver compares them
    name = (references[0].text or "").strip()
    _check_property(locator, name, known)
    if not _simple(name):
        return
    kind = known.get(_local(name))
    literals = _children(element, "Literal")
    for boundary in _children(element, "LowerBoundary", "UpperBoundary"):
        literals += _children(boundary, "Literal")
    for literal in literals:
        if len(literal) == 0:
            _check_literal(
                locator, _local(name), kind, literal.text or "", like=local.endswith("Like")
            )


def _check_literal(locator: str, name: str, kind: str | None, raw: str, *, like: bool) -> None:
    text = raw.strip()
    where = f"{name}: "
    try:
        if like or kind == "string":
            params.text(locator, raw, max_length=params.MAX_TEXT_LENGTH)
        elif kind == "integer":
            _integer(locator, text, low=-params.MAX_ID, high=params.MAX_ID)
        elif kind == "number":
            params.number(locator, text)
        elif kind == "date":
            times.rfc3339_date(locator, text)
        elif kind == "date-time":
            # With its zone: gisserver would read a zoneless one as a naive datetime.
            times.rfc3339_date_time(locator, text)
    except ParamError as exc:
        raise InvalidParameterValue(where + exc.message, locator=locator) from None
    except InvalidParameterValue as exc:
        exc.text = where + exc.text
        raise


def _check_distance(element, locator: str) -> None:
    from django.contrib.gis.measure import D

    unit = element.get("uom", "")
    try:
        attname = D.unit_attname(unit)
    except AttributeError:
        raise InvalidParameterValue(
            f"unknown unit of distance {params._show(unit)} (use m or km)", locator=locator
        ) from None
    with _as(locator):
        value = params.number(locator, (element.text or "").strip())
    metres = value * D.UNITS[attname]
    if not 0 <= metres <= MAX_DISTANCE_M:
        raise InvalidParameterValue(
            f"a distance of at most {MAX_DISTANCE_M} m, got {value:g} {unit}", locator=locator
        )


def _check_function(element, locator: str) -> None:
    from gisserver.extensions.functions import function_registry
    from gisserver.types import XsdTypes

    name = element.get("name", "")
    function = function_registry.functions.get(name)
    if function is None:
        raise InvalidParameterValue(f"unknown function {params._show(name)}", locator=locator)
    arguments = list((function.arguments or {}).values())
    if len(element) != len(arguments):
        raise InvalidParameterValue(
            f"{name} takes {len(arguments)} argument(s), got {len(element)}", locator=locator
        )
    numeric = {XsdTypes.integer, XsdTypes.decimal, XsdTypes.double, XsdTypes.float}
    for argument, expected in zip(element, arguments, strict=True):
        if _split(argument.tag)[1] != "Literal" or len(argument) != 0:
            continue
        text = (argument.text or "").strip()
        try:
            if expected == XsdTypes.integer:
                _integer(locator, text, low=-params.MAX_ID, high=params.MAX_ID)
            elif expected in numeric:
                params.number(locator, text)
        except (ParamError, InvalidParameterValue):
            raise InvalidParameterValue(
                f"{name}: expected a number as argument, got {params._show(text)}",
                locator=locator,
            ) from None


def _srs_of(chain: list, caller: Caller, locator: str) -> Srs:
    for element in reversed(chain):
        if _split(element.tag)[0] in GML and element.get("srsName"):
            return parse_srs(locator, element.get("srsName"), caller.srids)
    return Srs(4326, False)  # gisserver's default, urn:ogc:def:crs:EPSG::4326


def _dimension(chain: list, locator: str) -> int:
    for element in reversed(chain):
        raw = element.get("srsDimension")
        if raw is not None:
            if raw.strip() not in ("2", "3"):
                raise InvalidParameterValue("srsDimension must be 2 or 3", locator=locator)
            return int(raw)
    return 2


def _positions(element, local: str, ancestors: list, srs: Srs, locator: str):
    """The coordinates of a gml:pos/posList/…: ASCII finite numbers, inside the CRS's area."""
    text = element.text or ""
    if local == "coordinates":  # GML 2: "x,y x,y" with the default separators only
        if any(
            element.get(a) not in (None, d) for a, d in (("cs", ","), ("ts", " "), ("decimal", "."))
        ):
            raise OperationNotSupported(
                "gml:coordinates with other separators; use gml:posList", locator=locator
            )
        tuples = [t.split(",") for t in text.split()]
        dimension = len(tuples[0]) if tuples else 2
        numbers = [n for t in tuples for n in t]
        if any(len(t) != dimension for t in tuples) or dimension not in (2, 3):
            raise InvalidParameterValue("gml:coordinates of mixed dimensions", locator=locator)
    else:
        numbers = text.split()
        dimension = _dimension([*ancestors, element], locator)
    with _as(locator):
        values = [params.number(locator, n) for n in numbers]
    if not values or len(values) % dimension:
        raise InvalidParameterValue(
            f"gml:{local} needs coordinates in groups of {dimension}, got {len(values)} numbers",
            locator=locator,
        )
    if (local == "pos" or local.endswith("Corner")) and len(values) != dimension:
        raise InvalidParameterValue(
            f"gml:{local} holds one position of {dimension} numbers", locator=locator
        )
    coordinates = [tuple(values[i : i + dimension]) for i in range(0, len(values), dimension)]
    for position in coordinates:
        _check_position(locator, srs, position[0], position[1])
    return coordinates


def _check_primitive(local: str, coordinates: list, locator: str) -> None:
    if local == "LinearRing":
        if len(coordinates) < 4 or coordinates[0] != coordinates[-1]:
            raise InvalidParameterValue(
                "a gml:LinearRing needs at least 4 positions, the last equal to the first",
                locator=locator,
            )
    elif local == "LineString" and len(coordinates) < 2:
        raise InvalidParameterValue("a gml:LineString needs at least 2 positions", locator=locator)
    elif local == "Point" and len(coordinates) != 1:
        raise InvalidParameterValue("a gml:Point holds exactly one position", locator=locator)
    elif local == "Envelope" and (
        len(coordinates) != 2 or any(lo > hi for lo, hi in zip(*coordinates, strict=True))
    ):
        raise InvalidParameterValue(
            "a gml:Envelope needs a lowerCorner below and left of its upperCorner",
            locator=locator,
        )


# --- POST (XML) -------------------------------------------------------------------------------


class BodyTooLarge(OperationParsingFailed):
    status_code = 413
    reason = "Request Entity Too Large"


def check_body(request, caller: Caller) -> None:
    """An XML POST: size first (413, before reading it), then the same rules as the KVP."""
    limit = _max_body()
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise BodyTooLarge(f"the request body is larger than {limit} bytes", locator="body")
    body = request.body
    if len(body) > limit:  # pragma: no cover (Django reads CONTENT_LENGTH bytes at most)
        raise BodyTooLarge(f"the request body is larger than {limit} bytes", locator="body")
    root = _parse_xml("body", body)
    ns, local = _split(root.tag)
    handle = root.get("handle") or local
    _check_request_attributes(root, handle)
    queries = [q for q in root if _split(q.tag)[1] in ("Query", "StoredQuery")]
    if len(queries) > MAX_QUERIES:
        raise InvalidParameterValue(f"at most {MAX_QUERIES} queries", locator=handle)
    for query in queries:
        _check_query_element(query, caller)
    if local == "DescribeFeatureType":
        names = _children(root, "TypeName")
        if len(names) > MAX_QUERIES:
            raise InvalidParameterValue(f"at most {MAX_QUERIES} type names", locator="typeNames")


def _check_request_attributes(root, handle: str) -> None:
    for attribute, low, high in (
        ("count", 0, params.MAX_ID),
        ("maxFeatures", 0, params.MAX_ID),
        ("startIndex", 0, MAX_START_INDEX),
        ("resolveTimeout", 0, 86_400),
    ):
        if attribute in root.attrib:
            _integer(attribute, root.get(attribute), low=low, high=high)
    if "version" in root.attrib and not _VERSION.fullmatch(root.get("version")):
        raise InvalidParameterValue("expected a version such as 2.0.0", locator="version")
    if "resultType" in root.attrib and root.get("resultType") not in RESULT_TYPES:
        raise InvalidParameterValue("expected results or hits", locator="resultType")
    if "resolve" in root.attrib and root.get("resolve") not in RESOLVE_VALUES:
        raise InvalidParameterValue(f"expected one of {sorted(RESOLVE_VALUES)}", locator="resolve")
    depth = root.get("resolveDepth")
    if depth is not None and depth != "*":
        _integer("resolveDepth", depth, low=0, high=100)


def _check_query_element(query, caller: Caller) -> None:
    local = _split(query.tag)[1]
    if local == "StoredQuery":
        for parameter in _children(query, "Parameter"):
            if parameter.get("name", "").upper() == "ID":
                _check_resource_id("ID", parameter.text or "")
        return
    names = (query.get("typeNames") or "").split()
    if len(names) > MAX_QUERIES:
        raise InvalidParameterValue(f"at most {MAX_QUERIES} type names", locator="typeNames")
    type_name = names[0] if len(names) == 1 else None
    if query.get("srsName"):
        parse_srs("srsName", query.get("srsName"), caller.srids)
    known = caller.properties(type_name)
    for child in query:
        ns, child_local = _split(child.tag)
        if child_local == "PropertyName" and ns in WFS:
            _check_property("propertyName", (child.text or "").strip(), known)
        elif child_local == "SortBy":
            for reference in child.iter():
                if _split(reference.tag)[1] == "ValueReference":
                    _check_property("sortBy", (reference.text or "").strip(), known)
        elif child_local == "Filter":
            check_filter(child, caller, type_name, locator="filter")
