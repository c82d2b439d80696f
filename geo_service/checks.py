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


def refuse_to_serve_if_unfit() -> None:
    """Called by the WSGI/ASGI entry points: ImproperlyConfigured listing what is wrong."""
    from django.core.checks import run_checks

    errors = [e for e in run_checks(tags=[SERVING]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(f"{e.id}: {e.msg}" for e in errors))
