"""Public reports (随手拍), sending: the API and the page's form, strict parsing, the abuse
guards (limits per address and device, honeypot, fill time), photos without metadata, the
contact kept apart, what is known nearby and "me too"."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from layers.domain.models import GridCell, PublicReport, ReportContact, ReportSupport, SafetyHazard
from layers.services import reports
from tests.factories import make, point
from tests.report_helpers import PHOTO_GPS, metadata_segments, new_files_removed, phone_jpeg

pytestmark = pytest.mark.django_db

API = "/api/v1/reports/"


@pytest.fixture(scope="module", autouse=True)
def photos_removed():
    from django.conf import settings

    with new_files_removed(settings.PRIVATE_MEDIA_ROOT):
        yield


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()  # the limits count in the default cache
    yield
    cache.clear()


def where() -> tuple[float, float]:
    """A place inside the HHC-01-02 grid cell (grid-02's)."""
    p = GridCell.objects.get(code="HHC-01-02").geom.point_on_surface
    return p.x, p.y


def fields(**changes) -> dict:
    lon, lat = where()
    values = {
        "category": "ebike",
        "description": "3号楼楼道里停了4辆电动车，还在充电",
        "lon": f"{lon:.7f}",
        "lat": f"{lat:.7f}",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def photo(name="p.jpg", data: bytes | None = None):
    return SimpleUploadedFile(name, data or phone_jpeg((800, 600)), content_type="image/jpeg")


def post(client=None, address="198.51.100.7", device=None, **data):
    client = client or Client()
    extra = {"REMOTE_ADDR": address}
    if device:
        extra["HTTP_X_DEVICE_ID"] = device
    return client.post(API, data, **extra)


def test_an_anonymous_report_gets_a_code_and_the_contact_is_kept_apart():
    response = post(**fields(contact="13800000000"), photos=[photo()])
    assert response.status_code == 201, response.content
    code = response.json()["code"]
    assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}", code)
    assert response.json()["url"].endswith(f"/report/{code}/")
    report = PublicReport.objects.get(code=code)
    assert report.grid_cell.code == "HHC-01-02"
    assert report.intake == "new" and report.public_status == "received"
    assert ReportContact.objects.get(report=report).phone == "13800000000"
    assert [e.kind for e in report.events.all()] == ["received"]
    # The public answer knows nothing of the contact.
    status = Client().get(f"{API}{code}/")
    assert status.status_code == 200
    assert "13800000000" not in status.content.decode()
    assert status.json()["status"]["value"] == "received"
    assert status.json()["promised"]["what"] == "answer"


def test_a_phone_photo_is_stored_smaller_and_without_any_metadata():
    raw = phone_jpeg((4000, 3000))
    assert metadata_segments(raw)  # the test photo carries EXIF, XMP, ICC and a comment
    response = post(**fields(), photos=[photo("big.jpg", raw)])
    assert response.status_code == 201, response.content
    stored = PublicReport.objects.get(code=response.json()["code"]).photos.get()
    data = stored.image.read()
    assert metadata_segments(data) == []
    with Image.open(io.BytesIO(data)) as image:
        assert max(image.size) <= 1600 and image.size == (1600, 1200)
        assert not image.getexif()
        assert "comment" not in image.info and "icc_profile" not in image.info
    assert b"Zhang San" not in data and b"secret place" not in data and b"TestPhone" not in data
    assert stored.width == 1600


def test_the_hazard_photo_service_strips_the_comment_too():
    """Regression: Pillow wrote a JPEG's comment back out of `info` (layers/services/photos.py)."""
    from layers.services import photos

    processed = photos.process(photo("c.jpg", phone_jpeg((640, 480))))
    assert metadata_segments(processed.image.read()) == []
    assert processed.suggested == pytest.approx(PHOTO_GPS, abs=1e-4)  # read first, not kept


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "flood"}, "category"),
        ({"category": None}, "category"),
        ({"description": "   "}, "description"),
        ({"description": "x" * 1001}, "description"),
        ({"description": "bad\x00text"}, "description"),
        ({"lon": "119,95"}, "lon"),
        ({"lon": "NaN"}, "lon"),
        ({"lat": "1e999"}, "lat"),
        ({"lat": None}, "lat"),
        ({"lon": "116.40", "lat": "39.90"}, "lon"),  # Beijing: outside the service area
        ({"contact": "call me"}, "contact"),
        ({"contact": "a@b"}, "contact"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_each_bad_field_is_a_400_naming_it(changes, field):
    response = post(**fields(**changes))
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not PublicReport.objects.exists()


def test_repeated_fields_too_many_photos_and_non_photos_are_refused():
    client = Client()
    data = fields()
    data["category"] = ["ebike", "gas"]
    assert "category" in client.post(API, data, REMOTE_ADDR="198.51.100.8").json()
    four = [photo(f"{i}.jpg") for i in range(4)]
    response = post(**fields(), photos=four)
    assert response.status_code == 400 and "photos" in response.json()
    fake = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = post(**fields(), photos=[fake])
    assert response.status_code == 400 and "photos" in response.json()
    other = post(**fields(), picture=photo())
    assert other.status_code == 400 and "picture" in other.json()
    assert not PublicReport.objects.exists()


def test_the_sixth_report_in_an_hour_from_one_address_is_429_with_retry_after():
    for n in range(5):
        assert post(**fields(description=f"第{n}个问题")).status_code == 201
    refused = post(**fields(description="第六个"))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert PublicReport.objects.count() == 5
    # Another address is not held back by this one, and the window ends.
    assert post(address="198.51.100.99", **fields()).status_code == 201
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, minutes=1)):
        assert post(**fields(description="一小时后")).status_code == 201


def test_one_device_is_limited_whatever_address_it_comes_from():
    device = "ab12" * 8
    for n in range(5):
        assert post(address=f"203.0.113.{n}", device=device, **fields()).status_code == 201
    assert post(address="203.0.113.50", device=device, **fields()).status_code == 429
    assert post(address="203.0.113.51", device="cd34" * 8, **fields()).status_code == 201


def test_the_page_form_has_a_honeypot_and_a_minimum_fill_time():
    client = Client()
    page = client.get("/report/", REMOTE_ADDR="192.0.2.5")
    assert page.status_code == 200 and page.cookies["hh_device"].value
    token = re.search(rb'name="form_token" value="([^"]+)"', page.content).group(1).decode()
    headers = {"REMOTE_ADDR": "192.0.2.5", "HTTP_ACCEPT": "application/json"}
    too_fast = client.post("/report/", {**fields(), "form_token": token}, **headers)
    assert too_fast.status_code == 400 and "form_token" in too_fast.json()["errors"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    with time_machine.travel(later):
        bot = client.post("/report/", {**fields(), "form_token": token, "website": "x"}, **headers)
        assert bot.status_code == 400 and "website" in bot.json()["errors"]
        forged = client.post("/report/", {**fields(), "form_token": "1:forged"}, **headers)
        assert forged.status_code == 400 and "form_token" in forged.json()["errors"]
        sent = client.post("/report/", {**fields(), "form_token": token, "website": ""}, **headers)
    assert sent.status_code == 201, sent.content
    assert PublicReport.objects.filter(code=sent.json()["code"]).exists()
    assert PublicReport.objects.count() == 1


def test_a_form_sent_without_the_script_lands_on_the_status_page():
    client = Client()
    page = client.get("/report/")
    token = re.search(rb'name="form_token" value="([^"]+)"', page.content).group(1).decode()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)):
        sent = client.post("/report/", {**fields(), "form_token": token, "photos": photo()})
    assert sent.status_code == 302
    code = PublicReport.objects.get().code
    assert sent["Location"] == f"/report/{code}/"
    assert client.get(sent["Location"]).status_code == 200


def test_nearby_lists_open_reports_and_hazards_of_the_category_within_50_m():
    here = point(0, 0)
    make(SafetyHazard, name="近处", category="ebike", level="general", geom=point(30, 0))
    make(SafetyHazard, name="远处", category="ebike", level="general", geom=point(80, 0))
    make(SafetyHazard, name="别类", category="gas", level="general", geom=point(10, 0))
    make(
        SafetyHazard,
        name="已销",
        category="ebike",
        level="general",
        geom=point(5, 0),
        status="closed",
    )
    sent = reports.submit(
        {
            "category": "ebike",
            "description": "楼道充电",
            "lon": str(point(0, 20).x),
            "lat": str(point(0, 20).y),
        },
        [],
        reports.Sender("192.0.2.1"),
    )
    response = Client().get(
        "/report/nearby/", {"category": "ebike", "lon": str(here.x), "lat": str(here.y)}
    )
    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["status"], i["distance_m"]) for i in items] == [("received", 20), ("accepted", 30)]
    text = response.content.decode()
    assert "近处" not in text and sent.code not in text and "楼道充电" not in text
    assert set(items[0]) == {"ref", "status", "status_zh", "status_en", "distance_m", "people"}
    from django.test import override_settings

    with override_settings(REPORT_LOOKUPS_PER_MINUTE=2):
        asks = [
            Client().get(
                "/report/nearby/",
                {"category": "ebike", "lon": str(here.x), "lat": str(here.y)},
                REMOTE_ADDR="192.0.2.77",
            )
            for _ in range(3)
        ]
    assert [a.status_code for a in asks] == [200, 200, 429]


def test_me_too_counts_once_per_device_instead_of_a_new_report():
    hazard = make(
        SafetyHazard, name="堵塞", category="escape_route", level="general", geom=point(0, 0)
    )
    (item,) = reports.nearby("escape_route", point(1, 1).x, point(1, 1).y)
    assert item["people"] == 1
    client = Client()
    client.cookies["hh_device"] = "ef56" * 8
    first = client.post("/report/me-too/", {"ref": item["ref"]})
    assert first.json() == {"people": 2}
    again = client.post("/report/me-too/", {"ref": item["ref"]})
    assert again.json() == {"people": 2}  # the same device, counted once
    other = Client()
    other.cookies["hh_device"] = "0a1b" * 8
    assert other.post("/report/me-too/", {"ref": item["ref"]}).json() == {"people": 3}
    assert ReportSupport.objects.filter(hazard=hazard).count() == 2
    assert not PublicReport.objects.exists()
    assert client.post("/report/me-too/", {"ref": item["ref"] + "x"}).status_code == 404
    assert client.post("/report/me-too/", {}).status_code == 400


def test_a_code_is_looked_up_as_typed_and_lookups_are_limited():
    sent = reports.submit(fields(), [], reports.Sender("192.0.2.2"))
    client = Client()
    typed = f"{sent.code[:4].lower()}-{sent.code[4:].lower()}"
    assert client.get("/report/lookup/", {"code": typed})["Location"] == f"/report/{sent.code}/"
    assert client.get(f"/report/{typed}/")["Location"] == f"/report/{sent.code}/"
    assert client.get("/report/ZZZZZZZZ/").status_code == 404
    assert client.get(f"{API}IIIIIIII/").status_code == 404
    from django.test import override_settings

    with override_settings(REPORT_LOOKUPS_PER_MINUTE=3):
        codes = [client.get(f"{API}{sent.code}/", REMOTE_ADDR="192.0.2.9") for _ in range(4)]
    assert [r.status_code for r in codes] == [200, 200, 200, 429]
    assert codes[-1]["Retry-After"]


def test_the_queue_is_for_staff_only(role_client):
    reports.submit(fields(), [], reports.Sender("192.0.2.3"))
    assert role_client(None).get(API).status_code == 401
    assert role_client("planner").get(API).status_code == 403
    editor_client = role_client("editor")
    editor = editor_client.get(API, {"status": "new"})
    assert editor.status_code == 200 and editor.json()["count"] == 1
    assert "contact" in editor.json()["results"][0]
    inspector = role_client("inspector").get(API)  # no grid cell: every report
    assert inspector.json()["count"] == 1 and "contact" not in inspector.json()["results"][0]
    assert editor_client.get(API, {"status": "accepted"}).json()["count"] == 0
    assert editor_client.get(API, {"status": "maybe"}).status_code == 400
    assert editor_client.get(API, {"status": ""}).status_code == 400
    assert editor_client.get(API, {"page": "2"}).status_code == 400


def test_both_endpoints_are_in_the_openapi_document():
    schema = Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    post_op = schema["paths"]["/api/v1/reports/"]["post"]
    assert post_op["operationId"] == "reports_create"
    body = post_op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert set(body["required"]) == {"category", "description", "lon", "lat"}
    assert {"201", "400", "429"} <= set(post_op["responses"])
    get_op = schema["paths"]["/api/v1/reports/{code}/"]["get"]
    assert get_op["operationId"] == "reports_status" and "429" in get_op["responses"]
    assert {} in post_op["security"] and {} in get_op["security"]


def test_the_home_page_and_the_tour_lead_to_the_report_page():
    client = Client()
    home = client.get("/").content.decode()
    assert 'data-card="report"' in home and 'href="/report/"' in home
    assert 'href="/report/"' in client.get("/tour/").content.decode()
    page = client.get("/report/").content.decode()
    assert 'lang="zh-Hans"' in page and "随手拍" in page
    assert Client(HTTP_ACCEPT_LANGUAGE="en").get("/report/").content.decode().count("Report") > 1


def test_intake_figures_count_new_reports_and_those_past_the_answer_time():
    from django.contrib.auth import get_user_model

    reports.submit(fields(), [], reports.Sender("192.0.2.4"))
    client = Client()
    client.force_login(get_user_model().objects.get(username="grid-02"))

    def numbers():
        html = client.get("/").content.decode()
        card = html[html.index('data-card="report-intake"') :]
        return [int(n) for n in re.findall(r"<strong>(\d+)</strong>", card)[:2]]

    assert numbers() == [1, 0]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=5)):
        assert numbers() == [1, 1]  # past its answer date (one working day)
