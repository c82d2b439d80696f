"""WSGI entry point (gunicorn geo_service.wsgi:application)."""

import os

from django.core.wsgi import get_wsgi_application

# Production by default: a server started without DJANGO_SETTINGS_MODULE must never run with
# DEBUG on and a development key (manage.py, for developers, defaults to the dev settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_service.settings_production")
application = get_wsgi_application()

from geo_service.checks import refuse_to_serve_if_unfit  # noqa: E402 (needs the app registry)

refuse_to_serve_if_unfit()

# Import every view now, not on the first request: gunicorn's master does it once before it
# forks the workers (preload_app, geo_service/gunicorn.conf.py), and a broken import stops the
# start instead of failing requests.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018 (the import is the point)
