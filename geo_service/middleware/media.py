"""Public media (MEDIA_ROOT: viewpoint pictures) served by the app, cacheable like static files.

`make run` has no proxy in front of gunicorn, so without this every picture of the tour was a
404. Behind the compose stack's nginx the proxy serves /media/ from the same volume and this
view is not reached. Private files (PRIVATE_MEDIA_ROOT: hazard photos, job outputs) never go
through here: their own views check the reader (layers/services/photos.py, the job pages).

- Only files under MEDIA_ROOT after resolving symbolic links; no hidden names, no `..`, no
  directory listings, nothing under PRIVATE_MEDIA_ROOT even if it were placed inside.
- `ETag` (mtime and size) and `Last-Modified`; If-None-Match / If-Modified-Since answer 304.
- `Cache-Control: public, max-age=MEDIA_CACHE_SECONDS` (a day by default): the same bytes for
  everyone, so shared caches may keep them.
- A restrictive Content-Security-Policy with `sandbox`: an uploaded SVG opened on its own
  cannot run script in the site's origin.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import FileResponse, Http404
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import http_date

DEFAULT_CACHE_SECONDS = 24 * 3600


def cache_seconds() -> int:
    """MEDIA_CACHE_SECONDS (production settings, from the environment), else a day."""
    return int(getattr(settings, "MEDIA_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))


MEDIA_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def media_file(path: str) -> Path:
    """The file under MEDIA_ROOT that `path` names, or Http404."""
    parts = path.split("/")
    if (
        not path
        or "\\" in path
        or "\x00" in path
        or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
    ):
        raise Http404("No such file.")
    root = Path(settings.MEDIA_ROOT).resolve()
    private = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    try:
        target = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):  # missing, a symlink loop, a name the OS refuses
        raise Http404("No such file.") from None
    if not target.is_relative_to(root) or target.is_relative_to(private) or not target.is_file():
        raise Http404("No such file.")
    return target


class PublicMediaMiddleware:
    """Answers GET/HEAD of a public media file before sessions, limits and URL routing run
    (like whitenoise for /static/); anything else goes on to the URLconf (a 404 page)."""

    def __init__(self, get_response):
        if not settings.SERVE_MEDIA:
            raise MiddlewareNotUsed
        self.get_response = get_response
        self.prefix = "/" + settings.MEDIA_URL.lstrip("/")

    def __call__(self, request):
        path = request.path_info
        if request.method in ("GET", "HEAD") and path.startswith(self.prefix):
            try:
                target = media_file(path[len(self.prefix) :])
            except Http404:
                pass
            else:
                return serve(request, target)
        return self.get_response(request)


def serve(request, target: Path):
    stat = target.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    content_type, encoding = mimetypes.guess_type(target.name)
    if encoding:  # foo.svg.gz is a gzip file to the client, not an encoded SVG
        content_type = "application/octet-stream"
    response = FileResponse(
        target.open("rb"), content_type=content_type or "application/octet-stream"
    )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["Content-Security-Policy"] = MEDIA_CSP
    patch_cache_control(response, public=True, max_age=cache_seconds())
    conditional = get_conditional_response(
        request, etag=etag, last_modified=int(stat.st_mtime), response=response
    )
    if conditional is not response:
        response.close()
    conditional.same_for_everyone = True  # no Vary: Cookie, no private (middleware/security.py)
    return conditional
