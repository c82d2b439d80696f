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
    tab.page.select_option("#hh-print select[name=paper]", "A4")
    with tab.page.expect_navigation():
        tab.page.click("#hh-print-submit")
    assert "/jobs/" in tab.page.url
    bar = tab.page.locator("#hh-job-progress")
    assert bar.is_visible()
    tab.page.wait_for_selector('#hh-job-status[data-status="succeeded"]', timeout=120000)
    assert tab.page.evaluate("document.getElementById('hh-job-progress').value") == 100
    assert tab.page.locator("#hh-job-output").is_visible()
    assert "改造项目" in tab.page.inner_text("#hh-job-report")
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
