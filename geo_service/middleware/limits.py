"""Rate limits shared by every channel, counted in the default cache (Redis when REDIS_URL is
set, so every gunicorn worker counts together; per process otherwise).

- anonymous OGC API, tile and WFS requests per client address and minute (DRF views use DRF's
  throttling with the same counters' cache, layers/channels/api/throttling.py);
- wrong API tokens, per (token prefix, client address) and per address: past
  TOKEN_FAILURE_LIMIT wrong tokens with one prefix, or TOKEN_ADDRESS_FAILURE_LIMIT in all, in
  TOKEN_FAILURE_WINDOW seconds, a *wrong* token from that address is answered 429 instead of
  401 until the window ends. A valid token is always looked up first and always accepted:
  a field team behind one carrier address is never refused because of someone else's bad
  tokens (guessing a 256-bit key is hopeless anyway; the limit bounds the noise).

Every refusal is 429 with Retry-After (seconds).
"""

from __future__ import annotations

import hashlib
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
def _prefix_ident(key: str) -> str:
    """A wrong key's first characters (the length of a token's public prefix), hashed: the
    counter's name never holds what a client sent."""
    head = key[:8].encode("utf-8", "replace")
    return hashlib.sha256(head).hexdigest()[:16]


def token_failed(request, key: str = "") -> None:
    """Count a wrong token `key` from this address; RateLimited (429) once that prefix from
    this address, or this address in all, has sent too many in the window."""
    window, ident = settings.TOKEN_FAILURE_WINDOW, _ident(request)
    by_prefix = count("token-fail", f"{_prefix_ident(key)}:{ident}", window)
    by_address = count("token-fail-address", ident, window)
    if (
        by_prefix > settings.TOKEN_FAILURE_LIMIT
        or by_address > settings.TOKEN_ADDRESS_FAILURE_LIMIT
    ):
        raise RateLimited(retry_after(window), "Too many invalid tokens; try again later.")


def too_many(exc: RateLimited, path: str = "") -> JsonResponse:
    """429 + Retry-After; on /ogc/ and /wfs/ in their own words (OGC JSON exception, OWS
    ExceptionReport), `{"detail"}` elsewhere."""
    if path.startswith(("/ogc/", "/wfs/")):
        from geo_service.middleware.request_size import refusal

        response = refusal(path, 429, "TooManyRequests", exc.detail)
    else:
        response = JsonResponse({"detail": exc.detail}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


# Anonymous limits of the channels that are not DRF views: path prefix -> setting name.
ANONYMOUS_LIMITS = (
    ("/ogc/", "THROTTLE_ANON_OGC"),
    ("/tiles/", "THROTTLE_ANON_TILES"),
    ("/wfs/", "THROTTLE_ANON_WFS"),
)


class RateLimitMiddleware:
    """429 + Retry-After for anonymous OGC/tile callers over their limit, and for a RateLimited
    raised by any view (e.g. token guessing seen while resolving request.caller)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        for prefix, setting in ANONYMOUS_LIMITS:
            if path.startswith(prefix):
                try:
                    self._anonymous(request, prefix, getattr(settings, setting))
                except RateLimited as exc:
                    return too_many(exc, path)
                break
        return self.get_response(request)

    def _anonymous(self, request, scope: str, limit: int) -> None:
        # request.caller: set by the caller middleware (layers/auth/caller.py), which runs first;
        # asking raises RateLimited while tokens are being guessed.
        if not request.caller.is_authenticated:
            check(f"anon{scope}", _ident(request), limit)

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return too_many(exception, request.path_info)
        return None
