#!/bin/sh
# Start of every container of the image (Dockerfile, docker-compose.yml).
#   STATIC_EXPORT=dir     copy the collected static files there (the proxy serves that volume)
#   MIGRATE_ON_START=1    apply pending migrations, with a backup into BACKUP_DIR taken first
#                         (tools/upgrade.py --if-needed: no backup, no migration, no start)
#   LOAD_SAMPLE_DATA=1    load the illustrative sample data (demos only)
set -eu
cd /app
if [ -n "${STATIC_EXPORT:-}" ]; then
    cp -a /app/staticfiles/. "$STATIC_EXPORT"/
fi
if [ "${MIGRATE_ON_START:-0}" = 1 ]; then
    python tools/upgrade.py --if-needed --out-dir "${BACKUP_DIR:-/backups}"
fi
if [ "${LOAD_SAMPLE_DATA:-0}" = 1 ]; then
    python manage.py load_sample_data
fi
exec "$@"
