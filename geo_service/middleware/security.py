"""Security plumbing shared by every channel: error-page masking, per-user caching headers and
the Content-Security-Policy.

The middleware only sets headers: it never reads or replaces a response's body, so streamed
answers (FileResponse photos, exports) and HTTP keep-alive are untouched.
"""

from __future__ import annotations

import contextvars
import re
import secrets

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.debug import SafeExceptionReporterFilter

# user:password@ inside any URL-like string (DATABASE_URL, REDIS_URL, a DSN in a message).
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)


def scrub_urls(text: str) -> str:
    """Replace the password of every scheme://user:password@host in `text` with stars."""
    return _URL_PASSWORD.sub(r"\g<scheme>\g<user>:********************@", text)


class SecretMaskingFilter(SafeExceptionReporterFilter):
    """Django's filter masks names with API, TOKEN, KEY, SECRET, PASS, SIGNATURE; ours adds the
    connection strings (…_URL, DSN, DATABASE…, REDIS…, COOKIE, AUTHORIZATION) and scrubs a
    password out of any URL-like value, whatever the setting or variable is called."""

    hidden_settings = re.compile(
        r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|AUTHORIZATION|DSN|DATABASE|REDIS"
        r"|_URL$|^URL$|CREDENTIAL|PRIVATE",
        flags=re.I,
    )

    def cleanse_setting(self, key, value):
        if isinstance(key, str) and key.endswith("_URL") and key in _PUBLIC_URL_SETTINGS:
            return value
        cleansed = super().cleanse_setting(key, value)
        if type(cleansed) is str:
            return scrub_urls(cleansed)
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        """Local variables too: masked by name like settings, URL passwords scrubbed."""
        out = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if isinstance(name, str) and self.hidden_settings.search(name):
                value = self.cleansed_substitute
            elif type(value) is str:
                value = scrub_urls(value)
            out.append((name, value))
        return out


# Settings ending in _URL that hold a public path, not a connection string.
_PUBLIC_URL_SETTINGS = {
    "STATIC_URL",
    "MEDIA_URL",
    "LOGIN_URL",
    "LOGIN_REDIRECT_URL",
    "LOGOUT_REDIRECT_URL",
}


def csp_header(
    nonce: str, *, inline_styles: bool = False, unsafe_eval: bool = False, connect: str = ""
) -> str:
    """The policy of every HTML page: our origin only, inline scripts only with this nonce.

    `inline_styles`: the page's vendored library inserts <style> elements it cannot nonce
    (ReDoc's bundle, at load time); styles cannot run script, so only styles are relaxed.
    `connect`: one more origin pages may connect to (the live-update process on its own port
    when no proxy puts it on ours, `live_source`)."""
    sources = {
        "default-src": "'self'",
        # unsafe_eval: a vendored library of the page compiles code at run time (the measure
        # control of the planning and inspection maps); scripts still need our origin or nonce.
        "script-src": f"'self' 'nonce-{nonce}'" + (" 'unsafe-eval'" if unsafe_eval else ""),
        "style-src": "'self' 'unsafe-inline'" if inline_styles else f"'self' 'nonce-{nonce}'",
        # Leaflet, folium's legend swatches and our templates set style attributes; an
        # attribute cannot run script, so these are allowed while <style> elements need the nonce.
        "style-src-attr": "'unsafe-inline'",
        "img-src": "'self' data: blob:" + _basemap_sources(),
        "font-src": "'self' data:",
        "connect-src": "'self'" + (f" {connect}" if connect else ""),
        # ReDoc parses in a web worker it makes from a blob.
        "worker-src": "'self' blob:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in sources.items())


def live_source(request) -> str:
    """The live-update process's origin when it has a port of its own (LIVE_PORT): the page's
    own scheme and host on that port (so http://localhost:8000 connects to localhost:8001)."""
    port = getattr(settings, "LIVE_PORT", None)
    if not port:
        return ""
    try:
        domain, _ = split_domain_port(request.get_host())
    except DisallowedHost:
        return ""
    if not domain:
        return ""
    if ":" in domain and not domain.startswith("["):
        domain = f"[{domain}]"
    return f"{request.scheme}://{domain}:{port}"


def _basemap_sources() -> str:
    """The tile hosts of the configured basemap (none by default: the maps work offline)."""
    hosts = getattr(settings, "CSP_IMG_HOSTS", ())
    return "".join(f" {host}" for host in hosts)


def _differs_by_user(request, response) -> bool:
    """Dynamic answers may depend on the session or the token; static files never do, nor
    answers their view marks `same_for_everyone` (public media files)."""
    if getattr(response, "same_for_everyone", False):
        return False
    path = request.path_info
    static = "/" + settings.STATIC_URL.lstrip("/")
    return not path.startswith(static)


# The request's nonce for markup rendered without the request (form widgets: the admin's map).
_NONCE = contextvars.ContextVar("csp_nonce", default="")


def current_nonce() -> str:
    return _NONCE.get()


class SecurityHeadersMiddleware:
    """Per request: a CSP nonce (request.csp_nonce) and, on the way out, the policy on HTML
    answers, and `Vary: Cookie, Authorization` + `Cache-Control: private` on every answer
    that may differ by user (unless the view already chose a cache policy knowingly)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        token = _NONCE.set(request.csp_nonce)
        try:
            response = self.get_response(request)
        finally:
            _NONCE.reset(token)
        if _differs_by_user(request, response):
            patch_vary_headers(response, ("Cookie", "Authorization"))
            if not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True)
            elif _shared_cacheable(response) and _has_credentials(request):
                # A view marked it public, but this caller is signed in: keep it private.
                response["Cache-Control"] = "private, no-cache"
        content_type = response.get("Content-Type", "")
        if settings.CSP_ENABLED and content_type.startswith("text/html"):
            header = "Content-Security-Policy"
            if settings.CSP_REPORT_ONLY:
                header += "-Report-Only"
            relax = getattr(response, "csp_inline_styles", False)
            response[header] = csp_header(
                request.csp_nonce,
                inline_styles=relax,
                unsafe_eval=getattr(response, "csp_unsafe_eval", False),
                connect=live_source(request),
            )
        return response


def _shared_cacheable(response) -> bool:
    value = response.get("Cache-Control", "")
    return "public" in value or "s-maxage" in value


def _has_credentials(request) -> bool:
    return bool(
        request.headers.get("Authorization") or request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    )


def csp_nonce(request) -> dict:
    """Template context: {{ csp_nonce }} for every inline <script> and <style> of ours."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
