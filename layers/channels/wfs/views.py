"""WFS 2.0 (read-only) at /wfs/ for desktop GIS that do not speak OGC API (ArcGIS, SuperMap,
older QGIS), served by django-gisserver from the registry.

The feature types are built per request from the layers the caller may read (the same
roles and fields as /ogc/ and the REST API), so GetCapabilities lists only those and any other
type name is unknown. Properties are the caller's scalar queryables (layers.query.cql);
geometries in EPSG:4326 (storage), 4490 (CGCS2000) and 4549 (CGCS2000 / 3-degree GK CM 120E).
The same sign-in as /ogc/: session, HTTP Basic or `Authorization: Token`.

Every request is checked before gisserver parses it (layers/channels/wfs/guard.py): a bad value
is a 400 OWS ExceptionReport naming the parameter, a body over WFS_MAX_BODY_BYTES a 413, never a
500. A page holds WFS_COUNT_DEFAULT features without COUNT (advertised as CountDefault) and at
most WFS_COUNT_MAX (a larger COUNT is cut to it: COUNT is an upper bound in WFS 2.0, and the
`next` link leads on). What the database alone can refuse (a division by zero row by row, a
function outside its domain) is a 400 too, without the database's words.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DataError, InternalError, ProgrammingError
from django.views.decorators.csrf import csrf_exempt
from gisserver.crs import CRS, WGS84
from gisserver.exceptions import (
    ExternalParsingError,
    ExternalValueError,
    InvalidParameterValue,
    OperationParsingFailed,
)
from gisserver.features import FeatureType, ServiceDescription
from gisserver.operations import wfs20
from gisserver.parsers import wfs20 as requests
from gisserver.views import WFSView

from layers.auth.caller import gis_auth
from layers.channels.wfs import guard
from layers.domain import registry
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


def guard_caller(user) -> guard.Caller:
    """The types `user` may read, each with its properties' kinds, for the guard."""
    kinds = {}
    for spec in access.readable_layers(user):
        kinds[spec.slug] = {
            name: q.kind
            for name, q in cql.queryables(user, spec).items()
            if not spec.model._meta.get_field(name).many_to_one
        } | {"geom": "geometry"}
    return guard.Caller(kinds, frozenset((WGS84.srid, *OTHER_CRS)))


class _Paging:
    """WFS_COUNT_DEFAULT features without COUNT, never more than WFS_COUNT_MAX."""

    def get_pagination(self) -> tuple[int, int]:
        start = max(0, self.ows_request.startIndex)
        maximum = min(settings.WFS_COUNT_MAX, self.output_format.max_page_size or math.inf)
        if self.ows_request.resultType == requests.ResultType.hits:
            default = 0  # hits without COUNT: count every match (as gisserver)
        else:
            default = settings.WFS_COUNT_DEFAULT
        return start, min(maximum, max(0, self.ows_request.count or default))


class GetFeature(_Paging, wfs20.GetFeature):
    pass


class GetPropertyValue(_Paging, wfs20.GetPropertyValue):
    pass


class GetCapabilities(wfs20.GetCapabilities):
    """Adds WFS 2.0's CountDefault (the page without COUNT) to the operations metadata."""

    def render_xml(self, context, ows_request):
        response = super().render_xml(context, ows_request)
        constraint = (
            '<ows:Constraint name="CountDefault"><ows:NoValues/>'
            f"<ows:DefaultValue>{settings.WFS_COUNT_DEFAULT}</ows:DefaultValue>"
            "</ows:Constraint>\n  </ows:OperationsMetadata>"
        )
        response.content = response.content.replace(
            b"</ows:OperationsMetadata>", constraint.encode(), 1
        )
        return response


class LayersWFSView(WFSView):
    xml_namespace = NAMESPACE
    accept_operations = {
        "WFS": {
            **WFSView.accept_operations["WFS"],
            "GetCapabilities": GetCapabilities,
            "GetFeature": GetFeature,
            "GetPropertyValue": GetPropertyValue,
        }
    }
    service_description = ServiceDescription(
        title="荷花池街道地图服务 WFS · Hehuachi map service WFS",
        abstract="Read-only WFS 2.0 of the Hehuachi old-town layers you may read.",
        keywords=["Hehuachi", "荷花池", "WFS"],
        provider_name="Hehuachi subdistrict",
    )

    @property
    def max_page_size(self) -> int:  # gisserver's DefaultMaxFeatures in GetCapabilities
        return settings.WFS_COUNT_MAX

    def get_feature_types(self) -> list[FeatureType]:
        user = self.request.caller
        return [feature_type(user, spec) for spec in access.readable_layers(user)]

    def get(self, request, *args, **kwargs):
        guard.check_query(request.GET, guard_caller(request.caller))
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        guard.check_body(request, guard_caller(request.caller))
        return super().post(request, *args, **kwargs)

    def handle_exception(self, exc):
        """Bad input that only the database or Django's request parsing can see is the
        client's too: a 400 in the protocol's words, without the database's message."""
        if isinstance(exc, ExternalParsingError):  # gisserver's "bad input" not wrapped on POST
            exc = OperationParsingFailed(str(exc), locator="filter")
        elif isinstance(exc, ExternalValueError):
            exc = InvalidParameterValue(str(exc), locator="filter")
        elif isinstance(exc, TooManyFieldsSent):
            exc = InvalidParameterValue("too many parameters", locator="request")
        elif isinstance(exc, RequestDataTooBig):
            exc = guard.BodyTooLarge("the request body is too large", locator="body")
        elif isinstance(exc, DataError):
            exc = InvalidParameterValue(
                "the filter cannot be evaluated on these features (a division by zero, a "
                "number out of range or a function outside its domain)",
                locator="filter",
            )
        elif isinstance(exc, RecursionError):
            exc = InvalidParameterValue("nested too deeply", locator="filter")
        elif isinstance(exc, InvalidParameterValue) and isinstance(
            exc.__cause__, (InternalError, ProgrammingError, DataError)
        ):
            # gisserver's wrap_filter_errors quotes PostgreSQL; say what it was about.
            exc = InvalidParameterValue(
                "the filter cannot be evaluated on these features", locator=exc.locator
            )
        return super().handle_exception(exc)


wfs = csrf_exempt(gis_auth(LayersWFSView.as_view()))
