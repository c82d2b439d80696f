"""Settings profiles: production passes Django's deployment checks."""

from __future__ import annotations

import os
import re
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


# -- known and weak keys are refused -----------------------------------------------------------
def _import_production(key: str) -> subprocess.CompletedProcess:
    """Import the production settings in a fresh interpreter with this SECRET_KEY."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(SECRET_KEY=key, ALLOWED_HOSTS="gis.example.org", ENV_FILE=os.devnull)
    return subprocess.run(
        [sys.executable, "-c", "import geo_service.settings_production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


OLD_COMPOSE_KEY = "compose-demo-secret-key-replace-me-for-any-real-deployment-0000"
DEV_KEY = "django-insecure-dev-only-hehuachi-not-for-production"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (OLD_COMPOSE_KEY, "published in the repository"),
        (DEV_KEY, "published in the repository"),
        ("collectstatic-at-build-time-only-never-used-at-run-time-0123456789", "published"),
        ("", "empty"),
        ("x" * 49, "shorter than 50"),
        ("ab" * 40, "fewer than 10 different"),
        ("please-replace-me-with-a-long-random-string-0123456789abcdef", "placeholder"),
    ],
)
def test_production_refuses_known_empty_and_weak_keys(key, reason):
    result = _import_production(key)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and reason in result.stderr
    assert key not in result.stderr or not key  # the key itself is never printed


def test_production_accepts_a_random_key():
    result = _import_production(secrets.token_urlsafe(64))
    assert result.returncode == 0, result.stderr


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    return [ROOT / name.decode() for name in listed if name]


KEY_LITERALS = [
    # SECRET_KEY=value / SECRET_KEY: value / "SECRET_KEY": "value" / ${SECRET_KEY:-value}
    re.compile(r"""SECRET_KEY["']?\s*[:=]\s*["']?([A-Za-z0-9_\-+/=.!@#%^&*]{20,})"""),
    re.compile(r"""\$\{SECRET_KEY:-([^}]+)\}"""),
    re.compile(r"""["']SECRET_KEY["']\)\s*or\s*["']([^"']+)["']"""),
]


def test_every_key_written_in_the_repository_is_refused():
    from geo_service.env import refuse_secret_key

    found = {}
    for path in _tracked_files():
        if path.suffix in {".png", ".jpg", ".pdf", ".mbtiles", ".gpkg", ".zip", ".mo"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for pattern in KEY_LITERALS:
            for match in pattern.finditer(text):
                found[match.group(1)] = path.relative_to(ROOT)
    assert DEV_KEY in found  # the scan sees settings.py's fallback
    accepted = {key: where for key, where in found.items() if refuse_secret_key(key) is None}
    assert not accepted, f"keys written in the repository that production would accept: {accepted}"
    # docker-compose.yml no longer carries a fallback key at all.
    assert OLD_COMPOSE_KEY not in (ROOT / "docker-compose.yml").read_text()
