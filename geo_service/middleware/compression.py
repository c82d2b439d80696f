"""Compression of tiles and large JSON, negotiated with Accept-Encoding (brotli, else gzip),
and of pages for callers who send no credentials.

Only whole (non-streaming) responses are compressed: streamed responses (photos through
FileResponse, exports) pass untouched, and static files are whitenoise's own business.
The ETag becomes weak (the bytes differ per encoding); `etag_matches` compares weakly, as
If-None-Match is meant to.

Pages (HTML) and compression do not mix where a page holds a secret of its reader's next to
text an attacker chooses (BREACH). So a page is compressed only for a request with no session
cookie and no Authorization header: the public pages (home, tour, stops, the public report
form) hold no secret of anyone's. Their one token, the CSRF token of a form, is masked anew on
every response (Django), and the gzip header carries Django's random padding (Heal the Breach,
as its GZipMiddleware does). Signed-in pages stay as they were. The public tour on a phone over
4G gains about 0.3 s from it (docs/benchmarks.md, "Lighthouse").
"""

from __future__ import annotations

import gzip

from django.conf import settings
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

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
PAGE = "text/html"
# Random bytes in the gzip header of a page (0..this many), as Django's GZipMiddleware.
PAGE_PADDING = 100


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
        if content_type == PAGE and not response.streaming:
            return compress_page(request, response)
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


def without_credentials(request, response) -> bool:
    """Whether nothing in the exchange is the caller's own: no session cookie or Authorization
    header came in, and no session cookie goes out."""
    name = settings.SESSION_COOKIE_NAME
    return (
        name not in request.COOKIES
        and "Authorization" not in request.headers
        and name not in response.cookies
    )


def compress_page(request, response):
    """A page in gzip with random header padding, for a caller without credentials."""
    if not without_credentials(request, response):
        return response
    patch_vary_headers(response, ("Accept-Encoding",))
    if response.has_header("Content-Encoding") or len(response.content) < MIN_BYTES:
        return response
    if "gzip" not in accepted(request.headers.get("Accept-Encoding", "")):
        return response
    set_encoded(response, compress_string(response.content, max_random_bytes=PAGE_PADDING), "gzip")
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
