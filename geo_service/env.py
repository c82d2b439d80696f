"""Settings from the environment, with the repo's .env file (written by `make`) as fallback."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from tools.envfile import read_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

_DOTENV = read_env_file(BASE_DIR / ".env")


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
