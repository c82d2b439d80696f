"""The generalized buildings of the low zooms: one row per grid cell and zoom level.

A map at z12-z14 cannot draw buildings one by one (a footprint is a pixel or less, a tile
would hold tens of thousands of them), so these tiles show blocks: the buildings whose centre
lies in a square cell of 1/64 of the tile's width (EPSG:3857), drawn as their convex hull and
carrying their count per status and the dominant status. The table is derived, never edited:
`layers/services/generalize.py` rebuilds it in a background job after buildings change
(migration 0018 queues that job from the buildings' generation counter).
"""

from __future__ import annotations

from django.contrib.gis.db import models


class BuildingBlock(models.Model):
    """The buildings of one cell of the grid of zoom `level`, as one feature."""

    LEVELS = (12, 13, 14, 15)  # z15: the fallback of a detailed tile over the size cap
    CELLS_PER_TILE = 64  # cells across a tile of their level

    level = models.PositiveSmallIntegerField("缩放级别")
    cell_x = models.IntegerField()
    cell_y = models.IntegerField()
    # The tile CRS: no transform when tiles are cut. Indexed per level (migration 0018).
    geom = models.PolygonField(srid=3857, spatial_index=False)
    buildings = models.PositiveIntegerField("建筑数")
    status = models.CharField("主要使用状态", max_length=32)  # the most frequent status
    counts = models.JSONField("各状态建筑数", default=dict)  # status -> number of buildings

    def __str__(self) -> str:
        return f"z{self.level} {self.cell_x}/{self.cell_y}: {self.buildings}"


class GeneralizedSource(models.Model):
    """What a generalized table was last built from: the source's generation at the time."""

    name = models.CharField(max_length=64, primary_key=True)  # the derived table
    source_generation = models.BigIntegerField()
    refreshed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.source_generation}"
