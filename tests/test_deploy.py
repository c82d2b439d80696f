"""The production stack (docker-compose.yml, deploy/, Dockerfile) as far as this machine can run
it without Docker: the compose file's structure, nginx's own check of the proxy configuration,
the secrets and certificates of the first start, the health checks, the daily backup with
retention, and `make upgrade` refusing to migrate without a backup."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from geo_service.env import refuse_secret_key
from tools import backup as backups
from tools import healthcheck
from tools.envfile import read_env_file

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
NGINX_CONF = ROOT / "deploy" / "nginx" / "nginx.conf"
LONG_RUNNING = {"db", "app", "worker", "live", "backup", "proxy"}
VARIABLE = re.compile(r"\$\{([A-Z_]+)(:?-)?([^}]*)\}")


def rendered() -> dict:
    """The compose file as `docker compose config` would see it with an empty environment:
    every ${VAR:-default} replaced by its default (a variable without one fails here)."""
    text = COMPOSE.read_text()
    for name, dash, _ in VARIABLE.findall(text):
        assert dash, f"${{{name}}} has no default: `docker compose up` would need it set"
    return yaml.safe_load(VARIABLE.sub(lambda m: m.group(3), text))


# -- the compose file --------------------------------------------------------------------------
def test_the_stack_has_every_service_with_health_checks_and_restart_policies():
    compose = rendered()
    services = compose["services"]
    assert set(services) == LONG_RUNNING | {"init"}
    for name in LONG_RUNNING:
        service = services[name]
        assert service.get("restart") in {"unless-stopped", "always"}, name
        check = service.get("healthcheck", {})
        assert check.get("test") and check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check.get("interval") and check.get("retries"), name
        # Logs to stdout/stderr: no logging driver or log file of its own.
        assert "logging" not in service, name
    # init runs once, before the others, and is never restarted.
    assert services["init"]["restart"] == "no"
    for name in ("db", "app", "proxy"):
        assert services[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        ), name
    for name in ("worker", "live", "backup", "proxy"):
        assert services[name]["depends_on"]["app"]["condition"] == "service_healthy", name
    assert services["proxy"]["depends_on"]["live"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_no_secret_is_written_in_the_compose_file():
    text = COMPOSE.read_text()
    assert "SECRET_KEY:" not in text and "SECRET_KEY=" not in text
    assert "POSTGRES_PASSWORD:" not in text  # from the generated file
    compose = rendered()
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert "KEY" not in key and key[-8:] != "PASSWORD", (name, key)
            if isinstance(value, str) and len(value) >= 40:
                assert refuse_secret_key(value) is not None, (name, key)
    app = compose["services"]["app"]
    assert app["environment"]["ENV_FILE"] == "/secrets/app.env"
    assert compose["services"]["db"]["environment"]["POSTGRES_PASSWORD_FILE"] == (
        "/secrets/postgres_password"
    )


def test_only_the_proxy_is_published_and_private_media_never_reaches_it():
    compose = rendered()
    services = compose["services"]
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["443:443", "80:80"]
    proxy_volumes = {v.split(":")[0]: v.split(":")[1] for v in services["proxy"]["volumes"]}
    assert "private-media" not in proxy_volumes
    assert proxy_volumes["media"] == "/srv/media" and proxy_volumes["static"] == "/srv/static"
    # The backend network has no route out; the proxy alone is on both.
    assert compose["networks"]["backend"]["internal"] is True
    assert sorted(services["proxy"]["networks"]) == ["backend", "edge"]
    for name in ("db", "app", "worker", "live", "backup"):
        assert services[name]["networks"] == ["backend"], name
    # Every named volume a service mounts is declared.
    declared = set(compose["volumes"])
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in declared, (name, source)
            else:
                assert (ROOT / source).exists(), (name, source)


def test_the_proxy_image_needs_no_build_and_the_app_image_no_fixed_key():
    compose = rendered()
    proxy = compose["services"]["proxy"]
    assert "build" not in proxy and proxy["image"].startswith("nginx:")
    assert compose["services"]["db"]["image"].startswith("postgis/postgis:")
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "secrets.token_urlsafe" in dockerfile  # the build's throw-away key is random
    entrypoint = ROOT / "deploy" / "docker-entrypoint.sh"
    assert '"/app/deploy/docker-entrypoint.sh"' in dockerfile
    assert os.access(entrypoint, os.X_OK)
    assert subprocess.run(["sh", "-n", str(entrypoint)]).returncode == 0
    # The commands the services run exist here.
    for name, service in compose["services"].items():
        for part in (service.get("command") or []) + (service.get("entrypoint") or []):
            if isinstance(part, str) and part.startswith("tools/"):
                assert (ROOT / part).exists(), (name, part)
        test = service.get("healthcheck", {}).get("test", [])
        if "tools/healthcheck.py" in test:
            assert test[test.index("tools/healthcheck.py") + 1] in {"http", "worker", "backup"}
    backup = compose["services"]["backup"]["command"]
    assert backup[:3] == ["python", "tools/backup.py", "daily"] and "--keep" in backup


# -- nginx ------------------------------------------------------------------------------------
def _self_signed(folder: Path, name: str = "localhost") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem"),
            "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip


def nginx_binary() -> str:
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(found).exists(), "Debian's nginx is missing: `make test` installs it (TEST_DEBS)"
    return found


def test_nginx_accepts_the_proxy_configuration(tmp_path):
    """`nginx -t` on the very file compose mounts, laid out as in the container: the file and
    mime.types in the configuration folder, tls/ beside them, a prefix for temp and cache."""
    conf, prefix = tmp_path / "conf", tmp_path / "prefix"
    conf.mkdir()
    prefix.mkdir()
    shutil.copy(NGINX_CONF, conf / "nginx.conf")
    shutil.copy("/etc/nginx/mime.types", conf / "mime.types")
    _self_signed(conf / "tls")
    result = subprocess.run(
        [nginx_binary(), "-t", "-p", f"{prefix}/", "-c", str(conf / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    # A broken file fails the same check (the test can fail).
    (conf / "nginx.conf").write_text(NGINX_CONF.read_text().replace("proxy_cache tiles;", "x;"))
    broken = subprocess.run(
        [nginx_binary(), "-t", "-p", f"{prefix}/", "-c", str(conf / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0


def test_the_proxy_configuration_matches_the_compose_mounts():
    text = NGINX_CONF.read_text()
    proxy = rendered()["services"]["proxy"]
    mounts = {v.split(":")[1] for v in proxy["volumes"]}
    assert "alias /srv/static/;" in text and "/srv/static" in mounts
    assert "alias /srv/media/;" in text and "/srv/media" in mounts
    assert "ssl_certificate tls/fullchain.pem;" in text and "/etc/nginx/tls" in mounts
    assert "proxy_cache_path tiles_cache " in text
    assert "/var/cache/nginx/tiles_cache" in mounts
    assert "-p" in proxy["command"] and "/var/cache/nginx/" in proxy["command"]
    # Forwarding headers are set by the proxy, never passed on from the client.
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "proxy_set_header X-Forwarded-Proto https;" in text
    # Tiles: cached only for requests without credentials.
    assert "proxy_no_cache $personal;" in text and "proxy_cache_bypass $personal;" in text
    assert "private" not in text.split("location /media/")[1].split("}")[0]


# -- first start: secrets and certificates ----------------------------------------------------
def _deploy_secrets(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, str(ROOT / "tools" / "deploy_secrets.py"),
            "--secrets", str(tmp_path / "secrets"), "--tls", str(tmp_path / "tls"),
            "--office-tls", str(tmp_path / "office"), *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def _san(cert: Path) -> str:
    out = subprocess.run(
        ["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


@pytest.mark.slow
def test_the_first_start_generates_secrets_once_and_an_internal_certificate(tmp_path):
    first = _deploy_secrets(tmp_path, "--names", "gis.hehuachi.local,10.20.0.5")
    assert first.returncode == 0, first.stderr
    secrets_dir, tls = tmp_path / "secrets", tmp_path / "tls"
    app = read_env_file(secrets_dir / "app.env")
    assert refuse_secret_key(app["SECRET_KEY"]) is None
    assert len(app["METRICS_TOKEN"]) >= 32
    password = (secrets_dir / "postgres_password").read_text().strip()
    assert app["DATABASE_URL"] == f"postgres://postgres:{password}@db:5432/hehuachi"
    for secret in ("app.env", "postgres_password", "ca.key"):
        assert (secrets_dir / secret).stat().st_mode & 0o077 == 0, secret
    assert (tls / "privkey.pem").stat().st_mode & 0o077 == 0
    # The server certificate is signed by the internal CA, for the names given.
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls / "ca.pem"), str(tls / "fullchain.pem")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    san = _san(tls / "fullchain.pem")
    assert "DNS:gis.hehuachi.local" in san and "IP Address:10.20.0.5" in san
    assert not (tls / "ca.key").exists()  # the CA's key never reaches the proxy's volume

    # Second start: nothing changes.
    before = {p.name: p.read_bytes() for p in [*secrets_dir.iterdir(), *tls.iterdir()]}
    again = _deploy_secrets(tmp_path, "--names", "gis.hehuachi.local,10.20.0.5")
    assert again.returncode == 0 and "all in place" in again.stdout
    assert before == {p.name: p.read_bytes() for p in [*secrets_dir.iterdir(), *tls.iterdir()]}

    # Another name: a new server certificate from the same CA; the secrets stay.
    renamed = _deploy_secrets(tmp_path, "--names", "gis.hehuachi.local,10.20.0.6")
    assert renamed.returncode == 0 and "server certificate" in renamed.stdout
    assert "IP Address:10.20.0.6" in _san(tls / "fullchain.pem")
    assert (tls / "ca.pem").read_bytes() == before["ca.pem"]
    assert (secrets_dir / "app.env").read_bytes() == before["app.env"]


def test_the_office_certificate_is_used_when_given(tmp_path):
    _self_signed(tmp_path / "office", "gis.office.example")
    result = _deploy_secrets(tmp_path, "--names", "gis.office.example")
    assert result.returncode == 0, result.stderr
    tls = tmp_path / "tls"
    assert (tls / "fullchain.pem").read_bytes() == (
        tmp_path / "office" / "fullchain.pem"
    ).read_bytes()
    assert not (tls / "ca.pem").exists()
    assert not (tmp_path / "secrets" / "ca.key").exists()


def test_the_generated_key_starts_the_production_settings_and_an_empty_file_does_not(tmp_path):
    assert _deploy_secrets(tmp_path).returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL"}}
    env.update(ALLOWED_HOSTS="localhost", ENV_FILE=str(tmp_path / "secrets" / "app.env"))
    code = "import geo_service.settings_production as s; print(len(s.SECRET_KEY))"
    ok = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    empty = tmp_path / "empty.env"
    empty.write_text("SECRET_KEY=\n")
    env["ENV_FILE"] = str(empty)
    refused = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "SECRET_KEY is empty" in refused.stderr


# -- health checks ----------------------------------------------------------------------------
def test_the_app_health_check_against_the_real_server(live_app):
    assert healthcheck.main(["http", live_app + "/healthz"]) == 0
    assert healthcheck.main(["http", live_app + "/no-such-page"]) == 1


@pytest.mark.django_db
def test_the_worker_health_check_reads_the_heartbeat(monkeypatch):
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    monkeypatch.setenv("DATABASE_URL", url)
    # Its own connection sees committed rows only: none of ours; a stale or missing one fails.
    problem = healthcheck.worker()
    assert problem is None or "heartbeat" in problem or "no job worker" in problem
    monkeypatch.setenv("DATABASE_URL", "postgres://nobody:x@127.0.0.1:1/none")
    assert "database" in healthcheck.worker()


def test_the_backup_health_check(tmp_path):
    now = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
    assert "no backup status" in healthcheck.backup(tmp_path, now)
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"started_at": (now - timedelta(hours=2)).isoformat()}))
    assert healthcheck.backup(tmp_path, now) is None  # waiting for its first run
    status.write_text(json.dumps({"started_at": (now - timedelta(days=3)).isoformat()}))
    assert "no good backup" in healthcheck.backup(tmp_path, now)
    status.write_text(json.dumps({"last_ok": (now - timedelta(hours=20)).isoformat(), "ok": True}))
    assert healthcheck.backup(tmp_path, now) is None
    status.write_text(json.dumps({"ok": False, "last_error": "pg_dump failed: boom"}))
    assert "pg_dump failed" in healthcheck.backup(tmp_path, now)


# -- the daily backup -------------------------------------------------------------------------
def test_next_run_is_the_next_time_of_day_in_the_office_zone():
    at = backups.next_run(datetime(2026, 12, 10, 18, 0, tzinfo=UTC), "02:30", "Asia/Shanghai")
    assert at == datetime(2026, 12, 10, 18, 30, tzinfo=UTC)  # 02:30 on the 11th in Shanghai
    at = backups.next_run(datetime(2026, 12, 10, 18, 30, tzinfo=UTC), "02:30", "Asia/Shanghai")
    assert at == datetime(2026, 12, 11, 18, 30, tzinfo=UTC)  # strictly after now


def _fake_backup(folder: Path, name: str, complete: bool = True) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    if complete:
        (path / backups.MANIFEST).write_text("{}")
    return path


def test_two_rounds_in_one_second_keep_both(tmp_path, monkeypatch):
    """A round that fails never removes a folder it did not make (same-second names)."""
    made = []

    def fake_backup(out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=False)
        if made:
            raise backups.Refused("pg_dump failed: the second one")
        (out / backups.MANIFEST).write_text("{}")
        made.append(out)
        return out

    monkeypatch.setattr(backups, "backup", fake_backup)
    frozen = datetime(2026, 12, 10, 18, 30, tzinfo=UTC)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return frozen

    monkeypatch.setattr(backups, "datetime", Clock)
    first = backups.daily_once(tmp_path, keep=5)
    with pytest.raises(backups.Refused):
        backups.daily_once(tmp_path, keep=5)
    assert first.exists() and (first / backups.MANIFEST).exists()
    assert [p.name for p in tmp_path.glob("daily-*")] == [first.name]


def test_prune_keeps_the_newest_complete_daily_backups_only(tmp_path):
    days = [f"daily-202612{d:02d}T023000Z" for d in range(1, 8)]
    for name in days:
        _fake_backup(tmp_path, name)
    _fake_backup(tmp_path, "daily-20261130T023000Z", complete=False)  # old and broken
    _fake_backup(tmp_path, "daily-20261208T023000Z", complete=False)  # running now
    _fake_backup(tmp_path, "pre-upgrade-20261101T000000Z")  # never pruned
    removed = backups.prune(tmp_path, keep=3)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        *days[-3:],
        "daily-20261208T023000Z",
        "pre-upgrade-20261101T000000Z",
    ]
    assert len(removed) == 5
    with pytest.raises(backups.Refused):
        backups.prune(tmp_path, keep=0)


@pytest.mark.django_db
def test_one_daily_round_backs_up_prunes_and_reports(tmp_path):
    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    folder = tmp_path / "backups"
    for day in (1, 2, 3):
        _fake_backup(folder, f"daily-200001{day:02d}T000000Z")
    command = [sys.executable, "tools/backup.py", "daily", "--dir", str(folder), "--keep", "2"]
    ok = subprocess.run(
        [*command, "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert ok.returncode == 0, ok.stderr
    daily = sorted(p.name for p in folder.glob("daily-*"))
    assert len(daily) == 2 and daily[0] == "daily-20000103T000000Z", (daily, ok.stdout)
    newest = folder / daily[1]
    assert json.loads((newest / backups.MANIFEST).read_text())["database"] == db["NAME"]
    status = json.loads((folder / "status.json").read_text())
    assert status["ok"] is True and status["last_backup"] == newest.name
    assert healthcheck.backup(folder) is None
    # The database is gone: the round fails, says why, keeps the good backups.
    env["DATABASE_URL"] = "postgres://nobody:x@127.0.0.1:1/none"
    failed = subprocess.run(
        [*command, "--once"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert failed.returncode != 0 and "pg_dump failed" in failed.stderr, failed.stderr
    assert sorted(p.name for p in folder.glob("daily-*")) == daily, failed.stderr
    assert "pg_dump failed" in healthcheck.backup(folder)


# -- make upgrade -----------------------------------------------------------------------------
def _make_upgrade(env: dict, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-s", "upgrade", f"OUT={out}", f"VPY={sys.executable}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_make_upgrade_refuses_when_the_backup_fails(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://nobody:secret@127.0.0.1:1/unreachable",
        "DJANGO_SETTINGS_MODULE": "geo_service.settings",
    }
    out = tmp_path / "pre-upgrade"
    result = _make_upgrade(env, out)
    assert result.returncode != 0
    assert "backup failed" in result.stderr and "nothing migrated" in result.stderr
    assert "Operations to perform" not in result.stdout  # migrate never started
    assert "Applying" not in result.stdout
    assert not out.exists()  # no half-written backup to be mistaken for a good one


@pytest.fixture(scope="module")
def cluster():
    from tests.pgcluster import Cluster

    own = Cluster()
    own.start()
    yield own
    own.remove()


@pytest.mark.cluster
def test_make_upgrade_backs_up_before_migrating_and_never_migrates_without_it(cluster, tmp_path):
    """On a database of the test's own cluster with a migration pending: a backup that fails
    leaves it pending; one that succeeds is written before the migration is applied."""
    url = cluster.create_postgis_database("hh_upgrade")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "geo_service.settings",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "private"),
    }
    env.pop("DATABASE_TEST_TEMPLATE", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )

    # A first start (the container's --if-needed): an empty database, nothing to back up.
    first = run("tools/upgrade.py", "--if-needed", "--out-dir", str(tmp_path / "b"))
    assert first.returncode == 0, first.stderr[-2000:]
    assert "nothing to back up" in first.stdout and not (tmp_path / "b").exists()
    again = run("tools/upgrade.py", "--if-needed", "--out-dir", str(tmp_path / "b"))
    assert again.returncode == 0 and "no migration to apply" in again.stdout

    # One migration pending (sessions rolled back, as if new code brought it).
    assert run("manage.py", "migrate", "sessions", "zero", "--noinput").returncode == 0

    def sessions_applied() -> str:
        return cluster.sql(
            "SELECT count(*) FROM django_migrations WHERE app = 'sessions'", database="hh_upgrade"
        )

    assert sessions_applied() == "0"
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the backup folder's parent should be")
    refused = _make_upgrade(env, blocked / "backup")
    assert refused.returncode != 0 and "nothing migrated" in refused.stderr
    assert sessions_applied() == "0"

    out = tmp_path / "good-backup"
    upgraded = _make_upgrade(env, out)
    assert upgraded.returncode == 0, upgraded.stderr[-2000:]
    assert sessions_applied() != "0"
    manifest = json.loads((out / backups.MANIFEST).read_text())
    assert manifest["database"] == "hh_upgrade"
    # The backup is of the database before the migration: restored elsewhere, sessions pending.
    cluster.sql("CREATE DATABASE hh_restored")
    restored_env = {
        **env,
        "DATABASE_URL": cluster.url("hh_restored"),
        "MEDIA_ROOT": str(tmp_path / "m2"),
        "PRIVATE_MEDIA_ROOT": str(tmp_path / "p2"),
    }
    restore = subprocess.run(
        [sys.executable, "tools/backup.py", "restore", str(out)],
        cwd=ROOT,
        env={
            **restored_env,
            "MEDIA_ROOT": str(tmp_path / "m2"),
            "PRIVATE_MEDIA_ROOT": str(tmp_path / "p2"),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert restore.returncode == 0, restore.stderr[-2000:]
    assert (
        cluster.sql(
            "SELECT count(*) FROM django_migrations WHERE app = 'sessions'",
            database="hh_restored",
        )
        == "0"
    )


# -- nginx for real, in front of the test server ----------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def proxy(live_app):
    """deploy/nginx/nginx.conf running in front of the test server. What only Docker provides
    is replaced: the ports (free ones on 127.0.0.1), the app's address (the test server), the
    volumes' paths (folders of this test); everything else is the file compose mounts."""
    import tempfile
    import time
    import urllib.request

    # Outside pytest's folder (mode 0700): nginx's workers run as an unprivileged user.
    root = Path(tempfile.mkdtemp(prefix="hehuachi-proxy-"))
    conf, prefix = root / "conf", root / "prefix"
    static, media = root / "static", root / "media"
    for folder in (conf, prefix, static / "js", media / "viewpoints"):
        folder.mkdir(parents=True)
    (static / "js" / "app.0123456789ab.js").write_text("console.log(1);\n")
    (static / "js" / "plain.js").write_text("console.log(2);\n")
    (media / "viewpoints" / "VP-01.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (media / ".hidden").write_text("not public")
    _self_signed(conf / "tls")
    (conf / "tls" / "ca.pem").write_text((conf / "tls" / "fullchain.pem").read_text())
    http_port, https_port = _free_port(), _free_port()
    text = NGINX_CONF.read_text()
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen [::]:80 default_server;": "",
        "listen 443 ssl http2 default_server;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2 default_server;": "",
        "set $app http://app:8000;": f"set $app {live_app};",
        "set $live http://live:8001;": f"set $live {live_app.live};",
        "return 301 https://$host$request_uri;": (
            f"return 301 https://$host:{https_port}$request_uri;"
        ),
        "alias /srv/static/;": f"alias {static}/;",
        "alias /srv/media/;": f"alias {media}/;",
        "alias /etc/nginx/tls/ca.pem;": f"alias {conf}/tls/ca.pem;",
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    (conf / "nginx.conf").write_text(text)
    shutil.copy("/etc/nginx/mime.types", conf / "mime.types")
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(conf / "tls" / "privkey.pem", 0o600)
    log = root / "nginx.log"
    server = subprocess.Popen(
        [nginx_binary(), "-g", "daemon off;", "-p", f"{prefix}/", "-c", str(conf / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{http_port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/.proxy-health", timeout=1)  # noqa: S310
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.1)
    yield {"http": base, "https": f"https://127.0.0.1:{https_port}", "ca": conf / "tls", "log": log}
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def _get(url: str, headers: dict | None = None, ca: Path | None = None):
    import ssl
    import urllib.error
    import urllib.request

    context = ssl.create_default_context(cafile=str(ca / "fullchain.pem")) if ca else None
    if context:
        context.check_hostname = False  # the test certificate names localhost, we use 127.0.0.1

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=context))
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.django_db
@pytest.mark.slow
def test_the_proxy_caches_public_tiles_for_anonymous_callers_only(proxy, live_token):
    from layers.domain import registry
    from tests.test_tiles import tile_of

    spec = registry.get("viewpoints")
    point = spec.model.objects.order_by("pk").first().geom.point_on_surface
    x, y = tile_of(point.x, point.y, 16)
    url = f"{proxy['https']}/tiles/viewpoints/16/{x}/{y}.pbf"
    ca = proxy["ca"]
    first = _get(url, {"Accept-Encoding": "gzip"}, ca)
    assert first[0] == 200, proxy["log"].read_text()[-2000:]
    assert first[0] == 200 and first[1]["X-Cache-Status"] == "MISS"
    second = _get(url, {"Accept-Encoding": "gzip"}, ca)
    assert second[0] == 200 and second[1]["X-Cache-Status"] == "HIT"
    assert second[2] == first[2]
    assert second[1].get("Content-Encoding") == first[1].get("Content-Encoding")
    # Another coding is another copy: never gzip bytes to a client that did not ask for them.
    plain = _get(url, {"Accept-Encoding": "identity"}, ca)
    assert plain[1]["X-Cache-Status"] == "MISS" and "Content-Encoding" not in plain[1]
    # Credentials: past the cache, never stored.
    for _ in range(2):
        signed = _get(url, {"Authorization": f"Token {live_token}"}, ca)
        assert signed[0] == 200 and signed[1]["X-Cache-Status"] == "BYPASS"
    cookie = _get(url, {"Cookie": "sessionid=abc"}, ca)
    assert cookie[1]["X-Cache-Status"] == "BYPASS"


def test_the_proxy_serves_static_and_public_media_and_redirects_to_https(proxy):
    ca = proxy["ca"]
    hashed = _get(proxy["https"] + "/static/js/app.0123456789ab.js", ca=ca)
    assert hashed[0] == 200 and "immutable" in hashed[1]["Cache-Control"]
    plain = _get(proxy["https"] + "/static/js/plain.js", ca=ca)
    assert plain[0] == 200 and plain[1]["Cache-Control"] == "public, max-age=3600"
    picture = _get(proxy["https"] + "/media/viewpoints/VP-01.svg", ca=ca)
    assert picture[0] == 200 and picture[1]["Content-Type"] == "image/svg+xml"
    assert "sandbox" in picture[1]["Content-Security-Policy"]
    assert "public" in picture[1]["Cache-Control"]
    assert _get(proxy["https"] + "/media/.hidden", ca=ca)[0] == 404
    assert _get(proxy["https"] + "/media/../conf/tls/privkey.pem", ca=ca)[0] in (400, 404)
    # Port 80: the proxy's health, the CA's certificate, and a redirect for everything else.
    assert _get(proxy["http"] + "/.proxy-health")[0] == 200
    assert _get(proxy["http"] + "/ca.pem")[2].startswith(b"-----BEGIN CERTIFICATE-----")
    moved = _get(proxy["http"] + "/tour/")
    assert moved[0] == 301 and moved[1]["Location"].startswith("https://")
    # Through the proxy the app answers, with HSTS.
    home = _get(proxy["https"] + "/", ca=ca)
    assert home[0] == 200 and "Strict-Transport-Security" in home[1]
    # An over-long query reaches the app, which answers in the protocol's words (not nginx's
    # HTML 414).
    long = _get(proxy["https"] + "/ogc/collections/viewpoints/items?filter=" + "a" * 70_000, ca=ca)
    assert long[0] == 414 and long[2].lstrip().startswith(b"{"), long[2][:200]


def test_through_the_proxy_a_forged_address_is_replaced_and_metrics_are_not_local(proxy):
    ca = proxy["ca"]
    # gunicorn is on 127.0.0.1 like the proxy: without the forwarding header it would count as
    # this machine. Through the proxy it is not local, whatever the client claims.
    refused = _get(proxy["https"] + "/metrics", {"X-Forwarded-For": "127.0.0.1"}, ca)
    assert refused[0] == 403


def test_through_the_proxy_live_updates_arrive_as_they_are_written(proxy, django_db_blocker):
    """/live/ goes to the live-update process (gunicorn would answer 404), unbuffered (the
    location says so, and so does the process's X-Accel-Buffering: no): the stream's first
    event arrives while the stream stays open."""
    import ssl

    from tests.test_live import Stream, committed_session

    assert _get(proxy["https"] + "/live/healthz", ca=proxy["ca"])[0] == 200
    context = ssl.create_default_context(cafile=str(proxy["ca"] / "fullchain.pem"))
    context.check_hostname = False  # the test certificate names localhost, we use 127.0.0.1
    key = committed_session(django_db_blocker, "demo-inspector")
    stream = Stream(proxy["https"], key, context=context)
    try:
        assert stream.response.status == 200
        assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
        event, data = stream.next()
        assert event == "hello" and data["layers"] == ["hazards"]
    finally:
        stream.close()
    assert Stream(proxy["https"], context=context).response.status == 401
