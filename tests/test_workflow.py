"""The hazard lifecycle: every step for every role, the different-user rule, the grid worker's
reach, deadlines and overdue at their boundaries, photos, duplicates and the timeline."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from PIL import Image
from PIL.TiffImagePlugin import IFDRational
from pyproj import Geod
from rest_framework.test import APIClient

from layers.domain import vocabularies as status
from layers.domain.models import GridCell, HazardEvent, HazardPhoto, SafetyHazard
from layers.domain.roles import EDITOR, INSPECTOR, PLANNER
from layers.services import photos, workflow
from tests.conftest import make_user, missing_tool
from tests.factories import make, resave

pytestmark = pytest.mark.django_db

URL = "/api/v1/hazards/"


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def people(db):
    """One user per kind of actor, and two grid cells: ours and another worker's."""
    own, other = GridCell.objects.order_by("code")[:2]
    worker = make_user("w-own", INSPECTOR)
    outsider = make_user("w-other", INSPECTOR)
    own.worker, other.worker = worker, outsider
    own.save(update_fields=["worker"])
    other.save(update_fields=["worker"])
    return {
        "leader": make_user("leader", EDITOR, staff=True),
        "inspector": make_user("safety-officer", INSPECTOR),  # no grid cell: reaches all
        "worker": worker,
        "outsider": outsider,
        "assignee": make_user("unit-contact", PLANNER),
        "planner": make_user("planner-x", PLANNER),
        "rectifier": make_user("rectifier", INSPECTOR),
        "anon": None,
        "_cell": own,
    }


def hazard_in(cell, **values) -> SafetyHazard:
    point = cell.geom.point_on_surface
    defaults = {
        "name": "楼道堆放杂物",
        "category": "escape_route",
        "level": "general",
        "geom": point,
        "found_at": dt.datetime(2026, 11, 1, 9, tzinfo=dt.UTC),
    }
    defaults.update(values)
    return make(SafetyHazard, **defaults)


def jpeg(size=(800, 600), gps: tuple[float, float] | None = None, fmt="JPEG") -> bytes:
    image = Image.new("RGB", size, (180, 40, 40))
    out = io.BytesIO()
    if gps and fmt == "JPEG":
        exif = Image.Exif()
        lon, lat = gps

        def dms(value):
            d = int(value)
            m = int((value - d) * 60)
            s = round(((value - d) * 60 - m) * 60 * 1000)
            return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000))

        exif[0x010F] = "TestPhone"  # Make
        exif.get_ifd(0x8825).update({1: "N", 2: dms(lat), 3: "E", 4: dms(lon)})
        image.save(out, fmt, exif=exif.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


def stored_photo(hazard, user) -> HazardPhoto:
    upload = SimpleUploadedFile("p.jpg", jpeg(), content_type="image/jpeg")
    return photos.store(hazard, upload, user)[0]


# Who may take each step (a leader is the editor role; "worker" acts in their own grid).
MAY = {
    "report": {"leader", "inspector", "worker"},
    "assign": {"leader"},
    "start": {"inspector", "worker", "assignee"},
    "rectify": {"inspector", "worker", "assignee"},
    "pass": {"leader", "inspector", "worker"},
    "fail": {"leader", "inspector", "worker"},
    "fix_on_spot": {"leader", "inspector", "worker"},
    "reject": {"leader"},
    "mark_duplicate": {"leader", "inspector", "worker"},
    "return": {"assignee"},
    "set_deadline": {"leader"},
    "request_extension": {"inspector", "worker", "assignee"},
    "decide_extension": {"leader"},
    "supervise": {"leader"},
    # A leader (a 12345 call); residents reopen through their report
    # (tests/test_report_feedback.py).
    "reopen": {"leader"},
}
# The status each step leads to (None: unchanged).
LEADS_TO = {
    "report": "reported",
    "assign": "assigned",
    "start": "rectifying",
    "rectify": "reinspection",
    "pass": "closed",
    "fail": "rectifying",
    "fix_on_spot": "closed",
    "reject": "rejected",
    "mark_duplicate": "rejected",
    "return": "reported",
    "reopen": "reinspection",
}
# After dispatch, marking a duplicate is a leader's decision.
DISPATCHED = ("assigned", "rectifying", "reinspection")


def may(action: str, current: str) -> set[str]:
    if action == "mark_duplicate" and current in DISPATCHED:
        return {"leader"}
    return MAY[action]


STATUSES = status.HAZARD_STATUS.values


def step_body(action: str, hazard, original) -> dict:
    body = {"action": action}
    body.update(
        {
            "assign": {"responsible_unit": "北大街社区", "assignee": "unit-contact"},
            "rectify": {"note": "已清理"},
            "reopen": {"note": "群众反映仍未整改"},
            "fail": {"note": "仍有杂物"},
            "reject": {"reason": "not_hazard", "note": "经核实为正常堆放"},
            "mark_duplicate": {"duplicate_of": original.pk},
            "return": {"reason": "incomplete"},
            "set_deadline": {"deadline": "2027-01-15"},
            "request_extension": {"until": "2027-03-01", "note": "需协调物业"},
            "decide_extension": {"approve": True},
            "supervise": {"on": True, "deadline": "2027-02-01"},
        }.get(action, {})
    )
    return body


def test_the_vocabulary_graph_is_exactly_the_workflow_steps():
    edges = {
        (source, a.target)
        for a in workflow.ACTIONS.values()
        if a.target is not None
        for source in a.sources
    }
    declared = {(s, t) for s, targets in status.HAZARD_STATUS.transitions.items() for t in targets}
    assert edges == declared


@pytest.mark.parametrize("action", sorted(MAY))
@pytest.mark.parametrize(
    "role", ["leader", "inspector", "worker", "outsider", "assignee", "planner", "anon"]
)
@pytest.mark.slow
def test_every_step_for_every_role_from_every_status(people, action, role):
    cell = people["_cell"]
    original = hazard_in(cell, name="原始隐患")
    user = people[role]
    step = workflow.ACTIONS[action]
    for current in STATUSES:
        extra = {
            "status": current,
            "assignee": people["assignee"],
            "rectified_by": people["rectifier"],
            "deadline": dt.date(2026, 12, 20),
            "level": "major" if action == "supervise" else "general",
            "extension_until": dt.date(2027, 1, 31) if action == "decide_extension" else None,
        }
        hazard = hazard_in(cell, **extra)
        body = step_body(action, hazard, original)
        if action == "fix_on_spot" and user is not None:
            body["photos"] = [stored_photo(hazard, user).pk]
        response = client_for(user).post(f"{URL}{hazard.pk}/transitions/", body, format="json")
        hazard.refresh_from_db()
        where = f"{role} {action} from {current}: {response.status_code} {response.content!r}"
        if user is None:
            assert response.status_code == 401, where
        elif current not in step.sources:
            assert response.status_code == 409, where
            assert "allowed" in response.json(), where
            assert hazard.status == current
        elif role not in may(action, current):
            assert response.status_code == 403, where
            assert hazard.status == current, where
        else:
            assert response.status_code == 200, where
            assert hazard.status == LEADS_TO.get(action, current), where
            event = HazardEvent.objects.get(hazard=hazard)
            assert event.actor == user and event.action == action
            assert event.from_status == current and event.to_status == hazard.status


def test_the_whole_lifecycle_through_the_api_with_its_timeline(people):
    worker, leader, other = people["worker"], people["leader"], people["inspector"]
    point = people["_cell"].geom.point_on_surface
    feature = {
        "type": "Feature",
        "geometry": json.loads(point.geojson),
        "properties": {"name": "飞线充电", "category": "ebike", "level": "general"},
    }
    created = client_for(worker).post(URL, feature, format="json")
    assert created.status_code == 201, created.content
    props = created.json()["properties"]
    assert props["status"] == "found" and props["reporter"] == "w-own"
    pk = created.json()["id"]

    def step(user, **body):
        response = client_for(user).post(f"{URL}{pk}/transitions/", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()

    step(worker, action="report", note="楼道内飞线充电")
    assigned = step(leader, action="assign", responsible_unit="物业", assignee="w-own")
    assert assigned["status"] == "assigned"
    hazard = SafetyHazard.objects.get(pk=pk)
    assert hazard.deadline == workflow.default_deadline(hazard)
    step(worker, action="start")
    photo = client_for(worker).post(
        f"{URL}{pk}/photos/",
        {"image": SimpleUploadedFile("fix.jpg", jpeg(), content_type="image/jpeg")},
        format="multipart",
    )
    assert photo.status_code == 201, photo.content
    step(worker, action="rectify", note="已拆除飞线", photos=[photo.json()["id"]])
    # The rectifier may not close it; another inspector re-inspects.
    refused = client_for(worker).post(f"{URL}{pk}/transitions/", {"action": "pass"}, format="json")
    assert refused.status_code == 403 and "someone other" in refused.json()["detail"]
    closed = step(other, action="pass", note="复查合格")
    assert closed["status"] == "closed" and closed["allowed"] == []
    timeline = client_for(leader).get(f"{URL}{pk}/timeline/").json()["events"]
    assert [e["action"] for e in timeline] == [
        "found",
        "report",
        "assign",
        "start",
        "rectify",
        "pass",
    ]
    assert [e["user"] for e in timeline] == [
        "w-own",
        "w-own",
        "leader",
        "w-own",
        "w-own",
        "safety-officer",
    ]
    assert timeline[4]["note"] == "已拆除飞线" and len(timeline[4]["photos"]) == 1
    assert timeline[2]["data"]["assignee"] == "w-own"
    hazard.refresh_from_db()
    assert hazard.closed_at is not None and hazard.rectified_by == worker
    # The timeline survives edits of the hazard itself.
    SafetyHazard.objects.filter(pk=pk).update(description="改了描述")
    assert len(client_for(leader).get(f"{URL}{pk}/timeline/").json()["events"]) == 6


def test_a_failed_reinspection_returns_to_rectifying_with_a_note(people):
    hazard = hazard_in(
        people["_cell"], status="reinspection", rectified_by=people["worker"], assignee=None
    )
    url = f"{URL}{hazard.pk}/transitions/"
    no_note = client_for(people["inspector"]).post(url, {"action": "fail"}, format="json")
    assert no_note.status_code == 400 and "note" in no_note.json()
    ok = client_for(people["inspector"]).post(
        url, {"action": "fail", "note": "仍未整改到位"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["status"] == "rectifying"
    hazard.refresh_from_db()
    assert hazard.rectified_by is None  # the next rectification is recorded afresh


def test_an_illegal_step_is_409_naming_what_is_allowed(people):
    hazard = hazard_in(people["_cell"], status="found")
    response = client_for(people["leader"]).post(
        f"{URL}{hazard.pk}/transitions/", {"action": "pass"}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "found"
    assert set(body["allowed"]) == {
        "report",
        "fix_on_spot",
        "reject",
        "mark_duplicate",
        "supervise",
    }
    assert "report" in body["detail"]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"action": "nope"}, "action"),
        ({}, "action"),
        ({"action": "assign", "assignee": "w-own"}, "responsible_unit"),
        ({"action": "assign", "responsible_unit": "x", "assignee": "ghost"}, "assignee"),
        (
            {
                "action": "assign",
                "responsible_unit": "x",
                "assignee": "w-own",
                "deadline": "2026-02-30",
            },
            "deadline",
        ),
        (
            {
                "action": "assign",
                "responsible_unit": "x",
                "assignee": "w-own",
                "deadline": "2026-10-01",
            },
            "deadline",
        ),
        (
            {"action": "assign", "responsible_unit": "a\x00b", "assignee": "w-own"},
            "responsible_unit",
        ),
    ],
)
def test_bad_step_inputs_are_400_naming_the_field_and_change_nothing(people, body, field):
    hazard = hazard_in(people["_cell"], status="reported")
    response = client_for(people["leader"]).post(
        f"{URL}{hazard.pk}/transitions/", body, format="json"
    )
    assert response.status_code == 400 and field in response.json(), response.content
    hazard.refresh_from_db()
    assert hazard.status == "reported" and hazard.version == 1
    assert not HazardEvent.objects.filter(hazard=hazard).exists()


def test_a_stale_version_is_412(people):
    hazard = hazard_in(people["_cell"], status="found")
    response = client_for(people["worker"]).post(
        f"{URL}{hazard.pk}/transitions/",
        {"action": "report"},
        format="json",
        HTTP_IF_MATCH='"7"',
    )
    assert response.status_code == 412
    hazard.refresh_from_db()
    assert hazard.status == "found"


def test_status_and_who_are_not_writable_as_fields(people):
    hazard = hazard_in(people["_cell"], status="found")
    client = client_for(people["leader"])
    for name, value in (
        ("status", "closed"),
        ("reporter", "planner-x"),
        ("deadline", "2027-01-01"),
        ("assignee", "w-own"),
    ):
        response = client.patch(
            f"{URL}{hazard.pk}/",
            {"properties": {name: value, "version": hazard.version}},
            format="json",
        )
        assert response.status_code == 400 and name in response.json(), (name, response.content)
    hazard.refresh_from_db()
    assert hazard.status == "found" and hazard.version == 1


def test_the_reporter_is_the_signed_in_user_never_the_client(people):
    point = people["_cell"].geom.point_on_surface
    feature = {
        "type": "Feature",
        "geometry": json.loads(point.geojson),
        "properties": {"name": "x", "category": "gas", "level": "general", "reporter": "leader"},
    }
    response = client_for(people["worker"]).post(URL, feature, format="json")
    assert response.status_code == 400 and "reporter" in response.json()


def test_a_grid_worker_reports_only_in_their_own_grid(people):
    outside = GridCell.objects.exclude(pk=people["_cell"].pk).filter(worker=None).first()
    before = SafetyHazard.all_objects.count()
    for cell, expected in ((outside, 403), (people["_cell"], 201)):
        feature = {
            "type": "Feature",
            "geometry": json.loads(cell.geom.point_on_surface.geojson),
            "properties": {"name": "燃气", "category": "gas", "level": "general"},
        }
        response = client_for(people["worker"]).post(URL, feature, format="json")
        assert response.status_code == expected, response.content
    assert SafetyHazard.all_objects.count() == before + 1  # the refused one left nothing


def test_a_grid_worker_edits_only_their_grid_or_their_assignments(people):
    own = hazard_in(people["_cell"])
    elsewhere_cell = GridCell.objects.exclude(pk=people["_cell"].pk).first()
    elsewhere = hazard_in(elsewhere_cell)
    assigned_elsewhere = hazard_in(elsewhere_cell, assignee=people["worker"], status="assigned")
    client = client_for(people["worker"])

    def patch(hazard):
        return client.patch(
            f"{URL}{hazard.pk}/",
            {"properties": {"description": "补充说明", "version": hazard.version}},
            format="json",
        ).status_code

    assert patch(own) == 200
    assert patch(elsewhere) == 403
    assert patch(assigned_elsewhere) == 200
    start = client.post(
        f"{URL}{assigned_elsewhere.pk}/transitions/", {"action": "start"}, format="json"
    )
    assert start.status_code == 200
    report = client.post(f"{URL}{elsewhere.pk}/transitions/", {"action": "report"}, format="json")
    assert report.status_code == 403
    # Moving their own hazard out of their grid is refused and rolled back.
    own.refresh_from_db()
    moved = client.patch(
        f"{URL}{own.pk}/",
        {
            "geometry": json.loads(elsewhere_cell.geom.point_on_surface.geojson),
            "properties": {"version": own.version},
        },
        format="json",
    )
    assert moved.status_code == 403
    assert SafetyHazard.objects.get(pk=own.pk).geom.equals_exact(own.geom, 1e-9)


# --- deadlines and overdue --------------------------------------------------------------------


def test_default_deadlines_come_from_the_time_limits_in_working_days(people, settings):
    """Dispatched on Tuesday 2026-09-29, a general blocked escape route (3 working days) is due
    on 2026-10-09: the Mid-Autumn/National Day holiday (10-01 to 10-07) does not count; a
    major one 20 working days later; an editor's change of the table changes the default."""
    from layers.domain import workdays
    from layers.domain.models import TimeLimit

    settings.SERVICE_TODAY = "2026-09-29"
    found = dt.datetime(2026, 9, 28, 9, tzinfo=dt.UTC)
    expected = {"general": dt.date(2026, 10, 9), "major": workdays.add(dt.date(2026, 9, 29), 20)}
    for level in ("general", "major"):
        hazard = hazard_in(people["_cell"], status="reported", level=level, found_at=found)
        response = client_for(people["leader"]).post(
            f"{URL}{hazard.pk}/transitions/",
            {"action": "assign", "responsible_unit": "物业", "assignee": "w-own"},
            format="json",
        )
        assert response.status_code == 200, response.content
        hazard.refresh_from_db()
        assert hazard.deadline == expected[level]
        assert hazard.due_date == hazard.deadline
    TimeLimit.objects.filter(category="escape_route", level="general").update(rectify_days=1)
    hazard = hazard_in(people["_cell"], status="reported", level="general", found_at=found)
    workflow.perform(
        hazard.pk, "assign", people["leader"], {"responsible_unit": "物业", "assignee": "w-own"}
    )
    hazard.refresh_from_db()
    assert hazard.deadline == dt.date(2026, 9, 30)


@pytest.mark.parametrize(
    "deadline,state,overdue",
    [
        (dt.date(2026, 12, 9), "rectifying", True),  # yesterday
        (dt.date(2026, 12, 10), "rectifying", False),  # today: still in time
        (dt.date(2026, 12, 11), "rectifying", False),
        (dt.date(2026, 12, 9), "closed", False),
        (dt.date(2026, 12, 9), "rejected", False),
        (None, "rectifying", False),
    ],
)
def test_overdue_at_its_boundaries(people, deadline, state, overdue):
    # 23:30 in Shanghai on the 10th is 15:30 UTC: "today" is the local date.
    with time_machine.travel(dt.datetime(2026, 12, 10, 15, 30, tzinfo=dt.UTC), tick=False):
        hazard = hazard_in(people["_cell"], status=state, deadline=deadline)
        assert hazard.is_overdue is overdue
        in_sql = SafetyHazard.objects.filter(SafetyHazard.overdue_q(), pk=hazard.pk).exists()
        assert in_sql is overdue
        listed = client_for(people["leader"]).get(URL, {"overdue": "true", "page_size": 1000})
        ids = {f["id"] for f in listed.json()["features"]}
        assert (hazard.pk in ids) is overdue


def test_overdue_report_command(people, capsys):
    with time_machine.travel(dt.datetime(2026, 12, 10, 4, tzinfo=dt.UTC), tick=False):
        late = hazard_in(people["_cell"], status="rectifying", deadline=dt.date(2026, 12, 1))
        late.ref = "HZ-LATE"
        resave(late)
        expected = SafetyHazard.objects.filter(SafetyHazard.overdue_q()).count()
        call_command("overdue_report", "--format", "csv")
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == expected + 1
        row = next(line for line in lines if line.startswith("HZ-LATE"))
        assert ",9," in row  # nine days overdue
        call_command("overdue_report", "--grid", people["_cell"].code)
        assert "HZ-LATE" in capsys.readouterr().out


def test_extension_request_and_approval(people):
    hazard = hazard_in(
        people["_cell"],
        status="rectifying",
        deadline=dt.date(2026, 12, 20),
        assignee=people["worker"],
    )
    url = f"{URL}{hazard.pk}/transitions/"
    worker, leader = client_for(people["worker"]), client_for(people["leader"])
    too_early = worker.post(
        url, {"action": "request_extension", "until": "2026-12-19", "note": "x"}, format="json"
    )
    assert too_early.status_code == 400 and "until" in too_early.json()
    nothing_pending = leader.post(
        url, {"action": "decide_extension", "approve": True}, format="json"
    )
    assert nothing_pending.status_code == 409
    asked = worker.post(
        url,
        {"action": "request_extension", "until": "2027-01-31", "note": "材料未到"},
        format="json",
    )
    assert asked.status_code == 200
    assert any(a["action"] == "decide_extension" for a in leader.get(url).json()["allowed"])
    approved = leader.post(url, {"action": "decide_extension", "approve": True}, format="json")
    assert approved.status_code == 200
    hazard.refresh_from_db()
    assert hazard.deadline == dt.date(2027, 1, 31) and hazard.extension_until is None


def test_formal_supervision_is_for_major_hazards(people):
    leader = client_for(people["leader"])
    general = hazard_in(people["_cell"], status="assigned", deadline=dt.date(2027, 1, 1))
    body = {"action": "supervise", "on": True}
    refused = leader.post(f"{URL}{general.pk}/transitions/", body, format="json")
    assert refused.status_code == 400 and "on" in refused.json()
    major = hazard_in(
        people["_cell"], status="assigned", level="major", deadline=dt.date(2027, 1, 1)
    )
    ok = leader.post(f"{URL}{major.pk}/transitions/", body, format="json")
    assert ok.status_code == 200
    major.refresh_from_db()
    assert major.supervised


# --- photos -------------------------------------------------------------------------------


def upload(client, hazard, name, data, content_type="image/jpeg"):
    return client.post(
        f"{URL}{hazard.pk}/photos/",
        {"image": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart",
    )


@pytest.mark.parametrize(
    "name,data",
    [
        ("fake.jpg", b"GIF89a not really a jpeg at all" * 10),
        ("script.jpg", b"<?php system($_GET['c']); ?>"),
        ("photo.gif", None),  # a real GIF: not an accepted format
        ("photo.exe", None),
        ("half.jpg", "truncated"),
    ],
)
def test_a_file_that_is_not_a_usable_photo_is_refused(people, name, data):
    hazard = hazard_in(people["_cell"])
    if data is None:
        out = io.BytesIO()
        Image.new("RGB", (10, 10)).save(out, "GIF")
        data = out.getvalue()
    elif data == "truncated":
        data = jpeg()[:400]
    response = upload(client_for(people["worker"]), hazard, name, data)
    assert response.status_code == 400 and "image" in response.json(), response.content
    assert not HazardPhoto.objects.filter(hazard=hazard).exists()


def test_gps_exif_suggests_the_place_and_all_metadata_is_stripped(people):
    hazard = hazard_in(people["_cell"])
    response = upload(client_for(people["worker"]), hazard, "p.jpg", jpeg(gps=(119.9475, 31.7835)))
    assert response.status_code == 201, response.content
    lon, lat = response.json()["suggested_location"]
    assert abs(lon - 119.9475) < 1e-5 and abs(lat - 31.7835) < 1e-5
    photo = HazardPhoto.objects.get(pk=response.json()["id"])
    with Image.open(photo.image.path) as stored:
        assert stored.format == "JPEG" and len(stored.getexif()) == 0
        assert "exif" not in stored.info
    with Image.open(photo.thumbnail.path) as thumb:
        assert max(thumb.size) <= 320


def test_png_and_heic_are_accepted(people):
    try:
        import pillow_heif
    except ImportError:
        missing_tool("pillow_heif (requirements.txt) is not installed")
    hazard = hazard_in(people["_cell"])
    client = client_for(people["worker"])
    assert upload(client, hazard, "p.png", jpeg(fmt="PNG"), "image/png").status_code == 201
    heic = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (64, 48), (0, 90, 0))).save(heic, quality=60)
    response = upload(client, hazard, "p.heic", heic.getvalue(), "image/heic")
    assert response.status_code == 201, response.content


def test_photos_are_served_only_to_roles_that_read_hazards(people, client):
    hazard = hazard_in(people["_cell"])
    photo = stored_photo(hazard, people["worker"])
    url = workflow.photo_urls(photo)["thumbnail"]
    assert client.get(url).status_code == 404  # anonymous
    client.force_login(make_user("nobody", None))
    assert client.get(url).status_code == 404  # no role
    client.force_login(people["planner"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    # Not reachable through the public media URL either.
    assert client.get("/media/" + photo.image.name).status_code == 404


# --- duplicates ---------------------------------------------------------------------------


def moved(point, metres: float, azimuth: float = 0.0):
    lon, lat, _ = Geod(ellps="WGS84").fwd(point.x, point.y, azimuth, metres)
    return lon, lat


@pytest.mark.parametrize("metres,found", [(19, True), (21, False)])
def test_duplicates_within_20_metres(people, metres, found):
    base = people["_cell"].geom.point_on_surface
    existing = hazard_in(people["_cell"], category="gas", status="assigned", geom=base)
    hazard_in(people["_cell"], category="wiring", geom=base)  # another category: never listed
    lon, lat = moved(base, metres, azimuth=60)
    response = client_for(people["worker"]).get(
        f"{URL}duplicates/", {"lon": lon, "lat": lat, "category": "gas"}
    )
    assert response.status_code == 200
    ids = [h["id"] for h in response.json()["hazards"]]
    assert (existing.pk in ids) is found
    if found:
        assert abs(response.json()["hazards"][0]["distance_m"] - metres) < 0.2


@pytest.mark.parametrize(
    "params,field",
    [
        ({"lat": "31.78", "category": "gas"}, "lon"),
        ({"lon": "nan", "lat": "31.78", "category": "gas"}, "lon"),
        ({"lon": "119.9", "lat": "31.78", "category": "gas", "radius": "1e9"}, "radius"),
        ({"lon": "119.9", "lat": "31.78", "category": "bogus"}, "category"),
        ({"lon": "119.9", "lat": "31.78", "category": "gas", "x": "1"}, "x"),
    ],
)
def test_duplicate_search_parameters_are_checked(people, params, field):
    response = client_for(people["worker"]).get(f"{URL}duplicates/", params)
    assert response.status_code == 400 and field in response.json()


def test_marking_a_duplicate_links_and_closes_it(people):
    original = hazard_in(people["_cell"], category="gas", status="assigned")
    repeat = hazard_in(people["_cell"], category="gas", status="found")
    response = client_for(people["worker"]).post(
        f"{URL}{repeat.pk}/transitions/",
        {"action": "mark_duplicate", "duplicate_of": original.pk},
        format="json",
    )
    assert response.status_code == 200
    repeat.refresh_from_db()
    assert repeat.status == "rejected" and repeat.duplicate_of == original
    assert repeat.reject_reason == "duplicate" and repeat.closed_at is not None
    assert list(original.duplicates.all()) == [repeat]


def test_fixing_on_the_spot_needs_a_photo_and_a_general_hazard(people):
    hazard = hazard_in(people["_cell"], status="found")
    url = f"{URL}{hazard.pk}/transitions/"
    client = client_for(people["worker"])
    no_photo = client.post(url, {"action": "fix_on_spot"}, format="json")
    assert no_photo.status_code == 400 and "photos" in no_photo.json()
    someone_elses = stored_photo(hazard, people["inspector"])
    taken = client.post(url, {"action": "fix_on_spot", "photos": [someone_elses.pk]}, format="json")
    assert taken.status_code == 400
    mine = stored_photo(hazard, people["worker"])
    done = client.post(url, {"action": "fix_on_spot", "photos": [mine.pk]}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "closed"
    major = hazard_in(people["_cell"], status="found", level="major")
    photo = stored_photo(major, people["worker"])
    refused = client.post(
        f"{URL}{major.pk}/transitions/",
        {"action": "fix_on_spot", "photos": [photo.pk]},
        format="json",
    )
    assert refused.status_code == 409


def test_reporting_answers_the_possible_duplicates(people):
    base = people["_cell"].geom.point_on_surface
    existing = hazard_in(people["_cell"], category="gas", status="assigned", geom=base)
    lon, lat = moved(base, 12)
    new = hazard_in(people["_cell"], category="gas", status="found")
    new.geom = type(base)(lon, lat, srid=4326)
    resave(new)
    response = client_for(people["worker"]).post(
        f"{URL}{new.pk}/transitions/", {"action": "report"}, format="json"
    )
    assert response.status_code == 200
    found = response.json()["possible_duplicates"]
    assert [h["id"] for h in found] == [existing.pk]
    assert abs(found[0]["distance_m"] - 12) < 0.2
