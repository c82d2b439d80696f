"""URLs of /ogc/ (OGC API - Features and Tiles). /ogc (no slash) is the landing page too
(geo_service/urls.py): QGIS does not follow the redirect APPEND_SLASH would answer."""

from django.urls import path

from layers.channels.ogc import items, openapi, queryables, tiles, views

app_name = "ogc"

urlpatterns = [
    path("", views.landing, name="landing"),
    path("api", openapi.document, name="openapi"),
    path("conformance", views.conformance, name="conformance"),
    path("tileMatrixSets", tiles.tile_matrix_sets, name="tile-matrix-sets"),
    path("tileMatrixSets/<str:tms>", tiles.tile_matrix_set, name="tile-matrix-set"),
    path("collections", views.collections, name="collections"),
    path("collections/<str:collection_id>", views.collection, name="collection"),
    path("collections/<str:collection_id>/queryables", queryables.queryables, name="queryables"),
    path("collections/<str:collection_id>/tiles", tiles.tilesets, name="tilesets"),
    path("collections/<str:collection_id>/tiles/<str:tms>", tiles.tileset, name="tileset"),
    path("collections/<str:collection_id>/items", items.items, name="items"),
    path("collections/<str:collection_id>/items/<str:feature_id>", items.item, name="item"),
]
