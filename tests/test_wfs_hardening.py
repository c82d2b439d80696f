"""WFS probed as an outsider (issue 27): every malformed parameter or body is a 400 OWS
ExceptionReport naming the parameter (413 for a body over the cap), never a 500; the caps of
CQL2 (terms, depth, size); a default and a maximum COUNT; valid requests still answered.

Each probe of the issue's list answered 500 before layers/channels/wfs/guard.py. Generated probes
(hypothesis, seeded) run the same checks over random parameters and filters.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import defusedxml.ElementTree as ET
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layers.domain import models
from layers.domain.roles import PLANNER
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

OWS = "{http://www.opengis.net/ows/1.1}"
FES = 'xmlns:fes="http://www.opengis.net/fes/2.0"'
GML = 'xmlns:gml="http://www.opengis.net/gml/3.2"'
WFS = 'xmlns:wfs="http://www.opengis.net/wfs/2.0"'
BASE = {"SERVICE": "WFS", "VERSION": "2.0.0", "REQUEST": "GetFeature", "TYPENAMES": "viewpoints"}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def ows_error(response, status: int, code: str, locator: str) -> str:
    """The response is an OWS ExceptionReport with this code and locator; its text."""
    assert response.status_code == status, (response.status_code, body_of(response)[:500])
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(body_of(response))
    assert root.tag == f"{OWS}ExceptionReport"
    exception = root.find(f"{OWS}Exception")
    assert exception.get("exceptionCode") == code, body_of(response)
    assert exception.get("locator") == locator, body_of(response)
    return exception.findtext(f"{OWS}ExceptionText")


def wfs_get(client, **params):
    query = {k: v for k, v in {**BASE, **params}.items() if v is not None}
    return client.get("/wfs/", query)


def wfs_post(client, body: str | bytes):
    return client.post("/wfs/", body, content_type="application/xml")


def fes(inner: str) -> str:
    return f"<fes:Filter {FES} {GML}>{inner}</fes:Filter>"


def equal(name: str, literal: str) -> str:
    return (
        f"<fes:PropertyIsEqualTo><fes:ValueReference>{name}</fes:ValueReference>"
        f"<fes:Literal>{literal}</fes:Literal></fes:PropertyIsEqualTo>"
    )


def point(pos: str, srs: str = "urn:ogc:def:crs:EPSG::4326") -> str:
    return f'<gml:Point gml:id="p1" srsName="{srs}"><gml:pos>{pos}</gml:pos></gml:Point>'


def distance(op: str, value: str, unit: str = "m") -> str:
    return (
        f"<fes:{op}><fes:ValueReference>geom</fes:ValueReference>{point('31.7828 119.9472')}"
        f'<fes:Distance uom="{unit}">{value}</fes:Distance></fes:{op}>'
    )


def get_feature(inner: str = "", attributes: str = "", query: str = 'typeNames="viewpoints"'):
    return (
        f'<wfs:GetFeature service="WFS" version="2.0.0" {WFS} {FES} {GML} {attributes}>'
        f"<wfs:Query {query}>{inner}</wfs:Query></wfs:GetFeature>"
    )


@pytest.fixture
def planner_client(client):
    client.force_login(make_user("t-wfs-planner", PLANNER))
    return client


# --- the issue's list, one by one -------------------------------------------------------------

RING_OF_TWO = (
    "<fes:Intersects><fes:ValueReference>geom</fes:ValueReference>"
    '<gml:Polygon gml:id="p1" srsName="urn:ogc:def:crs:EPSG::4326"><gml:exterior>'
    "<gml:LinearRing><gml:posList>31.78 119.94 31.79 119.95</gml:posList></gml:LinearRing>"
    "</gml:exterior></gml:Polygon></fes:Intersects>"
)
WRONG_ARGUMENTS = (
    '<fes:PropertyIsEqualTo><fes:Function name="strToLowerCase"><fes:Literal>a</fes:Literal>'
    "<fes:Literal>b</fes:Literal></fes:Function><fes:Literal>a</fes:Literal>"
    "</fes:PropertyIsEqualTo>"
)
WRONG_ARGUMENT_TYPE = (
    '<fes:PropertyIsEqualTo><fes:Function name="strSubstring">'
    "<fes:ValueReference>name</fes:ValueReference><fes:Literal>a</fes:Literal>"
    "<fes:Literal>b</fes:Literal></fes:Function><fes:Literal>x</fes:Literal>"
    "</fes:PropertyIsEqualTo>"
)
DIVIDE_BY_ZERO = (
    "<fes:PropertyIsEqualTo><fes:ValueReference>tour_order</fes:ValueReference>"
    "<fes:Div><fes:Literal>1</fes:Literal><fes:Literal>0</fes:Literal></fes:Div>"
    "</fes:PropertyIsEqualTo>"
)
DEEP = "<fes:Not>" * 1000 + equal("name", "x") + "</fes:Not>" * 1000


@pytest.mark.parametrize(
    "params, code, locator",
    [
        ({"COUNT": "-1"}, "InvalidParameterValue", "count"),
        ({"MAXFEATURES": "-1"}, "InvalidParameterValue", "maxFeatures"),
        ({"STARTINDEX": "99999999999999999999"}, "InvalidParameterValue", "startIndex"),
        ({"STARTINDEX": "9223372036854775808"}, "InvalidParameterValue", "startIndex"),
        ({"STARTINDEX": "-1"}, "InvalidParameterValue", "startIndex"),
        ({"BBOX": "nan,119.94,31.79,119.95"}, "InvalidParameterValue", "bbox"),
        ({"BBOX": "inf,119.94,31.79,119.95"}, "InvalidParameterValue", "bbox"),
        ({"BBOX": "31.78,119.94,NaN,NaN"}, "InvalidParameterValue", "bbox"),
        ({"BBOX": "31.78,119.94,1e309,119.95"}, "InvalidParameterValue", "bbox"),
        ({"FILTER": fes(DEEP)}, "InvalidParameterValue", "filter"),
        ({"PROPERTYNAME": ""}, "InvalidParameterValue", "propertyName"),
        ({"PROPERTYNAME": ","}, "InvalidParameterValue", "propertyName"),
        ({"FILTER": ""}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes("")}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(RING_OF_TWO)}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(distance("Beyond", "1e309"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(distance("Beyond", "1", "parsec"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(distance("Beyond", "NaN"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(distance("Beyond", "-5"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(distance("DWithin", "100"))}, "OperationNotSupported", "filter"),
        ({"FILTER": fes(WRONG_ARGUMENTS)}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(WRONG_ARGUMENT_TYPE)}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(DIVIDE_BY_ZERO)}, "InvalidParameterValue", "filter"),
    ],
    ids=lambda v: str(v)[:60] if isinstance(v, dict) else str(v),
)
def test_issue_probes_are_400_naming_the_parameter(client, params, code, locator):
    ows_error(wfs_get(client, **params), 400, code, locator)


def test_a_doctype_in_a_post_body_is_400_as_in_get(client):
    doctype = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]>'
    body = doctype + get_feature()
    text = ows_error(wfs_post(client, body), 400, "OperationParsingFailed", "body")
    assert "DOCTYPE" in text
    ows_error(wfs_get(client, FILTER=doctype + fes(equal("name", "&a;"))), 400,
              "OperationParsingFailed", "filter")  # fmt: skip


# --- more found by probing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, code, locator",
    [
        ({"COUNT": "٣"}, "InvalidParameterValue", "count"),  # int() reads Arabic digits
        ({"COUNT": "²"}, "InvalidParameterValue", "count"),
        ({"STARTINDEX": "１"}, "InvalidParameterValue", "startIndex"),
        ({"RESOURCEID": "viewpoints.٣", "TYPENAMES": None}, "InvalidParameterValue", "resourceId"),
        ({"RESOURCEID": "viewpoints.x", "TYPENAMES": None}, "InvalidParameterValue", "resourceId"),
        ({"RESOLVETIMEOUT": "٣"}, "InvalidParameterValue", "resolveTimeout"),
        ({"TYPENAMES": "viewpoints\x00"}, "InvalidParameterValue", "typeNames"),
        ({"SORTBY": "name\x00"}, "InvalidParameterValue", "sortBy"),
        ({"TYPENAMES": ",".join(["viewpoints"] * 5000)}, "InvalidParameterValue", "typeNames"),
        ({"TYPENAMES": "(viewpoints)" * 50}, "InvalidParameterValue", "typeNames"),
        ({"SRSNAME": "EPSG:99999"}, "InvalidParameterValue", "srsName"),
        ({"SRSNAME": "+proj=longlat +datum=WGS84"}, "InvalidParameterValue", "srsName"),
        ({"SRSNAME": "urn:ogc:def:crs:EPSG::3857"}, "InvalidParameterValue", "srsName"),
        ({"BBOX": "31.78,119.94,31.79,119.95,+proj=longlat"}, "InvalidParameterValue", "bbox"),
        ({"BBOX": "31.78,119.94,31.79,119.95,EPSG:2000"}, "InvalidParameterValue", "bbox"),
        ({"BBOX": "95,200,96,201"}, "InvalidParameterValue", "bbox"),  # outside the world
        ({"BBOX": "31.79,119.95,31.78,119.94"}, "InvalidParameterValue", "bbox"),  # upside down
        (
            {"BBOX": "1e30,1e30,1e31,1e31,urn:ogc:def:crs:EPSG::4549"},
            "InvalidParameterValue",
            "bbox",
        ),
        ({"BBOX": "31.78,119.94,0"}, "InvalidParameterValue", "bbox"),
        ({"RESULTTYPE": "everything"}, "InvalidParameterValue", "resultType"),
        ({"RESOLVE": "sideways"}, "InvalidParameterValue", "resolve"),
        ({"VERSION": "2.0.0/../x"}, "InvalidParameterValue", "version"),
        ({"PROPERTYNAME": "no_such_field"}, "InvalidParameterValue", "propertyName"),
        ({"SORTBY": "no_such_field DESC"}, "InvalidParameterValue", "sortBy"),
        ({"FILTER": fes(equal("tour_order", "٣"))}, "InvalidParameterValue", "filter"),
        (
            {"FILTER": fes(equal("tour_order", "99999999999999999999"))},
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        ({"FILTER": fes(equal("updated_at", "tomorrow"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(equal("no_such_field", "1"))}, "InvalidParameterValue", "filter"),
        ({"FILTER": fes(equal("name", "x" * 201))}, "InvalidParameterValue", "filter"),
        (
            {"FILTER": fes(f"<fes:Intersects>{point('NaN NaN')}</fes:Intersects>")},
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        (
            {"FILTER": fes(f"<fes:Intersects>{point('1 2', 'EPSG:2000')}</fes:Intersects>")},
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        (
            {
                "FILTER": fes(
                    f"<fes:Intersects>{point('1e300 1e300', 'urn:ogc:def:crs:EPSG::4549')}"
                    "</fes:Intersects>"
                )
            },
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        (
            {"FILTER": fes(f"<fes:Intersects>{point('31.78')}</fes:Intersects>")},
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        (
            {"FILTER": fes(f"<fes:Intersects>{point('a b')}</fes:Intersects>")},
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        (
            {
                "FILTER": fes(
                    '<fes:PropertyIsEqualTo><fes:Function name="no_such_function"/>'
                    "<fes:Literal>1</fes:Literal></fes:PropertyIsEqualTo>"
                )
            },
            "InvalidParameterValue",
            "filter",
        ),  # fmt: skip
        ({"FILTER": "<not-xml"}, "OperationParsingFailed", "filter"),
    ],
    ids=lambda v: str(v)[:60] if isinstance(v, dict) else str(v),
)
def test_other_bad_values_are_400_naming_the_parameter(client, params, code, locator):
    ows_error(wfs_get(client, **params), 400, code, locator)


def test_a_parameter_given_twice_is_refused(client):
    response = client.get("/wfs/?REQUEST=GetFeature&TYPENAMES=viewpoints&COUNT=1&count=2")
    ows_error(response, 400, "InvalidParameterValue", "count")


def test_too_many_parameters_is_an_exception_report(client):
    query = "&".join(f"x{n}=1" for n in range(1200))
    response = client.get(f"/wfs/?SERVICE=WFS&REQUEST=GetFeature&{query}")
    ows_error(response, 400, "InvalidParameterValue", "request")


def test_a_division_by_zero_only_the_database_sees_is_400_without_its_words(planner_client):
    # floors - floors is 0 on every row: only PostgreSQL finds out.
    zero = (
        "<fes:Sub><fes:ValueReference>floors</fes:ValueReference>"
        "<fes:ValueReference>floors</fes:ValueReference></fes:Sub>"
    )
    inner = (
        "<fes:PropertyIsEqualTo><fes:Literal>3</fes:Literal><fes:Div><fes:Literal>1</fes:Literal>"
        f"{zero}</fes:Div></fes:PropertyIsEqualTo>"
    )
    response = wfs_get(planner_client, TYPENAMES="buildings", FILTER=fes(inner))
    text = ows_error(response, 400, "InvalidParameterValue", "filter")
    assert "cannot be evaluated" in text and "psycopg" not in text and "SQL" not in text


@pytest.mark.parametrize(
    "body, code, locator",
    [
        (get_feature(attributes='count="-1"'), "InvalidParameterValue", "count"),
        (
            get_feature(attributes='startIndex="99999999999999999999"'),
            "InvalidParameterValue",
            "startIndex",
        ),  # fmt: skip
        (get_feature(attributes='resultType="all"'), "InvalidParameterValue", "resultType"),
        (get_feature(attributes='resolve="all-of-it"'), "InvalidParameterValue", "resolve"),
        (
            get_feature(query='typeNames="viewpoints" srsName="+proj=longlat"'),
            "InvalidParameterValue",
            "srsName",
        ),  # fmt: skip
        (
            get_feature("<wfs:PropertyName></wfs:PropertyName>"),
            "InvalidParameterValue",
            "propertyName",
        ),  # fmt: skip
        (get_feature(f"<fes:Filter {FES}/>"), "InvalidParameterValue", "filter"),
        (get_feature(fes(DEEP)), "InvalidParameterValue", "filter"),
        (get_feature(fes(RING_OF_TWO)), "InvalidParameterValue", "filter"),
        (get_feature(fes(DIVIDE_BY_ZERO)), "InvalidParameterValue", "filter"),
        ("not xml at all", "OperationParsingFailed", "body"),
        ("", "OperationParsingFailed", "body"),
        (
            f'<wfs:GetFeature service="WFS" version="2.0.0" {WFS}><wfs:StoredQuery '
            'id="urn:ogc:def:query:OGC-WFS::GetFeatureById"><wfs:Parameter name="ID">'
            "viewpoints.٣</wfs:Parameter></wfs:StoredQuery></wfs:GetFeature>",
            "InvalidParameterValue",
            "ID",
        ),
    ],
    ids=lambda v: v[-70:] if isinstance(v, str) else str(v),
)
def test_bad_post_bodies_are_400_naming_the_part(client, body, code, locator):
    ows_error(wfs_post(client, body), 400, code, locator)


# --- limits -----------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_413_before_it_is_read(client):
    from django.conf import settings

    terms = equal("name", "x") * (settings.WFS_MAX_BODY_BYTES // len(equal("name", "x")) + 1)
    body = get_feature(fes(f"<fes:Or>{terms}</fes:Or>"))
    assert len(body) > settings.WFS_MAX_BODY_BYTES
    ows_error(wfs_post(client, body), 413, "OperationParsingFailed", "body")


def test_more_terms_than_cql2_allows_are_refused(client):
    from layers.query.cql import MAX_NODES

    within = "<fes:Or>" + equal("name", "x") * (MAX_NODES - 1) + "</fes:Or>"
    assert wfs_post(client, get_feature(fes(within))).status_code == 200
    over = "<fes:Or>" + equal("name", "x") * MAX_NODES + "</fes:Or>"
    response = wfs_post(client, get_feature(fes(over)))
    text = ows_error(response, 400, "InvalidParameterValue", "filter")
    assert f"more than {MAX_NODES} terms" in text


def test_the_depth_cap_lets_clients_binary_chains_through(client):
    """GDAL and QGIS write `a OR b OR c …` as nested pairs: 90 of them pass, 120 do not."""
    from layers.channels.wfs.guard import MAX_DEPTH

    def chain(n):
        inner = equal("name", "a")
        for i in range(n):
            inner = f"<fes:Or>{inner}{equal('name', str(i))}</fes:Or>"
        return fes(inner)

    assert wfs_get(client, FILTER=chain(MAX_DEPTH - 10)).status_code == 200
    ows_error(wfs_get(client, FILTER=chain(MAX_DEPTH + 20)), 400, "InvalidParameterValue", "filter")


@override_settings(WFS_COUNT_DEFAULT=4, WFS_COUNT_MAX=7)
def test_count_default_and_maximum(client):
    total = models.CulturalViewpoint.objects.count()
    assert total > 7

    def returned(**params):
        response = wfs_get(client, OUTPUTFORMAT="geojson", **params)
        assert response.status_code == 200, body_of(response)[:300]
        return json.loads(body_of(response))

    assert len(returned()["features"]) == 4
    assert len(returned(COUNT="5")["features"]) == 5
    clamped = returned(COUNT="100000")
    assert len(clamped["features"]) == 7  # cut to the maximum, with a link to the rest
    assert any(link["rel"] == "next" and "COUNT=7" in link["href"] for link in clamped["links"])
    capabilities = client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities").content.decode()
    root = ET.fromstring(capabilities)
    constraint = root.find(f".//{OWS}Constraint[@name='CountDefault']")
    assert constraint.findtext(f"{OWS}DefaultValue") == "4"
    hits = wfs_get(client, RESULTTYPE="hits")
    assert f'numberMatched="{total}"' in body_of(hits).decode()


def test_the_anonymous_limit_covers_wfs(client):
    from django.core.cache import cache

    cache.clear()
    with override_settings(THROTTLE_ANON_WFS=2):
        for _ in range(2):
            assert client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities").status_code == 200
        response = client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities")
        ows_error(response, 429, "TooManyRequests", None)
        assert int(response["Retry-After"]) >= 1
        # Per address, and signed-in callers are not counted as anonymous.
        other = client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities", REMOTE_ADDR="198.51.100.9")
        assert other.status_code == 200
        client.force_login(make_user("t-wfs-limit", PLANNER))
        assert client.get("/wfs/?SERVICE=WFS&REQUEST=GetCapabilities").status_code == 200
    cache.clear()


def test_an_over_long_query_string_is_414_in_each_channels_words(client):
    from django.conf import settings

    long = "x" * (settings.MAX_QUERY_STRING_BYTES + 1)
    wfs = client.get(f"/wfs/?SERVICE=WFS&REQUEST=GetFeature&FILTER={long}")
    ows_error(wfs, 414, "OperationParsingFailed", "FILTER")
    ogc = client.get(f"/ogc/collections/viewpoints/items?filter={long}")
    assert ogc.status_code == 414 and ogc["Content-Type"].startswith("application/json")
    assert ogc.json()["code"] == "URITooLong" and ogc.json()["description"].startswith("filter:")


# --- valid requests keep working --------------------------------------------------------------


def test_valid_requests_are_answered(client):
    ok = [
        wfs_get(client, COUNT="2"),
        wfs_get(client, BBOX="31.76,119.93,31.80,119.97"),
        wfs_get(client, BBOX="31.76,119.93,31.80,119.97,urn:ogc:def:crs:EPSG::4326"),
        wfs_get(client, BBOX="3517600,494700,3518000,495300,urn:ogc:def:crs:EPSG::4549"),
        wfs_get(client, SRSNAME="EPSG:4490", PROPERTYNAME="name,tour_order"),
        wfs_get(client, SORTBY="tour_order DESC", STARTINDEX="2"),
        wfs_get(client, RESOURCEID="viewpoints.1,viewpoints.99999999999999999999", TYPENAMES=None),
        wfs_get(client, FILTER=fes(distance("Beyond", "0.5", "km"))),
        wfs_get(client, FILTER=fes(equal("tour_order", "3"))),
        wfs_get(client, FILTER=f"<Filter>{equal('name', 'x').replace('fes:', '')}</Filter>"),
        wfs_get(client, REQUEST="GetPropertyValue", VALUEREFERENCE="name"),
        wfs_get(client, REQUEST="DescribeFeatureType"),
        wfs_post(client, get_feature(fes(equal("tour_order", "3")), 'count="2"')),
        wfs_post(client, f'<wfs:GetCapabilities service="WFS" {WFS}/>'),
    ]
    for n, response in enumerate(ok):
        assert response.status_code == 200, (n, body_of(response)[:600])


def test_typed_literals_of_an_internal_layer(planner_client):
    for literal in ("2026-10-01T08:00:00+08:00", "2026-10-01T00:00:00Z", "2026-10-01T00:00:00.5Z"):
        inner = (
            "<fes:PropertyIsGreaterThan><fes:ValueReference>updated_at</fes:ValueReference>"
            f"<fes:Literal>{literal}</fes:Literal></fes:PropertyIsGreaterThan>"
        )
        response = wfs_get(planner_client, TYPENAMES="buildings", FILTER=fes(inner), COUNT="1")
        assert response.status_code == 200, body_of(response)[:400]
    fullwidth = "２０２６-10-01T00:00:00Z"
    for bad in ("tomorrow", "2026-02-30T00:00:00Z", fullwidth, "2026-10-01", "2026-10-01T08"):
        inner = equal("updated_at", bad)
        response = wfs_get(planner_client, TYPENAMES="buildings", FILTER=fes(inner))
        ows_error(response, 400, "InvalidParameterValue", "filter")
    response = wfs_get(planner_client, TYPENAMES="buildings", FILTER=fes(equal("floors", "٣")))
    ows_error(response, 400, "InvalidParameterValue", "filter")


# --- generated probes -------------------------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-Infinity", "1e309", "٣", "²", "１", "", " ", "0x10"]),
    st.text(max_size=8),
)
SRS = st.sampled_from(
    [
        "urn:ogc:def:crs:EPSG::4326",
        "urn:ogc:def:crs:EPSG::4549",
        "urn:ogc:def:crs:OGC::CRS84",
        "EPSG:4326",
        "EPSG:4490",
        "EPSG:2000",
        "EPSG:99999999",
        "+proj=longlat",
        "http://www.opengis.net/gml/srs/epsg.xml#4549",
        "",
    ]
)
NAMES = st.sampled_from(["name", "tour_order", "updated_at", "geom", "nope", "", "app:name"])


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


@st.composite
def predicates(draw, depth=0):
    kind = draw(st.integers(0, 7 if depth < 3 else 4))
    name = draw(NAMES)
    if kind == 0:
        op = draw(st.sampled_from(["EqualTo", "LessThan", "GreaterThanOrEqualTo", "Like"]))
        return (
            f"<fes:PropertyIs{op}><fes:ValueReference>{name}</fes:ValueReference>"
            f"<fes:Literal>{_xml_text(draw(NUMBERS))}</fes:Literal></fes:PropertyIs{op}>"
        )
    if kind == 1:
        coords = " ".join(draw(st.lists(NUMBERS, max_size=9)))
        shape = draw(st.sampled_from(["Point", "LineString", "Polygon", "Envelope"]))
        if shape == "Polygon":
            geometry = (
                f'<gml:Polygon gml:id="g" srsName="{draw(SRS)}"><gml:exterior><gml:LinearRing>'
                f"<gml:posList>{_xml_text(coords)}</gml:posList></gml:LinearRing></gml:exterior>"
                "</gml:Polygon>"
            )
        elif shape == "Envelope":
            geometry = (
                f'<gml:Envelope srsName="{draw(SRS)}"><gml:lowerCorner>{_xml_text(coords)}'
                f"</gml:lowerCorner><gml:upperCorner>{_xml_text(draw(NUMBERS))} 1"
                "</gml:upperCorner></gml:Envelope>"
            )
        else:
            tag = "pos" if shape == "Point" else "posList"
            geometry = (
                f'<gml:{shape} gml:id="g" srsName="{draw(SRS)}"><gml:{tag}>{_xml_text(coords)}'
                f"</gml:{tag}></gml:{shape}>"
            )
        op = draw(st.sampled_from(["Intersects", "Within", "BBOX", "Disjoint"]))
        return f"<fes:{op}><fes:ValueReference>geom</fes:ValueReference>{geometry}</fes:{op}>"
    if kind == 2:
        op = draw(st.sampled_from(["Beyond", "DWithin"]))
        unit = draw(st.sampled_from(["m", "km", "parsec", "", "mi"]))
        return distance(op, _xml_text(draw(NUMBERS)), unit)
    if kind == 3:
        function = draw(st.sampled_from(["strToLowerCase", "strSubstring", "sqrt", "abs", "nope"]))
        values = draw(st.lists(NUMBERS, max_size=3))
        args = "".join(f"<fes:Literal>{_xml_text(a)}</fes:Literal>" for a in values)
        return (
            f'<fes:PropertyIsEqualTo><fes:Function name="{function}">{args}</fes:Function>'
            f"<fes:Literal>1</fes:Literal></fes:PropertyIsEqualTo>"
        )
    if kind == 4:
        op = draw(st.sampled_from(["Add", "Sub", "Mul", "Div"]))
        return (
            "<fes:PropertyIsEqualTo><fes:ValueReference>tour_order</fes:ValueReference>"
            f"<fes:{op}><fes:ValueReference>tour_order</fes:ValueReference>"
            f"<fes:Literal>{_xml_text(draw(NUMBERS))}</fes:Literal></fes:{op}>"
            "</fes:PropertyIsEqualTo>"
        )
    children = draw(st.lists(predicates(depth=depth + 1), min_size=0, max_size=3))
    op = draw(st.sampled_from(["And", "Or", "Not"]))
    return f"<fes:{op}>{''.join(children)}</fes:{op}>"


GENERATED = settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)


def _no_server_error(response):
    assert response.status_code < 500, body_of(response)[:500]
    if response.status_code >= 400:
        assert ET.fromstring(body_of(response)).tag == f"{OWS}ExceptionReport"


@GENERATED
@given(filter_=predicates())
def test_generated_filters_never_answer_500(client, filter_):
    _no_server_error(wfs_get(client, FILTER=fes(filter_)))
    _no_server_error(wfs_post(client, get_feature(fes(filter_))))


@GENERATED
@given(
    count=NUMBERS,
    start=NUMBERS,
    bbox=st.lists(NUMBERS, min_size=3, max_size=5).map(",".join),
    srs=SRS,
    names=st.lists(NAMES, max_size=3).map(",".join),
)
def test_generated_parameters_never_answer_500(client, count, start, bbox, srs, names):
    for params in (
        {"COUNT": count, "STARTINDEX": start},
        {"BBOX": bbox},
        {"BBOX": f"{bbox},{srs}"},
        {"SRSNAME": srs, "PROPERTYNAME": names},
        {"SORTBY": names, "RESULTTYPE": count},
        {"RESOURCEID": f"viewpoints.{count}", "TYPENAMES": None},
    ):
        _no_server_error(wfs_get(client, **params))
        # The same values percent-encoded by hand (a client that encodes differently).
        query = "&".join(f"{k}={quote(v)}" for k, v in {**BASE, **params}.items() if v is not None)
        _no_server_error(client.get(f"/wfs/?{query}"))
