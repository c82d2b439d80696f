"""Reference layers drawn under every map: streets, waterways and landmarks (示意)."""

from __future__ import annotations

from django.contrib.gis.db import models

from layers.domain import fields
from layers.domain import vocabularies as status
from layers.domain.language import both
from layers.domain.models.base import LayerFeature
from layers.geo import geometry as geo


class ReferenceFeature(LayerFeature):
    """Shared by the reference layers that make the offline basemap (streets, water,
    landmarks): a short note and whether the position is only approximate (示意)."""

    status_vocabulary = status.REFERENCE_STATUS

    status = models.CharField(
        "现状", max_length=32, choices=status.REFERENCE_STATUS.choices, default="existing"
    )
    approximate = models.BooleanField(
        "示意位置",
        default=True,
        help_text="The course or position is approximate (示意), not surveyed.",
    )
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta(LayerFeature.Meta):
        abstract = True


class Street(ReferenceFeature):
    """街巷: a street or lane centre line, with its class (main road, street, lane 弄/巷)."""

    street_class = models.CharField(
        "道路等级", max_length=16, choices=status.STREET_CLASS.choices, default="street"
    )
    geom = models.LineStringField("中心线", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = both("街巷", "Street or lane")
        verbose_name_plural = both("街巷", "Streets and lanes")


class Waterway(ReferenceFeature):
    """水系: a canal or river stretch, or a pond, as a polygon."""

    kind = models.CharField("水体类型", max_length=16, choices=status.WATER_KIND.choices)
    geom = fields.MultiPolygonField("水面", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = both("水系", "Water body")
        verbose_name_plural = both("水系", "Water")


class Landmark(ReferenceFeature):
    """地标: a place a visitor recognises (a memorial hall, a hospital, a bridge, a gateway)."""

    kind = models.CharField("地标类型", max_length=16, choices=status.LANDMARK_KIND.choices)
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = both("地标", "Landmark")
        verbose_name_plural = both("地标", "Landmarks")
