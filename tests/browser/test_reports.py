"""随手拍 end to end on a phone-sized Chromium, against the real gunicorn server (production
settings) with a real SMTP server (aiosmtpd) beside it:

a resident reports anonymously with a 4000×3000 photo (made smaller on the phone, stored
without any metadata) and gets a code; an editor signs in through the form and accepts it; the
hazard runs through its lifecycle (steps through the API as the sample users); the status page
shows each step and the reporter gets an email; the reporter says "not fixed" and the hazard
goes back to re-inspection; it closes again, the reporter rates it, and the grid cell's
satisfaction rate moves. A second test: the sixth report in an hour from one address is 429,
and the status page reveals nothing of the hazard's full record.

The server commits what the browsers do; the module fixture removes it afterwards.
"""

from __future__ import annotations

import json
import re

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from layers.domain import models
from layers.services import reports
from tests.browser.conftest import ARTIFACTS, _tabs
from tests.browser.test_basemap_and_stops import AXE, axe_violations
from tests.conftest import start_server
from tests.report_helpers import metadata_segments, new_files_removed, phone_jpeg, smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PHONE = {"width": 390, "height": 844}
CELL = "HHC-01-02"  # grid-02's cell
EMAIL = "resident@example.org"


@pytest.fixture(scope="module")
def report_app(django_db_setup, django_db_blocker):
    """The server with SMTP configured, one worker (the limits count in its memory) and one
    trusted proxy (each test speaks from its own address through X-Forwarded-For)."""
    from django.conf import settings

    with smtp_server() as (inbox, port), new_files_removed(settings.PRIVATE_MEDIA_ROOT):
        server = start_server(
            django_db_blocker,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(port),
            WEB_WORKERS="1",
            NUM_PROXIES="1",
            # The journey is quicker than a person; the fill time is tested in-process.
            REPORT_MIN_FILL_SECONDS="0",
            THROTTLE_ANON_API="",
        )
        base = next(server)
        with django_db_blocker.unblock():  # committed: the server must see them
            keys = {
                name: models.ApiToken.issue(
                    get_user_model().objects.get(username=name), "report journey"
                )[1]
                for name in ("demo-editor", "grid-02", "demo-inspector")
            }
            # This fixture may run in another context (greenlet) than the tests: its own
            # connection is closed, or the test database could not be dropped at the end.
            connection.close()
        try:
            yield base, inbox, keys
        finally:
            for _ in server:  # stops the server, waits for its connections to close
                pass
            with django_db_blocker.unblock():
                _remove_what_the_server_made()
                connection.close()


def _remove_what_the_server_made():
    hazards = list(
        models.PublicReport.objects.filter(hazard__isnull=False).values_list("hazard", flat=True)
    )
    models.PublicReport.objects.all().delete()
    models.SafetyHazard.all_objects.filter(pk__in=hazards).delete()
    models.SafetyHazard.history.filter(id__in=hazards).delete()
    models.ApiToken.objects.filter(name="report journey").delete()
    get_user_model().objects.filter(username="public-report").delete()


@pytest.fixture
def tab(browser, report_app):
    make, opened = _tabs(browser, report_app[0])
    yield make
    for t in opened:
        t.close()


class Api:
    """The REST API as a sample user, with their own token (as a field app would)."""

    def __init__(self, app, username: str):
        base, _inbox, keys = app
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Token {keys[username]}"

    def step(self, pk: int, action: str, **body):
        response = self.session.post(
            f"{self.base}/api/v1/hazards/{pk}/transitions/", json={"action": action, **body}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def photo(self, pk: int) -> int:
        files = {"image": ("fixed.jpg", phone_jpeg((1200, 900)), "image/jpeg")}
        response = self.session.post(f"{self.base}/api/v1/hazards/{pk}/photos/", files=files)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def get(self, path: str):
        response = self.session.get(f"{self.base}{path}")
        assert response.status_code == 200, response.text
        return response.json()


def place() -> tuple[float, float]:
    p = models.GridCell.objects.get(code=CELL).geom.point_on_surface
    return p.x, p.y


def status_steps(page) -> list[str]:
    return page.eval_on_selector_all("#hh-steps li", "items => items.map(i => i.dataset.status)")


def satisfaction_on_the_dashboard(t) -> tuple[int, int, str]:
    """The rates by grid cell on the leader's dashboard: the grid cell's ratings, satisfied
    ratings and satisfaction rate as shown (0, 0 and "—" while the cell has no row)."""
    assert t.open("/dashboard/?by=grid").status == 200
    row = t.page.locator(f'#hh-rates-table tr[data-key="{CELL}"]')
    if row.count() == 0:
        return 0, 0, "—"
    cell = lambda name: row.locator(f'td[data-col="{name}"]').inner_text().strip()  # noqa: E731
    return int(cell("rated")), int(cell("satisfied")), cell("satisfaction_rate")


def send_report(t, lon, lat, category="ebike"):
    """On the report page: category, the map, my location, description, photo, contact."""
    page = t.page
    assert t.open("/report/").status == 200
    page.wait_for_function("window.hehuachiReport && window.hehuachiReport.ready")
    # The offline basemap (streets, water, landmarks) is drawn under the map.
    page.wait_for_function("window.hehuachi.allReady() && window.hehuachi.counts.streets > 0")
    page.check(f'input[name=category][value="{category}"]')
    # A tap on the map sets the place; then "use where I am" moves it to the phone's position.
    page.locator("#hh-report-map").click(position={"x": 150, "y": 120})
    assert page.input_value("#hh-lon") != ""
    t.context.set_geolocation({"longitude": lon, "latitude": lat})
    page.click("#hh-locate")
    page.wait_for_function(
        f"Math.abs(window.hehuachiReport.point.lon - {lon}) < 1e-6"
        f" && Math.abs(window.hehuachiReport.point.lat - {lat}) < 1e-6"
    )
    page.fill("#hh-description", "3号楼2单元楼道里停了4辆电动车，有一辆在飞线充电")
    page.set_input_files(
        "#hh-photos",
        files=[{"name": "IMG_0001.JPG", "mimeType": "image/jpeg", "buffer": phone_jpeg()}],
    )
    page.wait_for_function("window.hehuachiReport.photos.length === 1", timeout=60000)
    page.fill("#hh-contact", EMAIL)
    page.wait_for_function("window.hehuachi.allReady()")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-form-phone.png"), full_page=True)


def test_a_resident_reports_follows_it_to_the_end_and_rates_it(tab, report_app):
    base, inbox, _keys = report_app
    lon, lat = place()
    known = reports.nearby("ebike", lon, lat)

    # 1. The resident, on a phone, no account.
    resident = tab(None, viewport=PHONE, permissions=["geolocation"], is_mobile=True,
                   has_touch=True)  # fmt: skip
    page = resident.page
    send_report(resident, lon, lat)
    page.click("#hh-submit")
    if known:  # already reported nearby: shown with the public status only, then sent anyway
        page.locator("#hh-known").wait_for()
        assert page.locator("#hh-known-list li").count() == len(known)
        page.click("#hh-different")
    page.locator("#hh-sent").wait_for()
    code = page.inner_text("#hh-code").strip()
    sizes = page.evaluate("window.hehuachiReport.sentSizes")
    assert len(sizes) == 1 and sizes[0] <= 500 * 1024
    page.wait_for_function(
        "document.getElementById('hh-qr').complete"
        " && document.getElementById('hh-qr').naturalWidth > 0"
    )
    assert page.get_attribute("#hh-status-link", "href") == f"/report/{code}/"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    resident.screenshot("report-sent-phone")

    report = models.PublicReport.objects.get(code=code)
    stored = report.photos.get()
    assert stored.width <= 1600 and (stored.width, stored.height) == (1600, 1200)
    assert metadata_segments(stored.image.read()) == []
    assert report.grid_cell.code == CELL and report.contact.email == EMAIL

    # 2. The status page says "received" and when the answer is due.
    assert resident.open(f"/report/{code}/").status == 200
    assert status_steps(page) == ["received"]
    assert page.locator("#hh-promised").is_visible()

    # 3. An editor signs in through the form; the leader reads the grid cell's satisfaction on
    # the dashboard's rates (as it stands before this report), then accepts the report from
    # the intake page.
    editor = tab("demo-editor")
    rated_before, satisfied_before, _rate = satisfaction_on_the_dashboard(editor)
    editor.open("/")
    editor.page.locator('[data-card="report-intake"] a').click()
    entry = editor.page.locator(f'li[data-code="{code}"]')
    entry.wait_for()
    assert EMAIL in entry.inner_text()  # editors read the contact
    with editor.page.expect_navigation():
        entry.locator('form[data-action="accept"] button').click()
    report.refresh_from_db()
    hazard_pk = report.hazard_id
    assert hazard_pk and models.SafetyHazard.objects.get(pk=hazard_pk).status == "reported"

    # 4. The hazard runs through its lifecycle, steps through the API as the sample users.
    leader = Api(report_app, "demo-editor")
    worker = Api(report_app, "grid-02")
    inspector = Api(report_app, "demo-inspector")
    leader.step(hazard_pk, "assign", responsible_unit="北大街物业", assignee="grid-02")
    resident.open(f"/report/{code}/")
    assert status_steps(page) == ["received", "accepted", "handling"]
    assert page.locator("#hh-promised").is_visible()  # the fix deadline
    worker.step(hazard_pk, "start")
    worker.step(hazard_pk, "rectify", note="已清理楼道，拆除飞线")
    inspector.step(hazard_pk, "pass", photos=[inspector.photo(hazard_pk)], note="复查合格")

    # 5. The status page shows each step with its time, and the closing photo.
    resident.context.add_init_script(path=str(AXE))
    resident.open(f"/report/{code}/")
    assert status_steps(page) == ["received", "accepted", "handling", "fixed"]
    assert page.locator("#hh-steps time").count() == 4
    page.wait_for_function(
        "[...document.querySelectorAll('#hh-closing img')]"
        ".every(i => i.complete && i.naturalWidth > 0) && document.querySelector('#hh-closing img')"
    )
    resident.screenshot("report-fixed-phone")
    found = axe_violations(page)  # the page with its feedback forms
    assert not found, json.dumps(found, ensure_ascii=False)
    mails = inbox.to(EMAIL)
    assert any("已解决" in m["Subject"] and code in m["Subject"] for m in mails), [
        m["Subject"] for m in mails
    ]

    # 6. "Not fixed", with a photo: back to re-inspection, on the hazard's timeline.
    page.click("#hh-not-fixed summary")
    page.fill("#hh-nf-note", "车又停回楼道里了")
    upright = phone_jpeg((3000, 4000))
    page.set_input_files(
        "#hh-nf-photo",
        files=[{"name": "IMG_0002.JPG", "mimeType": "image/jpeg", "buffer": upright}],
    )
    with page.expect_navigation(timeout=60000):
        page.click("#hh-nf-send")
    assert status_steps(page)[-2:] == ["fixed", "handling"]
    hazard = models.SafetyHazard.objects.get(pk=hazard_pk)
    assert hazard.status == "reinspection"
    timeline = leader.get(f"/api/v1/hazards/{hazard_pk}/timeline/")["events"]
    reopen = [e for e in timeline if e["action"] == "reopen"]
    assert len(reopen) == 1 and code in reopen[0]["note"] and len(reopen[0]["photos"]) == 1

    # 7. Closed again; the reporter rates it; the grid cell's satisfaction rate moves.
    inspector.step(hazard_pk, "pass", note="再次复查合格")
    resident.open(f"/report/{code}/")
    assert status_steps(page)[-1] == "fixed"
    page.check('#hh-rate-form input[name=rating][value="4"]')
    with page.expect_navigation():
        page.click("#hh-rate-send")
    assert page.locator("#hh-rated").is_visible()
    # The leader reads it where the other rates are: one more rating in the grid cell, and a
    # satisfaction rate that counts it (4 of 5 is satisfied).
    rated, satisfied, rate = satisfaction_on_the_dashboard(editor)
    assert (rated, satisfied) == (rated_before + 1, satisfied_before + 1)
    assert rate == f"{satisfied / rated * 100:.0f}%"
    editor.screenshot("report-satisfaction-dashboard")
    assert resident.errors == [] and editor.errors == []
    # Nothing left the service's own origin.
    assert all(url.startswith((base, "data:", "blob:")) for url in resident.requests)


def _strings(value) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) and len(value) >= 2 else set()


def test_a_sixth_report_is_429_and_the_status_page_reveals_no_internal_field(tab, report_app):
    base = report_app[0]
    lon, lat = place()
    visitor = tab(None, viewport=PHONE, permissions=["geolocation"])
    api = visitor.context.request

    def send(n: int):
        return api.post(
            f"{base}/api/v1/reports/",
            headers={"X-Forwarded-For": "203.0.113.66", "Accept": "application/json"},
            multipart={"category": "gas", "description": f"燃气瓶放在楼道里 {n}",
                       "lon": str(lon), "lat": str(lat), "contact": "13600000006"},
        )  # fmt: skip

    answers = [send(n) for n in range(6)]
    assert [a.status for a in answers] == [201] * 5 + [429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    code = answers[0].json()["code"]

    # Someone else on the page sees those five as "already reported" and says "me too".
    visitor.context.set_geolocation({"longitude": lon, "latitude": lat})
    assert visitor.open("/report/").status == 200
    page = visitor.page
    page.wait_for_function("window.hehuachiReport && window.hehuachiReport.ready")
    page.check('input[name=category][value="gas"]')
    page.click("#hh-locate")
    page.wait_for_function("window.hehuachiReport.point !== null")
    page.fill("#hh-description", "楼道里有液化气罐")
    page.click("#hh-submit")
    page.locator("#hh-known").wait_for()
    assert page.locator("#hh-known-list li").count() == 5
    assert "燃气瓶" not in page.inner_text("#hh-known")  # public status only
    page.locator("#hh-known-list .hh-metoo").first.click()
    page.locator("#hh-known-list .hh-ok").wait_for()
    assert page.locator("#hh-submit").is_hidden()
    assert models.ReportSupport.objects.count() == 1
    assert models.PublicReport.objects.filter(category="gas").count() == 5

    # Accepted by an editor, worked on with internal notes.
    editor = tab("demo-editor")
    editor.open("/reports/intake/")
    entry = editor.page.locator(f'li[data-code="{code}"]')
    entry.locator('form[data-action="accept"] input[name=name]').fill("内部：5号楼东侧燃气间")
    with editor.page.expect_navigation():
        entry.locator('form[data-action="accept"] button').click()
    pk = models.PublicReport.objects.get(code=code).hazard_id
    leader, worker = Api(report_app, "demo-editor"), Api(report_app, "grid-02")
    leader.step(pk, "assign", responsible_unit="常州港华燃气钟楼站", assignee="grid-02",
                note="内部：通知王站长")  # fmt: skip
    worker.step(pk, "start", note="联系了住户李先生 13500000000")

    # The hazard's full record, as staff read it.
    record = {
        "feature": leader.get(f"/api/v1/hazards/{pk}/"),
        "timeline": leader.get(f"/api/v1/hazards/{pk}/timeline/"),
        "history": leader.get(f"/api/v1/hazards/{pk}/history/"),
        "queue": leader.get("/api/v1/reports/?status=all"),
    }
    properties = record["feature"]["properties"]
    shared = {properties["category"], code, "gas"}  # the reporter's own words for it
    # Every value of the record but identifiers (vocabulary values, step names) and times.
    internal = {
        s
        for s in _strings(record)
        if s not in shared and not re.fullmatch(r"[a-z_]+", s) and not s.startswith("20")
    }
    for must in ("内部：5号楼东侧燃气间", "常州港华燃气钟楼站", "grid-02", "13600000006",
                 "联系了住户李先生 13500000000", CELL):  # fmt: skip
        assert must in internal, must
    visitor.open(f"/report/{code}/")
    page_text = visitor.page.content()
    api_text = api.get(f"{base}/api/v1/reports/{code}/").text()
    for text in (page_text, api_text):
        leaked = sorted(s for s in internal if len(s) >= 3 and s in text)
        assert leaked == [], leaked
    assert json.loads(api_text)["status"]["value"] == "handling"
    assert status_steps(visitor.page) == ["received", "accepted", "handling"]


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_the_report_pages_have_no_serious_axe_finding(browser, report_app, locale):
    base = report_app[0]
    # Chinese first (whatever the phone says); English through the header's switch.
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    context.add_init_script(path=str(AXE))
    try:
        page = context.new_page()
        if locale.startswith("en"):
            page.goto(base + "/report/")
            assert page.evaluate("document.documentElement.lang") == "zh-Hans"
            with page.expect_navigation():
                page.click("#hh-lang")
        assert page.goto(base + "/report/").status == 200
        expected = "en" if locale.startswith("en") else "zh-Hans"
        assert page.evaluate("document.documentElement.lang") == expected
        found = axe_violations(page)
        assert not found, json.dumps(found, ensure_ascii=False)
        lon, lat = place()
        sent = page.request.post(
            f"{base}/api/v1/reports/",
            headers={"X-Forwarded-For": f"203.0.113.{90 + len(locale)}"},
            multipart={"category": "wiring", "description": "电线裸露", "lon": str(lon),
                       "lat": str(lat)},
        )  # fmt: skip
        assert sent.status == 201
        assert page.goto(f"{base}/report/{sent.json()['code']}/").status == 200
        assert page.evaluate("document.documentElement.lang") == expected
        found = axe_violations(page)
        assert not found, json.dumps(found, ensure_ascii=False)
    finally:
        context.close()
