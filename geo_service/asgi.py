"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

# Production by default: a server started without DJANGO_SETTINGS_MODULE must never run with
# DEBUG on and a development key (manage.py, for developers, defaults to the dev settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
application = get_asgi_application()

from geo_service.checks import refuse_to_serve_if_unfit  # noqa: E402 (needs the app registry)

refuse_to_serve_if_unfit()
