"""DRF throttles for the REST API: anonymous callers per address (the same address rule as
every other limit, geo_service.middleware.limits.client_ip), in the default cache (shared by the workers
when REDIS_URL is set). Rates are read per request from settings.API_THROTTLE_RATES, so a
deployment (or a test) changes them without re-importing anything. 429 with Retry-After."""

from __future__ import annotations

from django.conf import settings
from rest_framework import throttling

from geo_service.middleware.limits import client_ip


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_ident(self, request):
        return client_ip(request) or "unknown"
