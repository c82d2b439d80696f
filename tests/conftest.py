"""Shared test set-up: a real PostGIS test database holding the sample data, and role users."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from layers.services.sample import load_sample_data

PASSWORD = "test-pass-Hehuachi-2026"


def pytest_configure(config):
    # Tests create many users; the production hasher is slow on purpose. The production
    # hashers stay known, so that the sample users (hashed with them, see
    # production_hashers) sign in here too.
    from django.conf import global_settings, settings

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *global_settings.PASSWORD_HASHERS,
    ]
    # The suite makes thousands of anonymous requests and some wrong sign-ins from one address:
    # the limits are lifted here (and for the server processes it starts, through their
    # environment); tests/test_limits.py sets them low on purpose and checks each one.
    import os

    for name, value in TEST_LIMITS.items():
        os.environ.setdefault(name, value)
    settings.API_THROTTLE_RATES = {"anon": None}
    settings.THROTTLE_ANON_OGC = settings.THROTTLE_ANON_TILES = settings.THROTTLE_ANON_WFS = 0
    settings.TOKEN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 1000
    settings.TOKEN_ADDRESS_FAILURE_LIMIT = settings.AXES_ADDRESS_FAILURE_LIMIT = 10000
    # Private photos go to a folder of this process's own (each xdist worker's, and the servers
    # it starts inherit it): a test that removes the photos it stored never removes another
    # worker's, and the checkout's private-media/ is left alone. Removed when the run ends.
    import tempfile
    from pathlib import Path

    private = tempfile.mkdtemp(prefix="hh-test-private-")
    os.environ["PRIVATE_MEDIA_ROOT"] = private
    settings.PRIVATE_MEDIA_ROOT = Path(private)
    config._hh_private_media = private


# Modules that are fuzzing throughout (every test marked slow) and costly to collect: not
# collected at all when the marker expression leaves slow tests out (`make test-fast`).
FUZZ_MODULES = {"test_api_schema.py"}


def pytest_ignore_collect(collection_path, config):
    if collection_path.name in FUZZ_MODULES and "not slow" in (config.option.markexpr or ""):
        return True
    return None


def pytest_unconfigure(config):
    import shutil

    private = getattr(config, "_hh_private_media", None)
    if private:
        shutil.rmtree(private, ignore_errors=True)


TEST_LIMITS = {
    "THROTTLE_ANON_API": "",
    "THROTTLE_ANON_OGC": "0",
    "THROTTLE_ANON_TILES": "0",
    "THROTTLE_ANON_WFS": "0",
    "TOKEN_FAILURE_LIMIT": "1000",
    "AXES_FAILURE_LIMIT": "1000",
    "TOKEN_ADDRESS_FAILURE_LIMIT": "10000",
    "AXES_ADDRESS_FAILURE_LIMIT": "10000",
}


# --- the test databases ------------------------------------------------------------------------
# One process: pytest-django creates test_<name> (migrations), then the sample data is loaded.
# With pytest-xdist (make test): the controller prepares test_<name>_prepared once (migrations
# and sample data), in a thread while the workers start and collect, and each worker's
# test_<name>_gwN is a copy of it (CREATE DATABASE ... TEMPLATE: about a second, where
# migrating and loading take most of a minute per worker).
PREPARED = "hh_prepared_db"
_prepared_key = pytest.StashKey["_PreparedDatabase"]()


def _load_sample_data():
    """load_sample_data(password=PASSWORD) with the production hasher, hashing the password
    once: the users it creates would each cost a deliberately slow hash (~0.7 s, 20 users)."""
    import json

    from django.contrib.auth.hashers import make_password

    from layers.services.sample import fixtures_dir

    users = get_user_model()
    names = [row["username"] for row in json.loads((fixtures_dir() / "users.json").read_text())]
    with production_hashers():
        encoded = make_password(PASSWORD)
        have = set(users.objects.filter(username__in=names).values_list("username", flat=True))
        missing = [users(username=n, password=encoded) for n in names if n not in have]
        users.objects.bulk_create(missing)
        load_sample_data(password=PASSWORD)


class _PreparedDatabase:
    """xdist controller: makes test_<name>_prepared in a thread; `done` then holds "ok" or
    the error, for the workers (which wait for it before copying)."""

    def __init__(self, config):
        import tempfile
        import threading
        from pathlib import Path

        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        self.blocker = config.stash[blocking_manager_key]
        self.old_name = connection.settings_dict["NAME"]
        self.name = connection.creation._get_test_db_name() + "_prepared"
        self.folder = Path(tempfile.mkdtemp(prefix="hh-prepared-db-"))
        self.done = self.folder / "done"
        self.created = False
        self.thread = threading.Thread(target=self._make, name="prepare test database")
        self.thread.start()

    def _make(self):
        import traceback

        from django.db import connection

        try:
            with self.blocker.unblock():
                connection.settings_dict.setdefault("TEST", {})["NAME"] = self.name
                try:
                    connection.creation.create_test_db(
                        verbosity=0, autoclobber=True, serialize=False
                    )
                    self.created = True
                    _load_sample_data()
                finally:
                    connection.close()  # a template must have no session when it is copied
            result = "ok"
        except BaseException:  # noqa: BLE001 (reported to every worker)
            result = traceback.format_exc()
        ready = self.done.with_suffix(".tmp")
        ready.write_text(result)
        ready.replace(self.done)

    def drop(self):
        import shutil

        from django.db import connection

        self.thread.join()
        if self.created:
            with self.blocker.unblock():
                connection.creation.destroy_test_db(self.old_name, verbosity=0)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    config = session.config
    if config.pluginmanager.has_plugin("dsession") and not config.getoption("reuse_db"):
        config.stash[_prepared_key] = _PreparedDatabase(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist controller: tell each worker which database to copy, and where to wait for it."""
    prepared = node.config.stash.get(_prepared_key, None)
    if prepared:
        node.workerinput[PREPARED] = [prepared.name, str(prepared.done)]


def pytest_sessionfinish(session):
    prepared = session.config.stash.get(_prepared_key, None)
    if prepared:
        prepared.drop()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, request):
    """xdist worker: its test database (test_<name>_gwN) is created as a copy of the prepared
    one; Django's migrate then finds nothing to do."""
    prepared = getattr(request.config, "workerinput", {}).get(PREPARED)
    if prepared:
        import time
        from pathlib import Path

        from django.conf import settings

        name, done = prepared[0], Path(prepared[1])
        deadline = time.monotonic() + 1800
        while not done.exists():
            assert time.monotonic() < deadline, "the prepared test database never came"
            time.sleep(0.2)
        result = done.read_text()
        if result != "ok":
            raise RuntimeError(f"preparing the test database {name} failed:\n{result}")
        settings.DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = name


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, request):
    """The sample data, once per test session (copied with the prepared database under xdist);
    each test runs in a rolled-back transaction."""
    if not getattr(request.config, "workerinput", {}).get(PREPARED):
        with django_db_blocker.unblock():
            _load_sample_data()
    yield
    # Every server and worker of the session has stopped and waited for its sessions. What is
    # left is this process's own: Django keeps a connection per context, and Playwright's
    # greenlets are contexts of their own. PostgreSQL will not drop a database that has
    # sessions; end them, or the drop fails (and waited first).
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_documents():
    """Cached documents (layers/query/documents.py) are keyed by the layers' generation. A test
    that writes and then reads in its own transaction caches a document under a generation that
    its rollback hands on to the next test, which must not find it. (The service builds
    documents in read requests, outside any transaction that writes: they only ever see
    committed generations.)"""
    from django.core.cache import caches

    from layers.query import pages

    caches["documents"].clear()
    pages.forget()  # estimates are kept per generation too (layers/query/pages.py)


def missing_tool(reason: str):
    """A tool some checks need is not installed: skip locally, but fail under CI (CI=true), where
    `make test` installs it and a skip would silently drop the check (docs/OPERATIONS.md)."""
    import os

    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI=true, so this is a failure, not a skip (make test installs it)")
    pytest.skip(reason)


def production_hashers():
    """Hash with the production hasher: the server process that browser tests sign in to runs
    with the real settings, which do not know the fast test hasher."""
    from django.conf import global_settings
    from django.test import override_settings

    return override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS)


def make_user(username: str, role: str | None, *, staff: bool = False):
    user = get_user_model().objects.create_user(username, password=PASSWORD, is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def editor(db):
    return make_user("t-editor", "editor", staff=True)


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def role_client(db):
    """role_client("planner") -> an API client logged in with that role (None = anonymous)."""
    from rest_framework.test import APIClient

    def make(role: str | None):
        client = APIClient()
        if role:
            client.force_authenticate(make_user(f"t-{role}", role))
        return client

    return make


class Served(str):
    """A test server's base URL (a str), with the live-update process's URL as `.live`."""

    live: str

    def __new__(cls, base: str, *, live: str):
        served = super().__new__(cls, base)
        served.live = live
        return served


def start_server(django_db_blocker, **extra_env):
    """The app served by a real server process on the test database (sample data committed).

    For real clients (GDAL, Chromium). It sees only committed data: what django_db_setup
    loaded and what session or module fixtures create; a test's own transaction is invisible.
    Yields the base URL (`Served`: `.live` is the live-update process's); stops both afterwards.
    """
    import os
    import signal
    import socket
    import subprocess
    import sys
    import tempfile
    import time
    import urllib.request
    from pathlib import Path

    from django.db import connection

    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Its database sessions carry this name (libpq's PGAPPNAME): the stop below waits for
    # these, not for the sessions of other servers still running on the same database.
    app_name = f"hh-test-server-{port}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    env.update(PGAPPNAME=app_name, **extra_env)
    root = Path(__file__).resolve().parent.parent
    # The server logs every request: to a file, never to a pipe nobody drains (a full pipe
    # blocks the server's threads once 64 KiB of log lines have piled up).
    log = tempfile.TemporaryFile()  # noqa: SIM115 (closed below)
    # The same gunicorn configuration as production (`make run`, tools/serve.py): gthread
    # workers with keep-alive, so real clients meet what users meet. Beside it, as there, the
    # live-update process on a port of its own, which pages reach as tools/serve.py sets up.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        live_port = probe.getsockname()[1]
    env.update(WEB_BIND=f"127.0.0.1:{port}", WEB_ACCESS_LOG="-")
    env.update(
        LIVE_BIND=f"127.0.0.1:{live_port}",
        LIVE_PORT=str(live_port),
        LIVE_CORS_ORIGINS=f"http://127.0.0.1:{port}",
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    servers = [
        subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,  # its own process group: the master and its workers
        )
        for command in (
            [gunicorn, "-c", str(root / "geo_service" / "gunicorn.conf.py")],
            [sys.executable, "manage.py", "serve_live"],
        )
    ]
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    for url in (base + "/ogc/", f"http://127.0.0.1:{live_port}/live/healthz"):
        while True:
            try:
                urllib.request.urlopen(url, timeout=2)  # noqa: S310 (our own server)
                break
            except OSError:
                if any(s.poll() is not None for s in servers) or time.monotonic() > deadline:
                    for s in servers:
                        os.killpg(s.pid, signal.SIGKILL)
                        s.wait(timeout=10)
                    log.seek(0)
                    raise RuntimeError(log.read().decode(errors="replace")[-2000:]) from None
                time.sleep(0.3)
    yield Served(base, live=f"http://127.0.0.1:{live_port}")
    # Nothing is in flight once the tests are done, and gunicorn's own stop takes seconds (its
    # workers' interpreters wind down; a graceful stop also waits for idle keep-alive
    # connections): each process group goes at once. Its sockets close with it.
    for s in servers:
        os.killpg(s.pid, signal.SIGKILL)
        s.wait(timeout=10)
    log.close()
    # Let PostgreSQL notice the server's connections are gone before the test database is
    # dropped (it refuses while "other sessions" are attached).
    # gunicorn's workers close theirs when they exit after the graceful stop.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        for _ in range(150):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name]
            )
            if cursor.fetchone()[0] == 0:
                break
            time.sleep(0.1)


@pytest.fixture(scope="session")
def live_app(django_db_setup, django_db_blocker):
    """The app in a real server process (see start_server)."""
    yield from start_server(django_db_blocker)


@pytest.fixture(scope="session")
def live_token(django_db_setup, django_db_blocker):
    """A committed API token of an editor, for real clients of live_app."""
    from layers.auth.tokens import ApiToken

    with django_db_blocker.unblock():
        user = get_user_model().objects.get(username="demo-editor")
        _token, key = ApiToken.issue(user, "live tests")
    return key
