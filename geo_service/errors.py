"""Error pages: JSON under /api/ (clients parse it), Django's HTML elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception):
    if _is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        # Nothing internal leaks: no exception text, no trace.
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
