"""Checks of the deployment, tagged "serving": manage.py check (and --deploy) runs them, and so
does geo_service.wsgi/asgi before serving, so a server missing its static files refuses to
start with the reason instead of answering 500 on every page."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

SERVING = "serving"


@register(SERVING)
def static_files_collected(app_configs, **kwargs):
    """The manifest storage needs collectstatic's manifest, or every page is a 500."""
    backend = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    if "Manifest" not in backend:
        return []
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists():
        return []
    return [
        Error(
            f"{manifest} is missing: run `manage.py collectstatic --noinput` "
            "(STATIC_ROOT comes from the environment) before serving.",
            id="geo_service.E001",
        )
    ]


@register(SERVING)
def sms_gateway_configured(app_configs, **kwargs):
    """SMS_GATEWAY_URL, when set, is an http(s) address with a host, and SMS_GATEWAY_SECRET
    (the key the gateway checks each message's signature with) is at least 16 characters."""
    from urllib.parse import urlsplit

    url = getattr(settings, "SMS_GATEWAY_URL", "") or ""
    if not url:
        return []
    errors = []
    try:
        parts = urlsplit(url)
        fit = parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.username
    except ValueError:
        fit = False
    if not fit:
        errors.append(
            Error(
                "SMS_GATEWAY_URL must be an http(s) address with a host and no user name "
                "(e.g. https://sms.example.gov.cn/send).",
                id="geo_service.E002",
            )
        )
    if len(getattr(settings, "SMS_GATEWAY_SECRET", "") or "") < 16:
        errors.append(
            Error(
                "SMS_GATEWAY_SECRET must be set (at least 16 characters) when SMS_GATEWAY_URL "
                "is: the gateway checks each message's signature with it.",
                id="geo_service.E003",
            )
        )
    return errors


def refuse_to_serve_if_unfit() -> None:
    """Called by the WSGI/ASGI entry points: ImproperlyConfigured listing what is wrong."""
    from django.core.checks import run_checks

    errors = [e for e in run_checks(tags=[SERVING]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
