"""Make sure a PostGIS database is reachable for development and tests, and record it in .env.

Standard library only, so the system python3 runs it before the virtualenv exists:
`python3 tools/devdb.py ensure|reset|stop`. docs/OPERATIONS.md explains the choices.
It reads .env with tools/envfile.py, the reader the settings use too.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import hmac
import os
import pwd
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__:  # imported as tools.devdb
    from tools.envfile import ENV_FILE, REPO, read_env_file
else:  # run as a script, `python3 tools/devdb.py`: its own folder is on sys.path
    from envfile import ENV_FILE, REPO, read_env_file

ROLE = DBNAME = "hehuachi"
TEMPLATE = "template_postgis"
PROBE_DB = "hehuachi_devdb_probe"
SYSTEM_PORT = 5432
DEFAULT_LOCAL_PORT = "5433"
ALNUM = string.ascii_letters + string.digits
# Explicit arguments decide where we connect; stray libpq variables must not redirect us.
STRIPPED_VARS = ("PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGDATA")
STRIPPED_VARS += ("PGSERVICE", "PGSERVICEFILE", "PGOPTIONS", "PGTARGETSESSIONATTRS")


class Fail(Exception):
    """A problem the user must fix; the message says what and how."""


def say(message: str) -> None:
    print(f"devdb: {message}", flush=True)


def is_root() -> bool:
    return os.geteuid() == 0


def random_text(length: int) -> str:
    # Letters and digits only: safe in URLs, SQL literals and .env lines without quoting.
    return "".join(secrets.choice(ALNUM) for _ in range(length))


# --- .env ------------------------------------------------------------------------------------


def write_env_file(updates: dict[str, str]) -> None:
    """Set these keys in .env, keeping every other line; rewrite only when something changed."""
    old = ENV_FILE.read_text(encoding="utf-8") if ENV_FILE.exists() else None
    header = "# Written by `make` (tools/devdb.py). Real environment variables win over it."
    lines = old.splitlines() if old else [header]
    seen = set()
    for index, line in enumerate(lines):
        key = line.partition("=")[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in updates:
            lines[index] = f"{key}={updates[key]}"
            seen.add(key)
    lines += [f"{key}={value}" for key, value in updates.items() if key not in seen]
    text = "\n".join(lines) + "\n"
    if text == old:
        os.chmod(ENV_FILE, 0o600)
        return
    tmp = ENV_FILE.with_name(".env.devdb-tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    if old is not None and is_root():  # keep a developer's file theirs after `sudo make`
        stat = ENV_FILE.stat()
        os.chown(tmp, stat.st_uid, stat.st_gid)
    os.replace(tmp, ENV_FILE)


# --- running programs ------------------------------------------------------------------------


def run(cmd: list[str], *, runas: str | None = None) -> subprocess.CompletedProcess:
    if runas:
        cmd = ["runuser", "-u", runas, "--", *cmd]
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_VARS}
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    try:
        return subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd="/", env=env
        )
    except FileNotFoundError:
        raise Fail(f"{cmd[0]} not found: install PostgreSQL (run `make deps`)") from None


def first_error(process: subprocess.CompletedProcess) -> str:
    lines = [line.strip() for line in (process.stderr + process.stdout).splitlines()]
    errors = [line for line in lines if "ERROR" in line or "FATAL" in line or "error" in line]
    return (errors or [line for line in lines if line] or [f"exit code {process.returncode}"])[0]


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def mask(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def with_database(url: str, database: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


class Psql:
    """psql with one way to connect: a URL, or host/port/user (optionally as another OS user)."""

    def __init__(self, label, *, url=None, host=None, port=None, user=None, runas=None):
        self.label, self.url, self.host, self.port = label, url, host, port
        self.user, self.runas = user, runas

    def target(self, database: str | None) -> list[str]:
        if self.url:
            # libpq knows postgres:// and postgresql://, not the postgis:// that settings accept.
            url = self.url.replace("postgis://", "postgresql://", 1)
            return [with_database(url, database) if database else url]
        args = ["-h", str(self.host)] if self.host else []
        return args + ["-p", str(self.port), "-U", self.user, "-d", database or "postgres"]

    def run(self, *statements: str, database: str | None = None, check: bool = True):
        cmd = ["psql", "-X", "-q", "-w", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1"]
        cmd += self.target(database) + ["-c", "SET client_min_messages TO warning"]
        for statement in statements:  # one -c each: CREATE DATABASE refuses a transaction
            cmd += ["-c", statement]
        process = run(cmd, runas=self.runas)
        if check and process.returncode:
            raise Fail(f"{self.label}: {first_error(process)}")
        return process

    def row(self, sql: str, database: str | None = None) -> list[str]:
        return self.run(sql, database=database).stdout.strip("\n").split("\t")

    def has_postgis(self, database: str | None = None) -> bool:
        sql = "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"
        return self.row(sql, database) == ["1"]


# --- passwords (SCRAM-SHA-256, as PostgreSQL stores them) -----------------------------------


def _scram_keys(password: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    return stored, hmac.new(salted, b"Server Key", "sha256").digest()


def scram_verifier(password: str) -> str:
    """The stored form, so the clear password never reaches the server's logs."""
    salt, iterations = secrets.token_bytes(16), 4096
    stored, server = _scram_keys(password, salt, iterations)
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored)}:{b64(server)}"


def password_matches(verifier: str, password: str, role: str = ROLE) -> bool:
    if verifier.startswith("md5"):
        digest = hashlib.md5((password + role).encode(), usedforsecurity=False).hexdigest()
        return verifier == "md5" + digest
    try:
        head, keys = verifier.split("$", 1)[1].split("$")
        iterations, salt = head.split(":")
        stored, server = keys.split(":")
        expected = _scram_keys(password, base64.b64decode(salt), int(iterations))
        return expected == (base64.b64decode(stored), base64.b64decode(server))
    except ValueError:
        return False


# --- the role, the template and the database (system server and local cluster alike) --------


def check_admin(admin: Psql, where: str) -> tuple[bool, str]:
    """Can we administer this server, and does it have PostGIS? (ok, reason or major version)"""
    process = admin.run(
        "SELECT rolsuper::int, current_setting('server_version_num')::int / 10000,"
        " (SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis')"
        " FROM pg_roles WHERE rolname = current_user",
        check=False,
    )
    if process.returncode:
        return False, f"cannot administer {where} ({first_error(process)})"
    superuser, major, postgis = process.stdout.strip().split("\t")
    if superuser != "1":
        return False, f"the admin role on {where} is not a superuser"
    if postgis == "0":
        return False, f"PostGIS is not installed for PostgreSQL {major} on {where}"
    return True, major


def checkout_mark(repo: Path = REPO) -> str:
    """The comment devdb puts on the databases it makes: which checkout owns them."""
    return f"hehuachi checkout {repo}"


def checkout_names(admin: Psql, env_file: dict[str, str], repo: Path = REPO) -> tuple[str, str]:
    """(role, database) of this checkout on a shared server.

    The first checkout gets `hehuachi`/`hehuachi`; a second checkout on the same machine gets
    its own `hehuachi_<hash of its path>` pair instead of taking over the first one's (which
    reset that role's password and left it with demo users whose password its .env did not
    know). .env, once written, keeps naming the pair.
    """
    known = urlsplit(env_file.get("DATABASE_URL", ""))
    role, database = known.username or "", known.path.strip("/")
    suffix = "_" + short_hash(repo)
    if role in (ROLE, ROLE + suffix) and database == role:
        return role, database
    # psql takes no bind parameters: every value goes in through sql_literal.
    claim = admin.row(
        "SELECT coalesce((SELECT coalesce(shobj_description(oid, 'pg_database'), '')"  # noqa: S608
        f" FROM pg_database WHERE datname = {sql_literal(DBNAME)}), '-')"
    )[0]
    if claim in ("-", checkout_mark(repo)):
        return ROLE, DBNAME
    owner = claim.removeprefix("hehuachi checkout ") if claim else "an earlier checkout"
    say(f"database {DBNAME} belongs to {owner}: this checkout uses {DBNAME}{suffix}")
    return ROLE + suffix, DBNAME + suffix


def provision(
    admin: Psql,
    host: str,
    port: int,
    password: str | None,
    reset: bool,
    names: tuple[str, str] = (ROLE, DBNAME),
    repo: Path = REPO,
) -> str:
    """Create role, template and database if missing; verify as the role; return its URL."""
    role_name, dbname = names
    password = password or random_text(24)
    role, template, owner = admin.row(  # values through sql_literal (psql binds nothing)
        "SELECT coalesce((SELECT rolsuper::int || '' || rolcreatedb::int || rolcanlogin::int"  # noqa: S608
        " || ' ' || coalesce(rolpassword, '') FROM pg_authid"
        f" WHERE rolname = {sql_literal(role_name)}), '-'),"
        " coalesce((SELECT datistemplate::int::text FROM pg_database"
        f" WHERE datname = {sql_literal(TEMPLATE)}), '-'),"
        " coalesce((SELECT pg_get_userbyid(datdba) FROM pg_database"
        f" WHERE datname = {sql_literal(dbname)}), '-')"
    )
    flags, _, verifier = role.partition(" ")
    stored_password = sql_literal(scram_verifier(password))
    if role == "-":
        say(f"creating role {role_name} (LOGIN CREATEDB, not superuser)")
        admin.run(f"CREATE ROLE {role_name} LOGIN CREATEDB NOSUPERUSER PASSWORD {stored_password}")
    else:
        if flags != "011":
            admin.run(f"ALTER ROLE {role_name} LOGIN CREATEDB NOSUPERUSER")
        if not password_matches(verifier, password, role_name):
            say(f"setting the password of role {role_name} to the one in .env")
            admin.run(f"ALTER ROLE {role_name} PASSWORD {stored_password}")
    if template == "-":
        say(f"creating database {TEMPLATE} with PostGIS")
        admin.run(f"CREATE DATABASE {TEMPLATE}")
    if not admin.has_postgis(TEMPLATE):
        admin.run("CREATE EXTENSION IF NOT EXISTS postgis", database=TEMPLATE)
    if template != "1":
        admin.run(f"ALTER DATABASE {TEMPLATE} IS_TEMPLATE true")
    if reset and owner != "-":
        say(f"dropping database {dbname}")
        admin.run(f"DROP DATABASE {dbname} WITH (FORCE)")
        owner = "-"
    if owner == "-":
        say(f"creating database {dbname} from {TEMPLATE}")
        admin.run(f"CREATE DATABASE {dbname} TEMPLATE {TEMPLATE} OWNER {role_name}")
    else:  # made by someone else: bring it in line
        if owner != role_name:
            admin.run(f"ALTER DATABASE {dbname} OWNER TO {role_name}")
        if not admin.has_postgis(dbname):
            admin.run("CREATE EXTENSION IF NOT EXISTS postgis", database=dbname)
    admin.run(f"COMMENT ON DATABASE {dbname} IS {sql_literal(checkout_mark(repo))}")
    url = f"postgres://{role_name}:{password}@{host}:{port}/{dbname}"
    verify_as_role(url, role_name, f"{dbname}_devdb_probe")
    return url


def verify_as_role(url: str, role_name: str = ROLE, probe: str = PROBE_DB) -> None:
    """Do what the test runner will: copy the template as the role, then use PostGIS in the copy."""
    role = Psql(f"role {role_name} at {mask(url)}", url=url)
    role.run("SELECT postgis_lib_version()", f"DROP DATABASE IF EXISTS {probe}")
    role.run(f"CREATE DATABASE {probe} TEMPLATE {TEMPLATE}")
    try:
        role.run(
            "CREATE EXTENSION IF NOT EXISTS postgis",
            "CREATE TABLE probe (id int, geom geometry(Point, 4326))",
            "INSERT INTO probe VALUES (1, ST_SetSRID(ST_MakePoint(119.95, 31.78), 4326))",
            database=probe,
        )
    finally:
        role.run(f"DROP DATABASE IF EXISTS {probe}")


# --- path 1: DATABASE_URL from the environment ------------------------------------------------


def use_url(url: str, reset: bool) -> dict[str, str]:
    if reset:
        raise Fail("reset handles only databases devdb made: recreate DATABASE_URL's yourself")
    if not url.startswith(("postgres://", "postgresql://", "postgis://")):
        raise Fail(f"DATABASE_URL must start with postgres:// (got {mask(url)[:30]}...)")
    db = Psql(f"DATABASE_URL {mask(url)}", url=url)
    process = db.run(
        "SELECT current_user, rolsuper::int,"
        " (SELECT count(*) FROM pg_extension WHERE extname = 'postgis'),"
        " (SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'),"
        " (SELECT (datistemplate OR datdba = r.oid)::int FROM pg_database"
        " WHERE datname = 'template_postgis')"
        " FROM pg_roles r WHERE rolname = current_user",
        check=False,
    )
    if process.returncode:
        problem = first_error(process)
        raise Fail(f"cannot connect with DATABASE_URL {mask(url)}: {problem}; fix it or unset it")
    user, superuser, installed, available, template = process.stdout.strip("\n").split("\t")
    if installed == "0":
        if available == "0":
            raise Fail(f"PostGIS is not installed on the server of {mask(url)}: install it there")
        process = db.run("CREATE EXTENSION IF NOT EXISTS postgis", check=False)
        if process.returncode:
            raise Fail(
                f"role {user} may not create the postgis extension ({first_error(process)}):"
                " ask an administrator to run CREATE EXTENSION postgis in that database"
            )
    template_name = ""
    if superuser != "1" and template == "1":
        template_name = TEMPLATE if db.has_postgis(TEMPLATE) else ""
    if superuser != "1" and not template_name:
        say(f"note: {user} is no superuser and has no usable {TEMPLATE}: tests may lack PostGIS")
    say(f"database {mask(url)} (from DATABASE_URL; test template: {template_name or 'none'})")
    return {"DATABASE_URL": url, "DATABASE_TEST_TEMPLATE": template_name}


# --- path 2: the system server on 127.0.0.1:5432 ---------------------------------------------


def pg_isready(host: str, port: int) -> bool:
    return run(["pg_isready", "-q", "-h", host, "-p", str(port), "-t", "3"]).returncode == 0


def system_admin() -> tuple[Psql | None, str]:
    where = f"the PostgreSQL server on 127.0.0.1:{SYSTEM_PORT}"
    if not shutil.which("pg_isready") or not pg_isready("127.0.0.1", SYSTEM_PORT):
        return None, f"no PostgreSQL server answers on 127.0.0.1:{SYSTEM_PORT}"
    if is_root():  # the unix socket and peer authentication as the postgres system user
        admin = Psql(where, port=SYSTEM_PORT, user="postgres", runas="postgres")
    else:
        admin = Psql(where, host="127.0.0.1", port=SYSTEM_PORT, user="postgres")
    ok, detail = check_admin(admin, where)
    return (admin, detail) if ok else (None, detail)


def use_system(admin: Psql, major: str, env_file: dict[str, str], reset: bool) -> dict[str, str]:
    names = checkout_names(admin, env_file)
    known = urlsplit(env_file.get("DATABASE_URL", ""))
    password = known.password if known.username == names[0] else None
    url = provision(admin, "127.0.0.1", SYSTEM_PORT, password, reset, names)
    say(f"database {mask(url)} (system PostgreSQL {major}; test template: {TEMPLATE})")
    return {"DATABASE_URL": url, "DATABASE_TEST_TEMPLATE": TEMPLATE}


# --- path 3: a project-local cluster ----------------------------------------------------------


@functools.cache
def cluster_base() -> Path:
    """.pgdata/ in the repo or, as root when the postgres user cannot enter the repo, its home."""
    base = REPO / ".pgdata"
    if not is_root() or (base / "data" / "PG_VERSION").exists():
        return base
    home = Path(postgres_user().pw_dir)
    fallback = home / f"hehuachi-{short_hash(REPO)}"
    if (fallback / "data" / "PG_VERSION").exists():
        return fallback

    def postgres_enters(path: Path) -> bool:
        return run(["test", "-x", str(path)], runas="postgres").returncode == 0

    if postgres_enters(REPO):
        return base
    blocked = next((p for p in [*reversed(REPO.parents), REPO] if not postgres_enters(p)), REPO)
    say(
        f"note: the postgres user cannot enter {blocked}, so the local cluster lives in {fallback}"
        f" (to keep it in .pgdata/, run: chmod o+x {blocked})"
    )
    return fallback


def postgres_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise Fail("no 'postgres' system user: install PostgreSQL (`make deps` as root)") from None


def short_hash(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:10]


def cluster_owner(data: Path) -> str | None:
    """Who runs initdb and pg_ctl: us or, as root (PostgreSQL refuses root), the data's owner."""
    if not is_root():
        if data.exists() and data.stat().st_uid != os.geteuid():
            raise Fail(f"{data} belongs to another user: run make as that user or remove it")
        return None
    if data.exists():
        return pwd.getpwuid(data.stat().st_uid).pw_name
    return postgres_user().pw_name


def find_bindir(data: Path) -> Path:
    versions = {}
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        version = initdb.parent.parent.name
        if Path(f"/usr/share/postgresql/{version}/extension/postgis.control").exists():
            versions[version] = initdb.parent
    pg_version = data / "PG_VERSION"
    if pg_version.exists():
        version = pg_version.read_text().strip()
        if version in versions:
            return versions[version]
        raise Fail(f"{data} needs PostgreSQL {version} with PostGIS: install it or remove {data}")
    if versions:
        return versions[max(versions, key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])]
    if shutil.which("pg_config") and shutil.which("initdb"):  # not Debian's layout
        share = run(["pg_config", "--sharedir"]).stdout.strip()
        if Path(share, "extension", "postgis.control").exists():
            return Path(shutil.which("initdb")).parent
    raise Fail("no PostgreSQL with PostGIS installed: run `make deps` as root")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def socket_dir(base: Path) -> Path:
    path = base / "run"
    if len(str(path)) + len("/.s.PGSQL.65535") < 100:  # the kernel's limit on socket paths
        return path
    return Path(tempfile.gettempdir()) / f"hehuachi-pg-{short_hash(base)}"


def write_owned(path: Path, text: str, owner: str | None) -> None:
    if path.exists() and path.read_text() == text:
        return
    path.write_text(text)
    os.chmod(path, 0o600)
    if owner:
        shutil.chown(path, owner, owner)


def make_dir(path: Path, owner: str | None) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if owner and path.stat().st_uid != pwd.getpwnam(owner).pw_uid:
        shutil.chown(path, owner, owner)


def init_cluster(bindir: Path, data: Path, owner: str | None) -> None:
    say(f"creating a PostgreSQL cluster in {data}")
    locales = run(["locale", "-a"]).stdout.lower().split() if shutil.which("locale") else []
    locale = "C.UTF-8" if {"c.utf8", "c.utf-8"} & set(locales) else "C"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8"]
    initdb += ["--locale", locale, "--auth-local", "trust", "--auth-host", "scram-sha-256"]
    process = run(initdb, runas=owner)
    if process.returncode:
        raise Fail(f"initdb failed: {first_error(process)}")
    hba = (
        "# Written by geo_service/devdb.py: the owner through the socket, others by password.\n"
        "local  all  postgres                 trust\n"
        "host   all  all        127.0.0.1/32  scram-sha-256\n"
    )
    write_owned(data / "pg_hba.conf", hba, owner)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write("\n# Port, addresses, socket: devdb.conf (written by geo_service/devdb.py)\n")
        conf.write("include_if_exists = 'devdb.conf'\n")


def running_port(data: Path) -> tuple[int, Path] | None:
    """Port and socket folder of the running cluster, from its postmaster.pid."""
    pg_ctl = str(find_bindir(data) / "pg_ctl")
    if run([pg_ctl, "-D", str(data), "status"], runas=cluster_owner(data)).returncode:
        return None
    lines = (data / "postmaster.pid").read_text().splitlines()
    return int(lines[3]), Path(lines[4].split(",")[0].strip())


def start_cluster(bindir: Path, base: Path, owner: str | None, preferred: int) -> tuple[int, Path]:
    data, sockets = base / "data", socket_dir(base)
    make_dir(sockets, owner)
    port = preferred
    for _attempt in range(5):
        port = next((p for p in range(port, port + 50) if port_is_free(p)), None)
        if port is None:
            raise Fail(f"no free port from {preferred}: set PGLOCAL_PORT to a free port")
        conf = (
            "# Rewritten by geo_service/devdb.py before each start.\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {port}\n"
            f"unix_socket_directories = '{sockets}'\n"
            "unix_socket_permissions = 0700\n"
            "synchronous_commit = off\n"
        )
        write_owned(data / "devdb.conf", conf, owner)
        pg_ctl, log = str(bindir / "pg_ctl"), str(base / "log")
        process = run([pg_ctl, "-D", str(data), "-l", log, "-w", "start"], runas=owner)
        if process.returncode == 0:
            say(f"started the local cluster on 127.0.0.1:{port}")
            return port, sockets
        if port_is_free(port):  # not a race for the port: a real failure
            problem = first_error(process)
            raise Fail(f"the local cluster did not start ({problem}): see {base / 'log'}")
        port += 1
    raise Fail(f"the local cluster did not start: ports from {preferred} kept being taken")


def use_local(env_file: dict[str, str], password: str | None, reset: bool) -> dict[str, str]:
    base = cluster_base()
    data = base / "data"
    owner = cluster_owner(data)
    bindir = find_bindir(data)
    make_dir(base, owner)
    if not (data / "PG_VERSION").exists():
        init_cluster(bindir, data, owner)
    wanted = os.environ.get("PGLOCAL_PORT") or env_file.get("PGLOCAL_PORT") or DEFAULT_LOCAL_PORT
    if not wanted.isdigit():
        raise Fail(f"PGLOCAL_PORT must be a port number, got {wanted!r}")
    running = running_port(data)
    if running and str(running[0]) != wanted and "PGLOCAL_PORT" in os.environ:
        say(f"note: the local cluster runs on {running[0]}; PGLOCAL_PORT={wanted} needs a restart")
    port, sockets = running or start_cluster(bindir, base, owner, int(wanted))
    where = f"the local cluster in {base}"
    admin = Psql(where, host=str(sockets), port=port, user="postgres")
    ok, major = check_admin(admin, where)
    if not ok:
        raise Fail(major)
    url = provision(admin, "127.0.0.1", port, password, reset)
    shown = ".pgdata/" if base == REPO / ".pgdata" else str(base)
    say(f"database {mask(url)} (local PostgreSQL {major} in {shown}; test template: {TEMPLATE})")
    return {"DATABASE_URL": url, "DATABASE_TEST_TEMPLATE": TEMPLATE, "PGLOCAL_PORT": str(port)}


def local_is_current(env_file: dict[str, str]) -> bool:
    """.env already points at a local cluster that exists: keep using it (its data lives there)."""
    url = urlsplit(env_file.get("DATABASE_URL", ""))
    try:
        port = url.port
    except ValueError:
        return False
    if url.hostname != "127.0.0.1" or str(port) != env_file.get("PGLOCAL_PORT"):
        return False
    return (cluster_base() / "data" / "PG_VERSION").exists()


# --- commands ----------------------------------------------------------------------------------


def ensure(reset: bool = False) -> None:
    env_file = read_env_file()
    mode = os.environ.get("HEHUACHI_DB_MODE", "").strip().lower()
    if mode not in {"", "url", "system", "local"}:
        raise Fail(f"HEHUACHI_DB_MODE must be url, system or local, not {mode!r}")
    url = os.environ.get("DATABASE_URL", "").strip()
    known = urlsplit(env_file.get("DATABASE_URL", ""))
    password = known.password if known.username == ROLE else None
    if mode == "url" or (not mode and url):
        if not url:
            raise Fail("HEHUACHI_DB_MODE=url needs DATABASE_URL in the environment")
        updates = use_url(url, reset)
    elif mode == "local" or (not mode and local_is_current(env_file)):
        updates = use_local(env_file, password, reset)
    else:
        admin, detail = system_admin()
        if admin:
            updates = use_system(admin, detail, env_file, reset)
        elif mode == "system":
            raise Fail(f"HEHUACHI_DB_MODE=system but {detail}")
        else:
            say(f"{detail}: using a project-local cluster")
            updates = use_local(env_file, password, reset)
    for key, length in (("SECRET_KEY", 64), ("DEMO_PASSWORD", 16)):
        if not env_file.get(key):
            updates[key] = random_text(length)
    write_env_file(updates)


def stop() -> None:
    data = cluster_base() / "data"
    if not (data / "PG_VERSION").exists():
        say("no project-local cluster")
        return
    if not running_port(data):
        say("the local cluster is not running")
        return
    pg_ctl = str(find_bindir(data) / "pg_ctl")
    process = run([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], runas=cluster_owner(data))
    if process.returncode:
        raise Fail(f"could not stop the local cluster: {first_error(process)}")
    say("stopped the local cluster")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command",
        choices=["ensure", "reset", "stop"],
        help="ensure: make the database ready and write .env; reset: drop and recreate the"
        " database; stop: stop the project-local cluster if it runs",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "stop":
            stop()
        else:
            ensure(reset=args.command == "reset")
    except Fail as problem:
        print(f"devdb: error: {problem}", file=sys.stderr)
        return 1
    except OSError as problem:  # permissions, a full disk: still one line, not a traceback
        print(
            f"devdb: error: {problem}; check the repo's permissions and free space", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
