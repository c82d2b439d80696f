"""WFS 2.0 (read-only) at /wfs/ for desktop GIS that do not speak OGC API (ArcGIS, SuperMap,
older QGIS), served by django-gisserver from the registry.

The feature types are built per request from the layers the caller may read (the same
roles and fields as /ogc/ and the REST API), so GetCapabilities lists only those and any other
type name is unknown. Properties are the caller's scalar queryables (layers.query.cql);
geometries in EPSG:4326 (storage), 4490 (CGCS2000) and 4549 (CGCS2000 / 3-degree GK CM 120E).
The same sign-in as /ogc/: session, HTTP Basic or `Authorization: Token`.
"""

from __future__ import annotations

from django.views.decorators.csrf import csrf_exempt
from gisserver.crs import CRS, WGS84
from gisserver.features import FeatureType, ServiceDescription
from gisserver.views import WFSView

from layers.domain import registry
from layers.auth.machine import gis_auth
from layers.query import access, cql

OTHER_CRS = (4490, 4549)
NAMESPACE = "https://hehuachi.example.cn/wfs"


def feature_type(user, spec: registry.LayerSpec) -> FeatureType:
    fields = [
        name
        for name in cql.queryables(user, spec)
        if not spec.model._meta.get_field(name).many_to_one
    ]
    return FeatureType(
        spec.model.objects.all(),
        name=spec.slug,
        fields=["geom", *fields],
        geometry_field_name="geom",
        title=f"{spec.title_zh} / {spec.title_en}",
        abstract=f"{spec.title_zh} / {spec.title_en} (示意数据 illustrative sample data)",
        keywords=[spec.slug, spec.audience],
        crs=WGS84,
        other_crs=[CRS.from_srid(srid) for srid in OTHER_CRS],
    )


class LayersWFSView(WFSView):
    xml_namespace = NAMESPACE
    service_description = ServiceDescription(
        title="荷花池街道地图服务 WFS · Hehuachi map service WFS",
        abstract="Read-only WFS 2.0 of the Hehuachi old-town layers you may read.",
        keywords=["Hehuachi", "荷花池", "WFS"],
        provider_name="Hehuachi subdistrict",
    )

    def get_feature_types(self) -> list[FeatureType]:
        user = access.request_user(self.request)
        return [feature_type(user, spec) for spec in access.readable_layers(user)]


wfs = csrf_exempt(gis_auth(LayersWFSView.as_view()))
