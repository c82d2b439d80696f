"""Production profile: everything from the environment, nothing insecure by default.

`DJANGO_SETTINGS_MODULE=geo_service.settings_production manage.py check --deploy` passes.
"""

from django.core.exceptions import ImproperlyConfigured

from geo_service.env import env, env_bool, env_list, refuse_secret_key
from geo_service.settings import *  # noqa: F403

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env("SECRET_KEY") or ""
if _why := refuse_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        f"{_why}: set it to a random string of 50+ characters, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(64))' "
        "(the compose stack generates one on first start; docs/OPERATIONS.md)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this service answers to.")

# TLS ends at the reverse proxy in front of gunicorn, which sets X-Forwarded-Proto: believed
# from TRUSTED_PROXIES only (SECURE_PROXY_SSL_HEADER and TRUSTED_PROXIES in settings.py).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Probes from the orchestrator and Prometheus talk to gunicorn directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# /metrics (Prometheus): from this machine without a proxy in between, or with
# `Authorization: Bearer <METRICS_TOKEN>` (empty: this machine only).
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
# Behind the proxy every request comes from localhost: Basic only over HTTPS here.
BASIC_AUTH_HTTP_LOCALHOST = env_bool("BASIC_AUTH_HTTP_LOCALHOST", False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Public media through the app, as in development (make run has no proxy in front): a
# cacheable view of MEDIA_ROOT only. The compose stack's nginx serves /media/ itself.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# How long browsers and shared caches keep a public media file (geo_service/middleware/media.py).
MEDIA_CACHE_SECONDS = int(env("MEDIA_CACHE_SECONDS", str(24 * 3600)))

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# collectstatic must have run (the Dockerfile does it at build time; docs/OPERATIONS.md): the
# manifest storage answers 500 on every page otherwise, so the system check refuses to start.
