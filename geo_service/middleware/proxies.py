"""Forwarded headers only from trusted proxies (TRUSTED_PROXIES, geo_service/env.py).

X-Forwarded-Proto decides whether a request counts as HTTPS (SECURE_PROXY_SSL_HEADER: HTTP
Basic with a password, secure cookies, the HTTPS redirect), and X-Forwarded-For which address
the sign-in lockout and the rate limits count (NUM_PROXIES). A client that talks to gunicorn
directly could send either; so, first of all middleware, every forwarded header is removed from
a request whose peer (REMOTE_ADDR) is not a trusted proxy. gunicorn's forwarded_allow_ips is
set from the same setting (geo_service/gunicorn.conf.py), so gunicorn and Django agree on who
may say "https".
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_address, ip_network

from django.conf import settings

# Request headers (as WSGI names them) that only a proxy may set.
FORWARDED = (
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_PROTOCOL",
    "HTTP_X_FORWARDED_SSL",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
)


def is_trusted(address: str | None, networks) -> bool:
    try:
        peer = ip_address((address or "").split("%", 1)[0])
    except ValueError:
        # No IP address: a peer on gunicorn's unix socket, which only what may open the socket
        # file reaches; gunicorn trusts those, and so do we unless TRUSTED_PROXIES is `none`.
        return bool(networks)
    if peer.version == 6 and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return any(peer in network for network in networks)


@lru_cache(maxsize=8)
def _networks(names: tuple[str, ...]):
    return tuple(ip_network(name, strict=False) for name in names)


class TrustedProxyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        networks = _networks(tuple(settings.TRUSTED_PROXIES))
        if not is_trusted(request.META.get("REMOTE_ADDR"), networks):
            for name in FORWARDED:
                request.META.pop(name, None)
        return self.get_response(request)
