"""Real concurrency on the REST write path: two threads, two connections, one version.

Not wrapped in a test transaction (the threads' own connections must see the park), and not
a transactional test either: those end by emptying every table, which would take the sample
data from the tests that run after them. The test commits what it needs and removes it.
"""

from __future__ import annotations

import threading

from django.db import connection
from rest_framework.test import APIClient

from layers.domain import models
from tests import factories as f

DETAIL = "/api/v1/{slug}/{pk}/"


def test_concurrent_updates_from_one_version_lose_nothing(django_db_setup, django_db_blocker):
    from tests.conftest import make_user

    with django_db_blocker.unblock():
        park = models.PocketPark.objects.create(
            name="并发", theme="mediation", status="planned", geom=f.rect(0, 0, 20, 20)
        )
        users = [make_user(f"concurrent-planner-{i}", "planner") for i in range(2)]
        try:
            results = []
            barrier = threading.Barrier(2)

            def edit(user, text):
                client = APIClient()
                client.force_authenticate(user)
                barrier.wait()
                response = client.patch(
                    DETAIL.format(slug="pocket-parks", pk=park.pk),
                    {"properties": {"description": text}},
                    format="json",
                    HTTP_IF_MATCH='"1"',
                )
                results.append((response.status_code, text))
                connection.close()

            threads = [
                threading.Thread(target=edit, args=(u, t)) for u, t in zip(users, "XY", strict=True)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(code for code, _ in results) == [200, 412]
            winner = next(text for code, text in results if code == 200)
            park.refresh_from_db()
            assert park.description == winner and park.version == 2
            assert park.history.count() == 2
        finally:
            park.history.all().delete()
            models.PocketPark.all_objects.filter(pk=park.pk).delete()
            models.PocketPark.history.filter(id=park.pk).delete()
            for user in users:
                user.delete()
