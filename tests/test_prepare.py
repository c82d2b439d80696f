"""tools/prepare.py (make run's set-up in one process): the sample data is loaded again only
when the fixtures, the loader or the demo password changed, or the database is another one."""

from __future__ import annotations

import json
import os

import pytest

from tools import prepare

pytestmark = pytest.mark.django_db


@pytest.fixture
def stamp(tmp_path, monkeypatch):
    path = tmp_path / ".sample-loaded.json"
    monkeypatch.setattr(prepare, "SAMPLE_STAMP", path)
    return path


def test_the_stamp_of_this_database_and_these_fixtures_skips_the_load(stamp):
    digest, database = prepare.sample_digest(), prepare.database_identity()
    assert not prepare.sample_is_current(digest, database)  # no stamp yet
    stamp.write_text(json.dumps({"database": database, "sha256": digest}))
    assert prepare.sample_is_current(digest, database)
    assert prepare.load_sample(force=False).endswith("skipped")
    # Another database of the same name (dropped and created again: a new OID) loads again.
    name, _, oid = database.partition(":")
    assert not prepare.sample_is_current(digest, f"{name}:{int(oid) + 1}")
    # A damaged stamp is no stamp.
    stamp.write_text("{not json")
    assert not prepare.sample_is_current(digest, database)


def test_a_changed_fixture_or_demo_password_changes_the_digest(monkeypatch, tmp_path):
    from layers.services import sample

    before = prepare.sample_digest()
    assert prepare.sample_digest() == before  # stable
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-password-1")
    changed_password = prepare.sample_digest()
    assert changed_password != before
    # A fixture touched (a copy of the folder, so the checkout is left alone).
    import shutil

    copy = tmp_path / "fixtures"
    shutil.copytree(sample.fixtures_dir(), copy)
    monkeypatch.setattr(sample, "fixtures_dir", lambda: copy)
    same = prepare.sample_digest()
    users = copy / "users.json"
    stat = users.stat()
    os.utime(users, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert prepare.sample_digest() != same


def test_missing_demo_users_load_again_whatever_the_stamp_says(stamp):
    from django.contrib.auth import get_user_model

    digest, database = prepare.sample_digest(), prepare.database_identity()
    stamp.write_text(json.dumps({"database": database, "sha256": digest}))
    get_user_model().objects.filter(username="demo-planner").delete()
    assert not prepare.sample_is_current(digest, database)
