"""The print journey in Chromium: a planner signs in through the form, clicks "print" on the
planning map, watches the job's progress bar and downloads the PDF a real worker rendered."""

from __future__ import annotations

import subprocess

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_print"),  # module-scoped browser, servers
]


def test_a_planner_prints_the_planning_map(job_visit, tmp_path):
    tab = job_visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    tab.page.click("#hh-print-box > summary")
    tab.page.select_option("#hh-print select[name=paper]", "A4")
    with tab.page.expect_navigation():
        tab.page.click("#hh-print-submit")
    assert "/jobs/" in tab.page.url
    bar = tab.page.locator("#hh-job-progress")
    assert bar.is_visible()
    tab.page.wait_for_selector('#hh-job-status[data-status="succeeded"]', timeout=120000)
    assert tab.page.evaluate("document.getElementById('hh-job-progress').value") == 100
    assert tab.page.locator("#hh-job-output").is_visible()
    assert "改造项目" in tab.page.inner_text("#hh-job-lines")  # in words, the JSON folded
    with tab.page.expect_download() as caught:
        tab.page.click("#hh-job-output")
    path = tmp_path / "map.pdf"
    caught.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "规划项目图" in text and "改造项目" in text and "图例" in text
    tab.screenshot("print-job")
    assert not tab.errors, tab.errors


def test_a_planner_prints_a_community_chosen_by_name(job_visit, tmp_path):
    """The print form's area: 荷花池社区 chosen by its name; the sheet is titled by the page and
    the area, draws the street names, and the download is named after them."""
    from layers.domain.models import Community, Street

    community = Community.objects.get(name="荷花池社区")
    streets = set(
        Street.objects.filter(geom__intersects=community.geom).values_list("name", flat=True)
    )
    tab = job_visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    page = tab.page
    page.click("#hh-print-box > summary")
    for control in page.locator("#hh-print select, #hh-print input[type=text]").all():
        label = page.locator(f'label[for="{control.get_attribute("id")}"]')
        assert label.is_visible() and label.inner_text().strip()
    page.select_option("#hh-print-area", label="荷花池社区")
    with page.expect_navigation():
        page.click("#hh-print-submit")
    page.wait_for_selector('#hh-job-status[data-status="succeeded"]', timeout=120000)
    lines = page.inner_text("#hh-job-lines")
    assert "荷花池社区" in lines
    assert not page.locator("#hh-job-report").is_visible()  # the JSON stays folded
    with page.expect_download() as caught:
        page.click("#hh-job-output")
    download = caught.value
    assert download.suggested_filename.startswith("规划项目图-荷花池社区-")
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / "community.pdf"
    download.save_as(path)
    text = subprocess.run(
        ["pdftotext", "-raw", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "荷花池社区" in text
    assert any(name in text for name in streets), (streets, text[:500])
    assert not tab.errors, tab.errors
