# Production image: gunicorn behind the TLS-terminating proxy of docker-compose.yml (which
# starts it with the generated secrets, a job worker, the daily backup and nginx in front).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=geo_service.settings_production \
    WEB_CONCURRENCY=3

# GeoDjango loads GDAL, GEOS and PROJ through ctypes; psql/pg_dump for backups and debugging;
# printed maps and QR signs need a CJK font (layers/io/printing.py); openssl makes the internal
# TLS certificate on first start (tools/deploy_secrets.py).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        gdal-bin libgdal32 libgeos-c1v5 libproj25 postgresql-client fonts-noto-cjk openssl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image (whitenoise serves them; the container's start
# copies them to the proxy's volume). The production settings refuse a missing, short or known
# SECRET_KEY: the build uses a random one that is thrown away with the build step.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
        ALLOWED_HOSTS=build DATABASE_URL=postgres://build@localhost/build \
        python tools/collectstatic_cached.py \
    && useradd --system --uid 10001 --home-dir /app app \
    && mkdir -p /app/media /app/private-media /backups /srv/static \
    && chown app /app/media /app/private-media /backups /srv/static

USER app
EXPOSE 8000
# deploy/docker-entrypoint.sh: copies the static files for the proxy, applies migrations with a
# backup taken first (tools/upgrade.py --if-needed; refuses to start if that backup fails),
# loads the sample data when LOAD_SAMPLE_DATA=1, then runs the command: gunicorn by default,
# or `manage.py procrastinate worker`, `tools/backup.py daily`, `manage.py shell`, ...
ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "geo_service/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
