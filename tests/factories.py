"""Small geometry helpers for tests: shapes built in metres (EPSG:4549), stored in lon/lat."""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon

from layers.domain import models
from layers.services import editing

# An empty corner of the service area, away from the sample data.
ORIGIN = (119.963, 31.793)


def make(model, **values):
    """A new feature saved through the editing service, as every channel saves one (its links,
    area and 销号时间 derived)."""
    return editing.save(model(**values), None)


def resave(obj):
    """Save a changed feature through the editing service."""
    return editing.save(obj, None)


def metric_origin() -> tuple[float, float]:
    p = Point(*ORIGIN, srid=4326)
    p.transform(4549)
    return p.x, p.y


def rect(dx: float, dy: float, w: float, h: float) -> Polygon:
    """A w × h metre rectangle whose south-west corner is (dx, dy) metres from ORIGIN."""
    x0, y0 = metric_origin()
    x, y = x0 + dx, y0 + dy
    poly = Polygon(((x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)), srid=4549)
    poly.transform(4326)
    return poly


def point(dx: float, dy: float) -> Point:
    x0, y0 = metric_origin()
    p = Point(x0 + dx, y0 + dy, srid=4549)
    p.transform(4326)
    return p


def multi(poly: Polygon) -> MultiPolygon:
    return MultiPolygon(poly, srid=4326)


def community(code="T-C1", size=400.0) -> models.Community:
    return make(
        models.Community,
        code=code,
        name=f"测试社区 {code}",
        status="active",
        geom=multi(rect(0, 0, size, size)),
    )


def grid_cell(community_obj, code="T-G1", dx=0.0, w=200.0, h=400.0) -> models.GridCell:
    return make(
        models.GridCell,
        code=code,
        name=f"测试网格 {code}",
        community=community_obj,
        status="active",
        geom=multi(rect(dx, 0, w, h)),
    )


def as_geos(wkt: str) -> GEOSGeometry:
    return GEOSGeometry(wkt, srid=4326)


def new_feature_body(spec, client) -> dict:
    """A valid new GeoJSON Feature for `spec`: an existing feature's writable properties (read
    through the API by `client`), its unique ones made unique, at the same place."""
    from layers.services.validation import writable_fields

    source = spec.model.objects.order_by("pk").first()
    body = client.get(f"/api/v1/{spec.slug}/{source.pk}/").json()
    allowed = set(writable_fields(spec))
    properties = {k: v for k, v in body["properties"].items() if k in allowed}
    for name in list(properties):
        field = spec.model._meta.get_field(name)
        if field.unique or name in {"ref", "tour_order"}:
            properties[name] = 900 if name == "tour_order" else f"{properties[name]}-T"
    return {"type": "Feature", "geometry": body["geometry"], "properties": properties}


def remove_hazards_named(prefix: str) -> None:
    """Delete every hazard whose name starts with `prefix` (a module's committed ones), their
    photos' files and their history."""
    hazards = models.SafetyHazard.all_objects.filter(name__startswith=prefix)
    for photo in models.HazardPhoto.objects.filter(hazard__in=hazards):
        photo.image.delete(save=False)
        photo.thumbnail.delete(save=False)
    pks = list(hazards.values_list("pk", flat=True))
    hazards.delete()
    models.SafetyHazard.history.filter(id__in=pks).delete()
