"""Rate limits shared by every channel, counted in the default cache (Redis when REDIS_URL is
set, so every gunicorn worker counts together; per process otherwise).

- anonymous OGC API and tile requests per client address and minute (DRF views use DRF's
  throttling with the same counters' cache, layers/channels/api/throttling.py);
- wrong API tokens per client address: past TOKEN_FAILURE_LIMIT in TOKEN_FAILURE_WINDOW
  seconds every token from that address is refused with 429 until the window ends.

Every refusal is 429 with Retry-After (seconds).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse


class RateLimited(Exception):
    def __init__(self, retry_after: int, detail: str = "Too many requests; try again later."):
        super().__init__(detail)
        self.retry_after = max(1, int(retry_after))
        self.detail = detail


def client_ip(request) -> str | None:
    """The caller's address: REMOTE_ADDR, or the NUM_PROXIES-th X-Forwarded-For entry from
    the right when trusted proxies append to it (the same rule as DRF's throttles); None for
    a request that has none (one made in-process, e.g. by the test client's force_login)."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return remote


def _ident(request) -> str:
    return client_ip(request) or "unknown"


def _window(window: int) -> tuple[int, int]:
    now = time.time()
    slot = int(now // window)
    return slot, int(window - (now % window)) + 1


def count(scope: str, ident: str, window: int) -> int:
    """Add one hit to the current window of (scope, ident) and return the hits so far."""
    slot, _ = _window(window)
    key = f"rl:{scope}:{ident}:{slot}"
    cache.add(key, 0, timeout=window + 5)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window + 5)
        return 1


def peek(scope: str, ident: str, window: int) -> int:
    slot, _ = _window(window)
    return cache.get(f"rl:{scope}:{ident}:{slot}", 0)


def retry_after(window: int) -> int:
    return _window(window)[1]


def check(scope: str, ident: str, limit: int, window: int = 60) -> None:
    """Count a hit; RateLimited once more than `limit` hits fall in the current window."""
    if limit <= 0:
        return
    if count(scope, ident, window) > limit:
        raise RateLimited(retry_after(window))


# -- wrong API tokens ------------------------------------------------------------------------
def token_guessing_blocked(request) -> None:
    """RateLimited while this address has sent too many wrong tokens in the window."""
    window = settings.TOKEN_FAILURE_WINDOW
    if peek("token-fail", _ident(request), window) >= settings.TOKEN_FAILURE_LIMIT:
        raise RateLimited(retry_after(window), "Too many invalid tokens; try again later.")


def token_failed(request) -> None:
    count("token-fail", _ident(request), settings.TOKEN_FAILURE_WINDOW)


def too_many(exc: RateLimited) -> JsonResponse:
    response = JsonResponse({"detail": exc.detail}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


# Anonymous limits of the channels that are not DRF views: path prefix -> setting name.
ANONYMOUS_LIMITS = (("/ogc/", "THROTTLE_ANON_OGC"), ("/tiles/", "THROTTLE_ANON_TILES"))


class RateLimitMiddleware:
    """429 + Retry-After for anonymous OGC/tile callers over their limit, and for a RateLimited
    raised by any view (e.g. token guessing seen by layers.query.access.request_user)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        for prefix, setting in ANONYMOUS_LIMITS:
            if path.startswith(prefix):
                try:
                    self._anonymous(request, prefix, getattr(settings, setting))
                except RateLimited as exc:
                    return too_many(exc)
                break
        return self.get_response(request)

    def _anonymous(self, request, scope: str, limit: int) -> None:
        from layers.query.access import request_user

        user = request_user(request)  # raises RateLimited while tokens are being guessed
        if not user.is_authenticated:
            check(f"anon{scope}", _ident(request), limit)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return too_many(exception)
        return None


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): 429 with
    Retry-After; JSON on the machine channels, our page elsewhere."""
    from axes.helpers import get_cool_off
    from django.shortcuts import render

    cool_off = get_cool_off(request)
    wait = int(cool_off.total_seconds()) if cool_off else 60
    if request.path_info.startswith(("/api/", "/ogc/", "/tiles/")):
        response = JsonResponse(
            {"detail": "Too many failed sign-ins; try again later."}, status=429
        )
    else:
        minutes = max(1, (wait + 59) // 60)
        response = render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(max(1, wait))
    return response
