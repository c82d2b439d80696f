"""tools/devdb.py on a PostgreSQL server shared by several checkouts (a cluster of the test's
own, tests/pgcluster.py): the second checkout gets its own role and database and leaves the
first one's password and data alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pgcluster import Cluster
from tools import devdb

# Its own cluster, made once for the module (on one xdist worker).
pytestmark = [pytest.mark.cluster, pytest.mark.xdist_group("test_devdb")]
FIRST, SECOND, THIRD = Path("/srv/checkout-a"), Path("/srv/checkout-b"), Path("/srv/checkout-c")


@pytest.fixture(scope="module")
def admin():
    cluster = Cluster()
    cluster.start()
    try:
        admin = devdb.Psql("test cluster", host="127.0.0.1", port=cluster.port, user="postgres")
        yield admin
    finally:
        cluster.remove()


def _verifier(admin, role: str) -> str:
    literal = devdb.sql_literal(role)
    return admin.row(f"SELECT rolpassword FROM pg_authid WHERE rolname = {literal}")[0]  # noqa: S608


def _comment(admin, database: str) -> str:
    return admin.row(
        "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database"  # noqa: S608
        f" WHERE datname = {devdb.sql_literal(database)}"
    )[0]


def test_a_second_checkout_gets_its_own_role_and_database(admin):
    first = devdb.checkout_names(admin, {}, FIRST)
    assert first == ("hehuachi", "hehuachi")  # the first on a server keeps the plain names
    url_first = devdb.provision(admin, "127.0.0.1", admin.port, "first-pw", False, first, FIRST)
    assert _comment(admin, "hehuachi") == devdb.checkout_mark(FIRST)

    second = devdb.checkout_names(admin, {}, SECOND)
    suffix = "_" + devdb.short_hash(SECOND)
    assert second == ("hehuachi" + suffix, "hehuachi" + suffix)
    url_second = devdb.provision(admin, "127.0.0.1", admin.port, "second-pw", False, second, SECOND)
    assert url_second.endswith("/hehuachi" + suffix)

    # The first checkout's role still has its own password, and both databases exist.
    assert devdb.password_matches(_verifier(admin, "hehuachi"), "first-pw", "hehuachi")
    assert not devdb.password_matches(_verifier(admin, "hehuachi"), "second-pw", "hehuachi")
    assert devdb.password_matches(_verifier(admin, second[0]), "second-pw", second[0])
    assert _comment(admin, second[1]) == devdb.checkout_mark(SECOND)

    # Once .env is written each checkout keeps its names; the first is recognised by its mark.
    assert devdb.checkout_names(admin, {"DATABASE_URL": url_second}, SECOND) == second
    assert devdb.checkout_names(admin, {"DATABASE_URL": url_first}, FIRST) == first
    assert devdb.checkout_names(admin, {}, FIRST) == first


def test_an_unmarked_database_is_nobodys_to_take_over(admin):
    """A `hehuachi` database made before databases were marked belongs to whichever checkout's
    .env names it; a checkout without .env gets its own pair instead."""
    if _comment(admin, "hehuachi") == "":  # run alone: make it first
        devdb.provision(admin, "127.0.0.1", admin.port, "first-pw", False, ("hehuachi",) * 2, FIRST)
    admin.run("COMMENT ON DATABASE hehuachi IS NULL")
    suffix = "_" + devdb.short_hash(THIRD)
    assert devdb.checkout_names(admin, {}, THIRD) == ("hehuachi" + suffix,) * 2
    env = {"DATABASE_URL": f"postgres://hehuachi:first-pw@127.0.0.1:{admin.port}/hehuachi"}
    assert devdb.checkout_names(admin, env, THIRD) == ("hehuachi", "hehuachi")
    # A URL naming some other role or database (DATABASE_URL of a past run) is not trusted.
    other = {"DATABASE_URL": "postgres://gis:x@127.0.0.1:5432/gisdata"}
    assert devdb.checkout_names(admin, other, THIRD) == ("hehuachi" + suffix,) * 2
