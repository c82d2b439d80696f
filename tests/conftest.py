"""Shared test set-up: a real PostGIS test database holding the sample data, and role users."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from layers.sample import load_sample_data

PASSWORD = "test-pass-Hehuachi-2026"


def pytest_configure(config):
    from django.conf import settings

    # Tests create many users; the production hasher is slow on purpose.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Load the sample data once per test session; each test runs in a rolled-back transaction."""
    with django_db_blocker.unblock():
        load_sample_data(password=PASSWORD)


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
