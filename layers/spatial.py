"""Fields derived from geometry: which community, grid cell, building or site a feature lies in.

One feature at a time on save (`derive_*`), or the whole table in SQL (`refresh_derived`) after a
bulk load or a boundary change.
"""

from __future__ import annotations

from django.db import connection


def derive_building(building) -> None:
    from layers.models import Community, RenovationSite

    if building.geom is None:
        building.community = building.renovation_site = None
        return
    inside = building.geom.point_on_surface
    building.community = Community.objects.filter(geom__intersects=inside).order_by("pk").first()
    building.renovation_site = (
        RenovationSite.objects.filter(geom__intersects=inside).order_by("pk").first()
    )


def derive_hazard(hazard) -> None:
    from layers.models import Building, Community, GridCell

    if hazard.geom is None:
        hazard.building = hazard.grid_cell = hazard.community = None
        return
    point = hazard.geom
    hazard.building = Building.objects.filter(geom__intersects=point).order_by("pk").first()
    hazard.grid_cell = GridCell.objects.filter(geom__intersects=point).order_by("pk").first()
    if hazard.grid_cell is not None:
        hazard.community = hazard.grid_cell.community
    else:
        hazard.community = Community.objects.filter(geom__intersects=point).order_by("pk").first()


# Each statement sets one derived column of every live row from the live boundary layers; the
# lowest id wins where boundaries touch, as in derive_*.
_REFRESH_SQL = (
    """
    UPDATE layers_building b SET community_id = (
        SELECT c.id FROM layers_community c
        WHERE c.deleted_at IS NULL AND ST_Intersects(c.geom, ST_PointOnSurface(b.geom))
        ORDER BY c.id LIMIT 1)
    """,
    """
    UPDATE layers_building b SET renovation_site_id = (
        SELECT s.id FROM layers_renovationsite s
        WHERE s.deleted_at IS NULL AND ST_Intersects(s.geom, ST_PointOnSurface(b.geom))
        ORDER BY s.id LIMIT 1)
    """,
    """
    UPDATE layers_safetyhazard h SET
        building_id = (
            SELECT b.id FROM layers_building b
            WHERE b.deleted_at IS NULL AND ST_Intersects(b.geom, h.geom) ORDER BY b.id LIMIT 1),
        grid_cell_id = (
            SELECT g.id FROM layers_gridcell g
            WHERE g.deleted_at IS NULL AND ST_Intersects(g.geom, h.geom) ORDER BY g.id LIMIT 1)
    """,
    """
    UPDATE layers_safetyhazard h SET community_id = COALESCE(
        (SELECT g.community_id FROM layers_gridcell g WHERE g.id = h.grid_cell_id),
        (SELECT c.id FROM layers_community c
         WHERE c.deleted_at IS NULL AND ST_Intersects(c.geom, h.geom) ORDER BY c.id LIMIT 1))
    """,
)


def refresh_derived() -> None:
    """Recompute every geometry-derived link in SQL (bulk loads, boundary edits)."""
    with connection.cursor() as cursor:
        for statement in _REFRESH_SQL:
            cursor.execute(statement)
