"""URL map of the service."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

from geo_service import health
from layers import tiles
from layers.api import workflow_views
from layers.maps import views as maps
from layers.portal import hazards
from layers.portal import views as portal

urlpatterns = [
    path("", portal.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("layers.portal.urls")),
    path("favicon.ico", portal.favicon, name="favicon"),
    path("hazard-photos/<int:pk>/<str:size>.jpg", workflow_views.photo_file, name="hazard-photo"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("layers.api.urls")),
    path("ogc/", include("layers.ogc.urls")),
    path("maps/planning/", maps.planning, name="map-planning"),
    path("maps/inspection/", maps.inspection, name="map-inspection"),
    path("tour/", maps.tour, name="tour"),
    path("field/", hazards.field, name="field"),
    path("field/tasks/", hazards.field_tasks, name="field-tasks"),
    path("dashboard/", hazards.dashboard, name="dashboard"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("tiles/multi/<int:z>/<int:x>/<int:y>.pbf", tiles.multi_tile, name="tiles-multi"),
    path("tiles/<slug:slug>/<int:z>/<int:x>/<int:y>.pbf", tiles.layer_tile, name="tile"),
    path("tiles/<slug:slug>.json", tiles.tilejson, name="tilejson"),
]
if settings.SERVE_MEDIA:
    # Photos are few and small here; behind nginx set SERVE_MEDIA=0 and serve MEDIA_ROOT there.
    urlpatterns += [
        re_path(
            r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}, name="media"
        )
    ]

handler403 = "geo_service.errors.permission_denied"
handler404 = "geo_service.errors.not_found"
handler500 = "geo_service.errors.server_error"
