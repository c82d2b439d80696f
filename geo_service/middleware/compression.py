"""Compression of tiles and large JSON, negotiated with Accept-Encoding (brotli, else gzip).

Only whole (non-streaming) responses of the data types are compressed: HTML is left alone
(secrets in pages and compression do not mix: BREACH), streamed responses (photos through
FileResponse, exports) pass untouched, and static files are whitenoise's own business.
The ETag becomes weak (the bytes differ per encoding); `etag_matches` compares weakly, as
If-None-Match is meant to.
"""

from __future__ import annotations

import gzip

from django.utils.cache import patch_vary_headers

try:
    import brotli
except ImportError:  # brotli is pinned; without it gzip still serves
    brotli = None

COMPRESSIBLE = (
    "application/vnd.mapbox-vector-tile",
    "application/json",
    "application/geo+json",
    "application/schema+json",
    "application/vnd.oai.openapi+json",
)
# Below this a compressed body saves less than the work and the header cost.
MIN_BYTES = 1024


def accepted(header: str) -> set[str]:
    """The codings of an Accept-Encoding header the client accepts (q > 0)."""
    out = set()
    for item in header.split(","):
        coding, _, rest = item.strip().partition(";")
        q = 1.0
        for param in rest.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if coding and q > 0:
            out.add(coding.strip().lower())
    return out


def etag_matches(request, etag: str) -> bool:
    """If-None-Match against our ETag, weakly (W/"x" matches "x"); `*` matches anything."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    ours = etag.removeprefix("W/")
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or ours in tags


class CompressionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "").split(";")[0].strip()
        if response.streaming or content_type not in COMPRESSIBLE:
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        if response.has_header("Content-Encoding") or len(response.content) < MIN_BYTES:
            return response
        coding = negotiate(request)
        if coding is None:
            return response
        body = compress(response.content, coding)
        if len(body) >= len(response.content):
            return response
        set_encoded(response, body, coding)
        return response


def negotiate(request) -> str | None:
    """The coding to answer with: brotli if the client takes it, else gzip, else None."""
    codings = accepted(request.headers.get("Accept-Encoding", ""))
    if brotli is not None and "br" in codings:
        return "br"
    if "gzip" in codings:
        return "gzip"
    return None


def compress(data: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(data, quality=5)
    return gzip.compress(data, compresslevel=5, mtime=0)


def set_encoded(response, body: bytes, coding: str) -> None:
    """Put compressed bytes in a response: length, coding, and a weak ETag."""
    response.content = body
    response["Content-Length"] = str(len(body))
    response["Content-Encoding"] = coding
    patch_vary_headers(response, ("Accept-Encoding",))
    etag = response.get("ETag")
    if etag and not etag.startswith("W/"):
        response["ETag"] = "W/" + etag
