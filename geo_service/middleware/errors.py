"""Error pages: JSON for the machine channels (clients parse it), our own pages elsewhere."""

import sys

from django.http import JsonResponse
from django.views import defaults

from geo_service.middleware.faults import is_outage, unavailable

MACHINE_PREFIXES = ("/api/", "/ogc/", "/tiles/", "/wfs/")


def _is_api(request) -> bool:
    return request.path.startswith(MACHINE_PREFIXES)


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def permission_denied(page):
    """The 403 handler: JSON for the machine channels, else `page` (the site's forbidden page,
    which the URLconf names: this plumbing knows no page of the site)."""

    def handler(request, exception):
        if _is_api(request):
            return JsonResponse({"detail": "You do not have permission to do this."}, status=403)
        return page(request, exception)

    return handler


def server_error(request):

    if is_outage(sys.exc_info()[1]):  # the database went away: an outage, not a bug
        return unavailable(request)
    if _is_api(request):
        # Nothing internal leaks: no exception text, no trace.
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
