"""Idempotency-Key on the writes a phone retries (layers/services/idempotency.py): a repeat
gets the first answer and changes nothing, the same key with another body is 422, a key in
use by a running request is 409, and keys are forgotten after IDEMPOTENCY_KEY_DAYS."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from layers.domain.models import GridCell, HazardEvent, HazardPhoto, IdempotencyKey, SafetyHazard
from layers.domain.roles import INSPECTOR
from layers.services import idempotency
from tests.conftest import make_user
from tests.test_workflow import hazard_in, jpeg

pytestmark = pytest.mark.django_db

URL = "/api/v1/hazards/"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def worker(db):
    cell = GridCell.objects.order_by("code").first()
    user = make_user("w-idem", INSPECTOR)
    cell.worker = user
    cell.save(update_fields=["worker"])
    user.cell = cell
    return user


def client_for(user) -> APIClient:
    """Signed in as a browser is (the caller comes from the session, layers/auth/caller.py)."""
    client = APIClient()
    client.force_login(user)
    return client


def post_photo(client, hazard, data: bytes, key: str | None, name="p.jpg"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        f"{URL}{hazard.pk}/photos/",
        {"image": SimpleUploadedFile(name, data, content_type="image/jpeg")},
        format="multipart",
        **headers,
    )


def test_a_retried_photo_upload_makes_one_photo(worker):
    hazard = hazard_in(worker.cell)
    client = client_for(worker)
    data = jpeg()
    first = post_photo(client, hazard, data, '"photo-1"')
    assert first.status_code == 201, first.content
    # The multipart boundary differs on a retry; the content is what counts.
    again = post_photo(client, hazard, data, '"photo-1"')
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert json.loads(again.content) == json.loads(first.content)
    assert HazardPhoto.objects.filter(hazard=hazard).count() == 1
    # Without a key, or with another key, it is a new photo.
    assert post_photo(client, hazard, data, None).status_code == 201
    assert post_photo(client, hazard, data, "photo-2").status_code == 201
    assert HazardPhoto.objects.filter(hazard=hazard).count() == 3


def test_a_retried_step_makes_one_event_and_answers_the_first_answer(worker):
    hazard = hazard_in(worker.cell)
    client = client_for(worker)
    body = {"action": "report", "note": "楼道堆放杂物"}
    key = str(uuid.uuid4())
    first = client.post(f"{URL}{hazard.pk}/transitions/", body, format="json",
                        HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip
    assert first.status_code == 200, first.content
    for _ in range(3):
        again = client.post(f"{URL}{hazard.pk}/transitions/", body, format="json",
                            HTTP_IDEMPOTENCY_KEY=key)  # fmt: skip
        assert again.status_code == 200
        assert again.content == first.content
        assert again["ETag"] == first["ETag"]
    assert HazardEvent.objects.filter(hazard=hazard, action="report").count() == 1
    # Without the key the same step is refused: the hazard is already reported.
    assert client.post(f"{URL}{hazard.pk}/transitions/", body, format="json").status_code == 409


def test_a_retried_create_makes_one_hazard(worker):
    client = client_for(worker)
    point = worker.cell.geom.point_on_surface
    name = f"幂等测试 {uuid.uuid4().hex[:6]}"
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
        "properties": {"name": name, "category": "escape_route", "level": "general"},
    }
    answers = [
        client.post(URL, feature, format="json", HTTP_IDEMPOTENCY_KEY="create-1") for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].content == answers[1].content
    assert SafetyHazard.objects.filter(name=name).count() == 1


def test_the_same_key_with_another_request_is_422_and_changes_nothing(worker):
    hazard = hazard_in(worker.cell)
    client = client_for(worker)
    url = f"{URL}{hazard.pk}/transitions/"
    assert client.post(url, {"action": "report"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="k1").status_code == 200  # fmt: skip
    other = client.post(url, {"action": "report", "note": "x"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k1")  # fmt: skip
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()
    other_photo = post_photo(client, hazard, jpeg(), "k1")
    assert other_photo.status_code == 422
    assert HazardPhoto.objects.filter(hazard=hazard).count() == 0


def test_a_refused_request_keeps_nothing_and_may_be_sent_again_with_its_key(worker):
    hazard = hazard_in(worker.cell)
    client = client_for(worker)
    url = f"{URL}{hazard.pk}/transitions/"
    # Stale If-Match: 412, nothing kept; the same key then works with the right version.
    stale = client.post(url, {"action": "report"}, format="json", HTTP_IF_MATCH='"999"',
                        HTTP_IDEMPOTENCY_KEY="k2")  # fmt: skip
    assert stale.status_code == 412
    assert IdempotencyKey.objects.get(key="k2").status is None
    ok = client.post(url, {"action": "report"}, format="json",
                     HTTP_IF_MATCH=f'"{hazard.version}"', HTTP_IDEMPOTENCY_KEY="k2")  # fmt: skip
    assert ok.status_code == 200


def test_another_caller_with_the_same_key_is_another_request(worker):
    hazard = hazard_in(worker.cell)
    other = make_user("w-idem-2", INSPECTOR)  # no cell: reaches every hazard
    url = f"{URL}{hazard.pk}/photos/"
    assert post_photo(client_for(worker), hazard, jpeg(), "shared").status_code == 201
    second = post_photo(client_for(other), hazard, jpeg(), "shared")
    assert second.status_code == 201 and not second.has_header("Idempotent-Replayed")
    assert HazardPhoto.objects.filter(hazard=hazard).count() == 2, url


@pytest.mark.parametrize(
    "raw",
    ['""', '"a\\"b"', "two words", "a,b", "x" * 256, '"' + "x" * 256 + '"', "ключ", '"tab\t"'],
)
def test_a_malformed_key_is_400_naming_the_header(worker, raw):
    hazard = hazard_in(worker.cell)
    answer = client_for(worker).post(f"{URL}{hazard.pk}/transitions/", {"action": "report"},
                                     format="json", HTTP_IDEMPOTENCY_KEY=raw)  # fmt: skip
    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()
    assert not HazardEvent.objects.filter(hazard=hazard, action="report").exists()


def test_keys_are_forgotten_after_their_days(worker, settings):
    settings.IDEMPOTENCY_KEY_DAYS = 7
    # Keys that other tests committed through the real server on this worker's database would
    # expire too: this test counts its own only (the deletion is rolled back with the test).
    IdempotencyKey.objects.all().delete()
    hazard = hazard_in(worker.cell)
    client = client_for(worker)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert post_photo(client, hazard, jpeg(), "old").status_code == 201

    def others_expired() -> int:
        # Keys that browser tests' servers committed in this database are not this test's.
        expired = IdempotencyKey.objects.filter(created_at__lt=idempotency.expiry())
        return expired.exclude(user=worker).count()

    with time_machine.travel(start + dt.timedelta(days=6), tick=False):
        others = others_expired()
        assert idempotency.purge() == others
        assert post_photo(client, hazard, jpeg(), "old")["Idempotent-Replayed"] == "true"
    with time_machine.travel(start + dt.timedelta(days=7, seconds=1), tick=False):
        # Not yet purged, but expired: a new request.
        fresh = post_photo(client, hazard, jpeg(), "old")
        assert fresh.status_code == 201 and not fresh.has_header("Idempotent-Replayed")
    with time_machine.travel(start + dt.timedelta(days=15), tick=False):
        others = others_expired()
        assert idempotency.purge() == 1 + others
        assert not IdempotencyKey.objects.filter(user=worker).exists()
    assert HazardPhoto.objects.filter(hazard=hazard).count() == 2


# --- two requests at once, through the real server -----------------------------------------

MARK = "幂等并发测试"


@pytest.fixture(scope="module")
def committed_hazard(django_db_setup, django_db_blocker):
    """A found hazard the server process can see (committed); removed afterwards."""
    from layers.domain import registry
    from layers.services import editing

    with django_db_blocker.unblock():
        from django.contrib.auth import get_user_model

        editor = get_user_model().objects.get(username="demo-editor")
        cell = GridCell.objects.order_by("code").first()
        hazard = editing.create_as(
            registry.get("hazards"),
            {"name": MARK, "category": "escape_route", "level": "general",
             "geom": cell.geom.point_on_surface},
            editor,
        )  # fmt: skip
    yield hazard
    with django_db_blocker.unblock():
        SafetyHazard.all_objects.filter(name=MARK).delete()
        SafetyHazard.history.filter(id=hazard.pk).delete()
        IdempotencyKey.objects.filter(key__startswith="concurrent-").delete()


def _post(url: str, token: str, body: dict, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(  # noqa: S310 (our own server)
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (our server)
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_two_requests_with_one_key_at_once_make_one_step(
    live_app, live_token, committed_hazard, django_db_blocker
):
    """The first request holds the key while it waits for the hazard's row (locked here); the
    second, sent meanwhile, is answered 409 at once; the retry after gets the stored answer."""
    import psycopg

    db = connection.settings_dict
    url = f"{live_app}{URL}{committed_hazard.pk}/transitions/"
    key = f"concurrent-{uuid.uuid4()}"
    body = {"action": "report", "note": "两个请求同时到达"}
    results: dict[str, tuple] = {}
    params = {key: db[name] for key, name in
              (("dbname", "NAME"), ("user", "USER"), ("password", "PASSWORD"),
               ("host", "HOST"), ("port", "PORT"))}  # fmt: skip
    holder = psycopg.connect(**params)
    watcher = psycopg.connect(**params, autocommit=True)
    try:
        holder.execute(
            "SELECT id FROM layers_safetyhazard WHERE id = %s FOR UPDATE", [committed_hazard.pk]
        )
        first = threading.Thread(target=lambda: results.update(a=_post(url, live_token, body, key)))
        first.start()
        # Wait until the first request is blocked on the hazard's row (it holds the key). Asked
        # from another connection in autocommit: pg_stat_activity is a snapshot per transaction.
        deadline = time.monotonic() + 30
        while not watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
            "AND wait_event_type = 'Lock' AND query ILIKE %s",
            [db["NAME"], "%layers_safetyhazard%"],
        ).fetchone()[0]:
            assert time.monotonic() < deadline, f"the first request never waited: {results}"
            time.sleep(0.05)
        second = threading.Thread(
            target=lambda: results.update(b=_post(url, live_token, body, key))
        )
        second.start()
        second.join(timeout=30)
        assert not first.is_alive() or "a" not in results
    finally:
        holder.rollback()  # releases the row: the first request goes on
        holder.close()
        watcher.close()
    first.join(timeout=30)
    status_a, _, answer_a = results["a"]
    status_b, headers_b, answer_b = results["b"]
    assert status_a == 200, answer_a
    assert status_b == 409 and answer_b["code"] == "idempotency_in_progress"
    assert headers_b["Retry-After"] == "1"
    status_c, headers_c, answer_c = _post(url, live_token, body, key)
    assert status_c == 200 and headers_c["Idempotent-Replayed"] == "true"
    assert answer_c == answer_a
    with django_db_blocker.unblock():
        events = HazardEvent.objects.filter(hazard_id=committed_hazard.pk, action="report")
        assert events.count() == 1


def test_the_openapi_document_names_the_header_where_it_is_honoured(editor_client):
    """Exactly the writes the mixin wraps (every layer's create, a hazard's photo upload and
    step) document the Idempotency-Key header, the replay header and the 409/422 answers."""
    from layers.domain import registry

    document = editor_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert document.status_code == 200
    honoured = set()
    for path, operations in document.json()["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" not in names:
                continue
            honoured.add((method, path))
            assert {"409", "422"} <= set(operation["responses"]), path
            success = next(c for c in operation["responses"] if c.startswith("2"))
            assert "Idempotent-Replayed" in operation["responses"][success]["headers"], path
    expected = {("post", f"/api/v1/{spec.slug}/") for spec in registry.LAYERS}
    expected |= {
        ("post", "/api/v1/hazards/{id}/photos/"),
        ("post", "/api/v1/hazards/{id}/transitions/"),
    }
    assert honoured == expected
