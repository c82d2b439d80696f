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


def test_check_deploy_passes_with_the_production_profile():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="geo_service.settings_production",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="gis.example.org",
        DEBUG="0",
    )
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
