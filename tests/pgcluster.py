"""A throw-away PostgreSQL cluster of the test's own (initdb + pg_ctl from Debian's
/usr/lib/postgresql/15/bin), which a test may stop and start at will: the shared database
server of the machine is never touched. As root the cluster runs as the postgres user."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """A cluster of its own (initdb), or with `primary=` a streaming replica of that one:
    `pg_basebackup -R` (which writes the connection to the primary and standby.signal) on a
    port of its own. initdb's trust rules admit replication connections from 127.0.0.1."""

    def __init__(self, primary: Cluster | None = None):
        self.dir = Path(tempfile.mkdtemp(prefix="hh-pgtest-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.owner = "postgres" if os.geteuid() == 0 else None
        if self.owner:
            account = pwd.getpwnam(self.owner)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        if primary is None:
            self._run(
                BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8"
            )
        else:
            self._run(
                BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", primary.port, "-U", "postgres",
                "-D", self.data, "-R", "-X", "stream", "-c", "fast",
            )  # fmt: skip
        # Appended: a replica's copy holds the primary's lines and primary_conninfo; the last
        # setting of a name wins.
        with (self.data / "postgresql.auto.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
            )
        if self.owner:
            account = pwd.getpwnam(self.owner)
            os.chown(self.data / "postgresql.auto.conf", account.pw_uid, account.pw_gid)

    def _run(self, *cmd, check=True) -> subprocess.CompletedProcess:
        cmd = [str(c) for c in cmd]
        if self.owner:
            cmd = ["runuser", "-u", self.owner, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self._run(
            BIN / "psql",
            "-h",
            "127.0.0.1",
            "-p",
            self.port,
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            statement,
        ).stdout.strip()

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_postgis_database(self, name: str) -> str:
        self.sql(f"CREATE DATABASE {name}")
        self.sql("CREATE EXTENSION postgis", database=name)
        return self.url(name)

    def remove(self) -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
