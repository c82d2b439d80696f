"""Settings profiles: production passes Django's deployment checks."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from geo_service.env import database_from_url

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # each test runs manage.py in a new process


def run_manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_the_production_profile(tmp_path):
    production = {
        "DJANGO_SETTINGS_MODULE": "geo_service.settings_production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "gis.example.org",
        "DEBUG": "0",
        "STATIC_ROOT": str(tmp_path / "static"),  # from the environment
    }
    # Without collectstatic the check names what is missing (every page would be a 500).
    missing = run_manage("check", "--deploy", **production)
    assert missing.returncode != 0
    assert "geo_service.E001" in missing.stderr and "collectstatic" in missing.stderr
    # What collectstatic leaves (a full run compresses every vendored file: minutes; the
    # Dockerfile does it at build time) is the manifest the storage reads.
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_profile_refuses_to_start_without_a_secret_key():
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="geo_service.settings_production",
        SECRET_KEY="",
        ALLOWED_HOSTS="gis.example.org",
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_database_url_is_parsed_into_django_settings():
    db = database_from_url("postgres://u%40x:p%2Fw@db.local:6543/gis?sslmode=require")
    assert db["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "u@x",
        "p/w",
        "db.local",
        "6543",
        "gis",
    )
    assert db["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ValueError):
        database_from_url("mysql://u@h/db")
