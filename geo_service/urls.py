"""URL map of the service."""

from django.contrib import admin
from django.urls import include, path

from geo_service.middleware import errors, health
from layers.channels.api import workflow_views
from layers.channels.maps import offline, stops
from layers.channels.maps import views as maps
from layers.channels.metrics import views as metrics_views
from layers.channels.ogc import views as ogc
from layers.channels.portal import features, field_app, hazards, imports, inbox, reports
from layers.channels.portal import intake as report_intake
from layers.channels.portal import jobs as job_pages
from layers.channels.portal import views as portal
from layers.channels.public import views as public_reports
from layers.channels.tiles import basemap
from layers.channels.tiles import views as tiles
from layers.channels.wfs import views as wfs

urlpatterns = [
    path("", portal.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics, name="metrics"),
    path("accounts/", include("layers.channels.portal.urls")),
    path("favicon.ico", portal.favicon, name="favicon"),
    path("hazard-photos/<int:pk>/<str:size>.jpg", workflow_views.photo_file, name="hazard-photo"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("layers.channels.api.urls")),
    path("ogc", ogc.landing, name="ogc-landing"),  # no redirect to ogc/: QGIS does not follow it
    path("ogc/", include("layers.channels.ogc.urls")),
    path("wfs/", wfs.wfs, name="wfs"),
    path("maps/planning/", maps.planning, name="map-planning"),
    path("maps/inspection/", maps.inspection, name="map-inspection"),
    path("maps/<slug:slug>/print/", job_pages.print_map, name="map-print"),
    path("tour/", maps.tour, name="tour"),
    path("hazards/ledger/", job_pages.start_ledger, name="hazard-ledger-job"),
    path("jobs/", job_pages.job_list, name="jobs"),
    path("jobs/<int:pk>/", job_pages.job_detail, name="job-detail"),
    path("jobs/<int:pk>/status.json", job_pages.job_status, name="job-status"),
    path("jobs/<int:pk>/output", job_pages.job_output, name="job-output"),
    path("jobs/<int:pk>/retry/", job_pages.job_retry, name="job-retry"),
    path("tour/stops/<int:n>/", stops.stop, name="tour-stop"),
    path("tour/sw.js", offline.service_worker, name="tour-sw"),
    path("features/<slug:slug>/<int:pk>/", features.feature, name="feature"),
    path("report/", public_reports.report, name="report"),
    path("report/nearby/", public_reports.nearby, name="report-nearby"),
    path("report/me-too/", public_reports.me_too, name="report-me-too"),
    path("report/lookup/", public_reports.lookup, name="report-lookup"),
    path("report/<str:code>/", public_reports.status_page, name="report-status"),
    path("report/<str:code>/qr.svg", public_reports.qr, name="report-qr"),
    path(
        "report/<str:code>/photos/<int:pk>.jpg",
        public_reports.closing_photo,
        name="report-photo",
    ),
    path("report/<str:code>/not-fixed/", public_reports.not_fixed, name="report-not-fixed"),
    path("report/<str:code>/rate/", public_reports.rate, name="report-rate"),
    path("reports/intake/", report_intake.intake, name="report-intake"),
    path(
        "reports/photos/<int:pk>/<str:size>.jpg",
        report_intake.staff_photo,
        name="report-staff-photo",
    ),
    path("field/", hazards.field, name="field"),
    path("field/tasks/", hazards.field_tasks, name="field-tasks"),
    path("field/sw.js", field_app.service_worker, name="field-sw"),
    path("field/manifest.webmanifest", field_app.manifest, name="field-manifest"),
    path("field/offline.json", field_app.offline_plan, name="field-offline"),
    path("dashboard/", hazards.dashboard, name="dashboard"),
    path("dashboard/hazards/", hazards.hazard_list, name="dashboard-hazards"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", inbox.read, name="inbox-read"),
    path("inbox/read-all/", inbox.read_all, name="inbox-read-all"),
    path("inbox/settings/", inbox.settings, name="inbox-settings"),
    path("reports/progress/", reports.progress_page, name="progress-report"),
    path("import/", imports.import_page, name="import"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("tiles/multi/<int:z>/<int:x>/<int:y>.pbf", tiles.multi_tile, name="tiles-multi"),
    path("tiles/<slug:slug>/<int:z>/<int:x>/<int:y>.pbf", tiles.layer_tile, name="tile"),
    path("tiles/<slug:slug>.json", tiles.tilejson, name="tilejson"),
    path("basemap/<int:z>/<int:x>/<int:y>", basemap.tile, name="basemap-tile"),
]

handler403 = errors.permission_denied(portal.forbidden)
handler404 = "geo_service.middleware.errors.not_found"
handler500 = "geo_service.middleware.errors.server_error"
