"""The shared parsers of layers/query/, property-based (hypothesis): whatever text a client
sends becomes a typed value or a ParamError naming the parameter, never another exception; and
what they accept means the same on every channel.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import string
from zoneinfo import ZoneInfo

import pytest
from django.contrib.gis.geos import GEOSGeometry, Point
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from layers.geo import crs as crs_table
from layers.query import params as p
from layers.query import spatial, times

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Any text a query string can carry (Django decodes it as UTF-8 text), NUL included.
ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=60)
DIGITISH = st.text(st.sampled_from("0123456789²³¹٣۴१１-+ .e_") | st.characters(), max_size=25)
PARSERS = settings(max_examples=300, deadline=None)


def refused(name: str, call) -> p.ParamError:
    with pytest.raises(p.ParamError) as caught:
        call()
    assert caught.value.name == name
    return caught.value


# --- integers and ids --------------------------------------------------------------------------


@PARSERS
@given(DIGITISH | ANY_TEXT)
@example("²")
@example("1²")
@example("٣")
@example("99999999999999999999")
def test_integer_is_ascii_and_bounded_or_refused(raw):
    try:
        value = p.integer("page", raw, low=1, high=1_000_000)
    except p.ParamError as exc:
        assert exc.name == "page"
        return
    assert type(value) is int and 1 <= value <= 1_000_000
    assert raw.isascii() and raw.isdigit() and int(raw) == value


@PARSERS
@given(st.integers(min_value=0, max_value=10**6))
def test_integer_round_trips(n):
    assert p.integer("limit", str(n), low=0, high=10**6) == n


@PARSERS
@given(st.integers(min_value=10**6 + 1, max_value=10**40))
def test_integer_past_the_bound_is_refused(n):
    refused("limit", lambda: p.integer("limit", str(n), low=0, high=10**6))


@PARSERS
@given(DIGITISH | ANY_TEXT)
def test_identifier_is_a_bigint_or_none(raw):
    value = p.identifier("id", raw)
    assert value is None or (1 <= value <= 2**63 - 1 and str(value) == raw.lstrip("0"))


# --- numbers -----------------------------------------------------------------------------------


@PARSERS
@given(DIGITISH | ANY_TEXT)
@example("nan")
@example("inf")
@example("1e309")
@example("٣")
@example("1_0")
def test_number_is_finite_ascii_or_refused(raw):
    try:
        value = p.number("radius", raw)
    except p.ParamError as exc:
        assert exc.name == "radius"
        return
    assert math.isfinite(value) and raw.isascii() and "_" not in raw and raw == raw.strip()


@PARSERS
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_number_round_trips(value):
    assert p.number("x", repr(value)) == value


# --- text, booleans, vocabularies, ordering -----------------------------------------------------


@PARSERS
@given(ANY_TEXT)
def test_text_has_no_control_character(raw):
    try:
        value = p.text("q", raw)
    except p.ParamError as exc:
        assert exc.name == "q"
        assert any(ord(c) < 32 or ord(c) == 127 for c in raw if c not in "\t\n\r")
        return
    assert value == raw and "\x00" not in value


@PARSERS
@given(ANY_TEXT, ANY_TEXT)
def test_nul_anywhere_is_refused(before, after):
    refused("q", lambda: p.text("q", before + "\x00" + after))


@PARSERS
@given(st.lists(ANY_TEXT | st.sampled_from(["open", "closed", "open,closed", ","]), max_size=4))
def test_choices_are_from_the_list_or_refused(values):
    allowed = ("open", "closed", "planned")
    try:
        chosen = p.choices("status", values, allowed)
    except p.ParamError as exc:
        assert exc.name == "status"
        return
    assert chosen and set(chosen) <= set(allowed)


@PARSERS
@given(ANY_TEXT | st.sampled_from(["name", "-name", "name,-id", "id,id", "-", ""]))
def test_ordering_names_allowed_fields_once(raw):
    try:
        terms = p.ordering("ordering", raw, {"name", "id"})
    except p.ParamError as exc:
        assert exc.name == "ordering"
        return
    names = [name for name, _ in terms]
    assert names and set(names) <= {"name", "id"} and len(names) == len(set(names))


@PARSERS
@given(ANY_TEXT)
def test_boolean(raw):
    try:
        value = p.boolean("overdue", raw)
    except p.ParamError:
        assert raw.lower() not in {"true", "false", "1", "0", "yes", "no"}
        return
    assert value is (raw.lower() in {"true", "1", "yes"})


# --- times ------------------------------------------------------------------------------------

# Fixed offsets up to ±18:00 in minutes (zone rules' gap times never compare equal: PEP 495).
OFFSETS = st.integers(-18 * 60, 18 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
AWARE = st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=OFFSETS
)
NAIVE = st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30))


@PARSERS
@given(ANY_TEXT | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2})?)?"))
@example("2026-13-01")
@example("2026-02-30")
@example("2026-10-01T08:00:00+99:00")
@example("0000-01-01")
@example("9999-12-31T23:00:00-05:00")
def test_moment_is_an_aware_utc_instant_or_refused(raw):
    try:
        value = times.moment("updated_since", raw)
    except p.ParamError as exc:
        assert exc.name == "updated_since"
        return
    assert value.start.tzinfo is dt.UTC and dt.datetime.min.year <= value.start.year <= 9999
    if value.is_day:
        assert value.next is None or value.next - value.start == dt.timedelta(days=1)


@PARSERS
@given(AWARE)
def test_an_aware_date_time_is_that_instant(value):
    assume(dt.datetime(1, 1, 1, tzinfo=dt.UTC) < value < dt.datetime(9999, 12, 31, tzinfo=dt.UTC))
    text = value.isoformat()
    assert times.moment("datetime", text).start == value
    # An unencoded '+' reaches us as a space.
    assert times.moment("datetime", text.replace("+", " ")).start == value


@PARSERS
@given(NAIVE)
def test_a_date_time_without_zone_is_asia_shanghai(value):
    parsed = times.moment("datetime", value.isoformat())
    assert parsed.start == value.replace(tzinfo=SHANGHAI)


@PARSERS
@given(st.dates(min_value=dt.date(1, 1, 2), max_value=dt.date(9999, 12, 30)))
def test_a_date_is_its_whole_day_in_asia_shanghai(day):
    span = times.instant_or_day("datetime", day.isoformat())
    start = dt.datetime.combine(day, dt.time.min, SHANGHAI)
    assert span.start == start and not span.end_inclusive
    assert span.end == dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, SHANGHAI)


@PARSERS
@given(
    st.one_of(ANY_TEXT, st.sampled_from(["..", ""]), NAIVE.map(dt.datetime.isoformat)),
    st.one_of(ANY_TEXT, st.sampled_from(["..", ""]), NAIVE.map(dt.datetime.isoformat)),
)
def test_interval_is_ordered_or_refused(start, end):
    try:
        span = times.interval("datetime", f"{start}/{end}")
    except p.ParamError as exc:
        assert exc.name == "datetime"
        return
    assert span.start is not None or span.end is not None
    if span.start and span.end:
        assert span.start <= span.end


# --- bbox, point, radius ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    ANY_TEXT | st.lists(st.floats(), min_size=3, max_size=7).map(lambda v: ",".join(map(repr, v))),
    st.sampled_from(crs_table.SUPPORTED),
)
def test_bbox_is_a_finite_lon_lat_polygon_or_refused(raw, crs):
    try:
        box = spatial.bbox("bbox", raw, crs, heights=True)
    except p.ParamError as exc:
        assert exc.name == "bbox"
        return
    assert box.srid == 4326
    minx, miny, maxx, maxy = box.extent
    assert all(math.isfinite(v) for v in box.extent)
    assert -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([c for c in crs_table.SUPPORTED if not c.geographic]), st.data())
@pytest.mark.slow
def test_a_projected_bbox_inside_the_area_of_use_is_transformed(crs, data):
    minx, miny, maxx, maxy = crs.bounds
    xs = sorted(data.draw(st.lists(st.floats(minx, maxx), min_size=2, max_size=2)))
    ys = sorted(data.draw(st.lists(st.floats(miny, maxy), min_size=2, max_size=2)))
    values = [ys[0], xs[0], ys[1], xs[1]] if crs.flip else [xs[0], ys[0], xs[1], ys[1]]
    box = spatial.bbox("bbox", ",".join(map(repr, values)), crs)
    assert box.srid == 4326 and all(math.isfinite(v) for v in box.extent)


@PARSERS
@given(ANY_TEXT | st.tuples(st.floats(), st.floats()).map(lambda t: f"{t[0]!r},{t[1]!r}"))
def test_point_is_lon_lat_or_refused(raw):
    try:
        lon, lat = spatial.point("near", raw)
    except p.ParamError as exc:
        assert exc.name == "near"
        return
    assert -180 <= lon <= 180 and -90 <= lat <= 90


@PARSERS
@given(ANY_TEXT | st.floats().map(repr))
def test_radius_is_bounded_metres_or_refused(raw):
    try:
        value = spatial.radius("radius", raw)
    except p.ParamError as exc:
        assert exc.name == "radius"
        return
    assert 0 < value <= spatial.MAX_RADIUS_M


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([c.srid for c in crs_table.SUPPORTED if not c.geographic]),
    st.tuples(st.floats(), st.floats(), st.floats()),
)
def test_body_geometry_is_2d_and_in_the_area_of_use_before_any_transform(srid, xyz):
    geom = Point(*xyz)
    try:
        out = spatial.input_geometry("geom", geom, srid)
    except p.ParamError as exc:
        assert exc.name == "geom"
        x, y, _ = xyz
        assert not (
            math.isfinite(x) and math.isfinite(y) and crs_table.by_srid(srid).contains(x, y)
        )
        return
    assert out.srid == 4326 and not out.hasz


def test_crs_areas_of_use_are_those_of_proj():
    import pyproj

    for crs in crs_table.SUPPORTED:
        if crs.uri == crs_table.CRS84:
            continue
        area = pyproj.CRS.from_epsg(crs.srid).area_of_use.bounds
        if crs.geographic:
            expected = area
        else:
            transformer = pyproj.Transformer.from_crs(4326, crs.srid, always_xy=True)
            expected = transformer.transform_bounds(*area, densify_pts=51)
        minx, miny, maxx, maxy = crs.bounds
        assert minx <= expected[0] and miny <= expected[1], crs.srid
        assert maxx >= expected[2] and maxy >= expected[3], crs.srid
        assert (maxx - minx) <= (expected[2] - expected[0]) * 1.001 + 1, crs.srid


# --- JSON bodies --------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=string.printable + '[]{}"\\中', max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(string.ascii_letters, max_size=5), children, max_size=3)
    ),
    max_leaves=30,
)


def depth_of(value) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_json_depth_is_the_nesting(value):
    assert p.json_depth(json.dumps(value)) == depth_of(value)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES, st.integers(min_value=0, max_value=40))
def test_load_json_round_trips_or_refuses_depth(value, wrap):
    for _ in range(wrap):
        value = [value]
    text = json.dumps(value)
    if depth_of(value) > p.MAX_JSON_DEPTH:
        refused("body", lambda: p.load_json(text))
    else:
        assert p.load_json(text) == value


@PARSERS
@given(ANY_TEXT)
@example("[" * 100_000)
@example('{"a": NaN}')
@example('"\\u0000"')
def test_load_json_never_raises_anything_else(text):
    with contextlib.suppress(p.ParamError):
        p.load_json(text)


def test_geometry_z_is_dropped_exactly():
    from layers.geo import geometry as geo

    geom = GEOSGeometry("POLYGON Z ((1 2 3, 4 5 6, 7 8 9, 1 2 3))", srid=4326)
    flat = geo.drop_z(geom)
    assert not flat.hasz and flat.srid == 4326
    assert flat.coords == (((1.0, 2.0), (4.0, 5.0), (7.0, 8.0), (1.0, 2.0)),)


# --- one meaning on every channel ----------------------------------------------------------------


@pytest.fixture
def dated_viewpoints(db):
    """Three viewpoints at known update times around 2026-10-01 in Asia/Shanghai, the rest
    long before (queryset.update bypasses auto_now)."""
    from layers.domain.models import CulturalViewpoint

    ids = list(CulturalViewpoint.objects.order_by("pk").values_list("pk", flat=True))
    CulturalViewpoint.objects.update(updated_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    stamps = {
        ids[0]: dt.datetime(2026, 10, 1, 7, 30, tzinfo=dt.UTC),  # 15:30 on 10-01 in Shanghai
        ids[1]: dt.datetime(2026, 9, 30, 17, 0, tzinfo=dt.UTC),  # 01:00 on 10-01 in Shanghai
        ids[2]: dt.datetime(2026, 9, 30, 15, 0, tzinfo=dt.UTC),  # 23:00 on 09-30 in Shanghai
    }
    for pk, stamp in stamps.items():
        CulturalViewpoint.objects.filter(pk=pk).update(updated_at=stamp)
    return ids[:3]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-10-01", [0, 1]),
        ("2026-10-01T00:30:00", [0, 1]),  # Shanghai: 2026-09-30T16:30Z
        ("2026-10-01T00:30:00Z", [0]),
        ("2026-10-01T00:30:00+08:00", [0, 1]),
        ("2026-09-30T23:00:00", [0, 1, 2]),
    ],
)
def test_rest_and_ogc_read_a_time_the_same_way(client, dated_viewpoints, value, expected):
    want = {dated_viewpoints[i] for i in expected}
    rest = client.get("/api/v1/viewpoints/", {"updated_since": value, "page_size": 1000})
    assert {f["id"] for f in rest.json()["features"]} == want
    ogc = client.get(
        "/ogc/collections/viewpoints/items", {"datetime": f"{value}/..", "limit": 1000}
    )
    assert {f["id"] for f in ogc.json()["features"]} == want


def test_ogc_a_date_is_the_whole_day_in_asia_shanghai(client, dated_viewpoints):
    ogc = client.get("/ogc/collections/viewpoints/items", {"datetime": "2026-10-01", "limit": 100})
    assert {f["id"] for f in ogc.json()["features"]} == set(dated_viewpoints[:2])
    day = client.get(
        "/ogc/collections/viewpoints/items", {"datetime": "../2026-09-30", "limit": 100}
    ).json()
    assert dated_viewpoints[2] in {f["id"] for f in day["features"]}
    assert not {dated_viewpoints[0], dated_viewpoints[1]} & {f["id"] for f in day["features"]}


CHANNEL_VALUES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)


@pytest.mark.django_db
@CHANNEL_VALUES
@given(
    st.sampled_from(
        [
            ("rest", "page"),
            ("rest", "page_size"),
            ("rest", "bbox"),
            ("rest", "near"),
            ("rest", "updated_since"),
            ("rest", "q"),
            ("rest", "community"),
            ("rest", "ordering"),
            ("ogc", "limit"),
            ("ogc", "offset"),
            ("ogc", "bbox"),
            ("ogc", "datetime"),
            ("ogc", "crs"),
            ("tiles", "layers"),
        ]
    ),
    ANY_TEXT | DIGITISH,
)
def test_any_value_on_any_channel_is_an_answer_or_a_400_naming_it(client, where, raw):
    from tests.test_tiles import QU_QIUBAI, tile_of

    channel, name = where
    x, y = tile_of(*QU_QIUBAI, 16)
    url = {
        "rest": "/api/v1/viewpoints/",
        "ogc": "/ogc/collections/viewpoints/items",
        "tiles": f"/tiles/multi/16/{x}/{y}.pbf",
    }[channel]
    response = client.get(url, {name: raw})
    # 401: a tile of an internal layer (anonymous); everything else is an answer or a 400.
    assert response.status_code in (200, 204, 400, 401), (channel, name, raw, response.status_code)
    if response.status_code == 400:
        body = response.json()
        if channel == "ogc":
            assert body["description"].startswith(f"{name}:"), body
        else:
            assert name in body, body
