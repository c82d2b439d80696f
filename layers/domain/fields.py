"""Geometry fields that accept what users naturally send: a Polygon into a MultiPolygon field."""

from django.contrib.gis.db import models
from django.contrib.gis.db.models.proxy import SpatialProxy
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon


class PolygonToMultiProxy(SpatialProxy):
    def __set__(self, instance, value):
        if isinstance(value, Polygon):
            value = MultiPolygon(value, srid=value.srid)
        return super().__set__(instance, value)


class MultiPolygonField(models.MultiPolygonField):
    """A MultiPolygon column; assigning a Polygon stores it as a one-part MultiPolygon."""

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.attname, PolygonToMultiProxy(MultiPolygon, self, load_func=GEOSGeometry))
