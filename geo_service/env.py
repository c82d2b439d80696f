"""Settings from the environment, with an env file as fallback: ENV_FILE when set (the compose
stack's generated secrets, /secrets/app.env), else the repo's .env (written by `make`)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tools.envfile import read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

_DOTENV = read_env_file(Path(os.environ.get("ENV_FILE") or BASE_DIR / ".env"))


def env(key: str, default: str | None = None) -> str | None:
    """A real environment variable wins over .env; .env wins over the default."""
    if key in os.environ:
        return os.environ[key]
    return _DOTENV.get(key, default)


def env_bool(key: str, default: bool) -> bool:
    value = env(key)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(key: str, default: list[str]) -> list[str]:
    value = env(key)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_floats(key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    value = env(key)
    if not value:
        return default
    return tuple(float(part) for part in value.split(","))


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pw@host:port/name?options into a Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "postgis"}:
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    options = {}
    for pair in filter(None, parts.query.split("&")):
        key, _, value = pair.partition("=")
        options[unquote(key)] = unquote(value)
    host = unquote(parts.hostname or "") if parts.hostname else options.pop("host", "")
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": options,
    }


# Reverse proxies on this machine by default (a same-host nginx/Caddy works unconfigured);
# a client that reaches gunicorn any other way (a published Docker port arrives from the
# bridge's gateway, a LAN client from its own address) cannot claim HTTPS or an address.
LOOPBACK = ("127.0.0.1", "::1")


def trusted_proxies() -> list[str]:
    """TRUSTED_PROXIES: the addresses or networks (comma-separated, CIDR allowed) whose
    X-Forwarded-Proto / -For are believed, as networks; `none` for none. Read by the settings
    (geo_service.proxies) and by gunicorn.conf.py (forwarded_allow_ips), so both agree."""
    value = env("TRUSTED_PROXIES")
    if value is None or not value.strip():
        items = list(LOOPBACK)
    elif value.strip().lower() == "none":
        return []
    else:
        items = [item.strip() for item in value.split(",") if item.strip()]
    networks = []
    for item in items:
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return networks


# Keys that are, or were, written in this repository (a default, a demo, a build-time value):
# anyone can read them, so a server using one signs sessions and password-reset links with a
# public key. tests/test_settings.py scans the repository for more.
KNOWN_SECRET_KEYS = frozenset(
    {
        "django-insecure-dev-only-hehuachi-not-for-production",  # settings.py's fallback
        "compose-demo-secret-key-replace-me-for-any-real-deployment-0000",  # old compose default
        "collectstatic-at-build-time-only-never-used-at-run-time-0123456789",  # old Dockerfile
    }
)
# Words of a placeholder someone forgot to replace.
PLACEHOLDER_WORDS = ("insecure", "replace-me", "replace_me", "change-me", "changeme", "example")


def refuse_secret_key(key: str) -> str | None:
    """Why `key` must not sign anything in production, or None when it is fit."""
    if not key:
        return "SECRET_KEY is empty"
    if key.strip() in KNOWN_SECRET_KEYS:
        return "SECRET_KEY is a key published in the repository"
    if len(key) < 50:
        return "SECRET_KEY is shorter than 50 characters"
    if len(set(key)) < 10:
        return "SECRET_KEY has fewer than 10 different characters"
    if any(word in key.lower() for word in PLACEHOLDER_WORDS):
        return "SECRET_KEY looks like a placeholder"
    return None
