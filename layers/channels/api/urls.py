"""URLs of /api/v1/, generated from the registry: adding a layer adds no URL here."""

from django.urls import include, path
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from layers.channels.api.notifications import NotificationListView, NotificationReadView
from layers.channels.api.overview import LayerIndexView, StatsView
from layers.channels.api.reports import ReportList, ReportStatus
from layers.channels.api.search import SearchView
from layers.channels.api.views import viewset_for
from layers.domain import registry

app_name = "api"


class RedocView(SpectacularRedocView):
    """ReDoc's bundle inserts <style> elements without a nonce: its page relaxes styles only
    (geo_service/middleware/security.py); its one inline script carries the nonce
    (api/redoc.html)."""

    @extend_schema(exclude=True)  # a page about the API, not part of it (as the parent's get)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response.csp_inline_styles = True
        return response


router = SimpleRouter(trailing_slash=True)
viewsets = {}
for spec in registry.LAYERS:
    viewsets[spec.slug] = viewset_for(spec)
    router.register(spec.slug, viewsets[spec.slug], basename=spec.slug)

urlpatterns = [
    path("layers/", LayerIndexView.as_view(), name="layers"),
    path("stats/", StatsView.as_view(), name="stats"),
    path("notifications/", NotificationListView.as_view(), name="notifications"),
    path(
        "notifications/<int:pk>/read/",
        NotificationReadView.as_view(),
        name="notification-read",
    ),
    path("search/", SearchView.as_view(), name="search"),
    path(
        "hazards/ledger.xlsx",
        viewsets["hazards"].as_view({"get": "ledger", "post": "ledger_job"}),
        name="hazards-ledger",
    ),
    path("reports/", ReportList.as_view(), name="reports"),
    path("reports/<str:code>/", ReportStatus.as_view(), name="report-status"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="swagger-ui",
    ),
    path(
        "redoc/",
        RedocView.as_view(url_name="api:schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    path("", include(router.urls)),
]
