# Production image: gunicorn behind a TLS-terminating proxy; docker-compose.yml runs it locally.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=geo_service.settings_production \
    WEB_CONCURRENCY=3

# GeoDjango loads GDAL, GEOS and PROJ through ctypes; psql helps when debugging the database;
# printed maps and QR signs need a CJK font (layers/io/printing.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image (whitenoise serves them). The production settings
# insist on SECRET_KEY and ALLOWED_HOSTS; these build-time values never reach the running app.
RUN SECRET_KEY=collectstatic-at-build-time-only-never-used-at-run-time-0123456789 \
        ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build \
        python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/media /app/private-media \
    && chown app /app/media /app/private-media

USER app
EXPOSE 8000
# Every start applies migrations (and loads the sample data when LOAD_SAMPLE_DATA=1), then runs
# the command: gunicorn by default (workers from WEB_CONCURRENCY), or e.g. `manage.py shell`.
ENTRYPOINT ["sh", "-c", "python manage.py migrate --noinput && if [ \"${LOAD_SAMPLE_DATA:-0}\" = 1 ]; then python manage.py load_sample_data; fi && exec \"$@\"", "entrypoint"]
CMD ["gunicorn", "-c", "geo_service/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
