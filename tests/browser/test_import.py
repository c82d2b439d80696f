"""An editor uploads a zipped shapefile on /import/, sees the mapping, starts the import, lands
on the job's page where a real worker runs it (progress bar, then the report), and finds the
features on the planning map (Chromium, signed in through the form)."""

from __future__ import annotations

import pytest

from tests import io_files as f

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db,
    pytest.mark.xdist_group("browser/test_import"),  # module-scoped browser, servers
]

PREFIX = "BR"
NAMES_ON_MAP = """() => {
  const names = [];
  const walk = (layer) => {
    if (layer.feature) names.push(layer.feature.properties.name);
    else if (layer.eachLayer) layer.eachLayer(walk);
  };
  walk(window.hehuachi.layers['service-points'].target.holder);
  return names;
}"""


@pytest.fixture
def imported_rows_removed():
    """The live server commits the import into the shared test database; this test's own
    transaction is rolled back, so the rows are removed on a connection of their own."""
    yield
    import psycopg
    from django.db import connection

    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"], host=db["HOST"],
        port=db["PORT"] or 5432, autocommit=True,
    ) as own:  # fmt: skip
        pattern = [f"{PREFIX}-%"]
        own.execute("DELETE FROM layers_historicalservicepoint WHERE ref LIKE %s", pattern)
        own.execute("DELETE FROM layers_servicepoint WHERE ref LIKE %s", pattern)


def test_editor_imports_a_shapefile_and_finds_it_on_the_map(
    job_visit, tmp_path, imported_rows_removed
):
    rows = f.service_rows(3, PREFIX)
    archive = f.write(f.frame(rows, f.points(3), key=4549), tmp_path / "survey.zip")
    tab = job_visit("demo-editor")
    page = tab.page
    with page.expect_navigation():
        page.click('a[href="/import/"]')  # the card on the editor's home page
    page.select_option("#id_layer", "service-points")
    page.set_input_files("#id_file", str(archive))
    with page.expect_navigation():
        page.click("#hh-import-upload")
    mapping = page.locator("#hh-import-mapping")
    assert mapping.is_visible()
    assert "EPSG:4549" in page.inner_text("#hh-import-run")
    # The editor leaves the phone number out: that column is set to "ignore".
    phone = page.locator('select[data-column="phone"]')
    assert phone.input_value() == "phone"
    phone.select_option("")
    assert (
        page.locator('select[data-column="名称"], select[data-column="name"]').input_value()
        == "name"
    )
    tab.screenshot("import-mapping")
    with page.expect_navigation():
        page.click("#hh-import-start")
    assert "/jobs/" in page.url
    assert page.locator("#hh-job-progress").is_visible()
    page.wait_for_selector('#hh-job-status[data-status="succeeded"]', timeout=120000)
    assert page.evaluate("document.getElementById('hh-job-progress').value") == 100
    assert page.inner_text("#hh-job-percent") == "100%"
    assert page.inner_text('#hh-job-rows [data-row="read"]') == "3"
    assert page.inner_text('#hh-job-rows [data-row="written"]') == "3"
    assert page.inner_text('#hh-job-rows [data-row="refused"]') == "0"
    lines = page.locator("#hh-job-lines li").all_inner_texts()
    assert lines[0] == "service-points <- survey.zip (append)"
    assert any(line.startswith("CRS EPSG:4549") for line in lines)
    assert "rows read 3, written 3 (created 3, updated 0), refused 0" in lines
    assert not page.locator("#hh-job-error").is_visible()
    tab.screenshot("import-report")

    # The rows it wrote: the list filtered to them, and the map zoomed to them.
    job_url = page.url
    links = page.locator("#hh-job-links a")
    assert links.count() >= 2
    with page.expect_navigation():
        page.click('#hh-job-links a[data-kind="list"]')
    assert "/admin/layers/servicepoint/?import_job=" in page.url
    listed = page.locator("#result_list tbody tr").all_inner_texts()
    assert len(listed) == 3 and all(any(r["name"] in row for r in rows) for row in listed)
    page.goto(job_url)
    with page.expect_navigation():
        page.click('#hh-job-links a[data-kind="map"][href^="/maps/planning/"]')
    assert "/maps/planning/?fit=" in page.url
    tab.wait_ready()
    # The layer (off by default on this map) is on, and the map shows all of the new rows,
    # closer than its usual view.
    assert page.evaluate(
        "window.hehuachi.map.hasLayer(window.hehuachi.layers['service-points'].target.holder)"
    )
    names = page.evaluate(NAMES_ON_MAP)
    assert {r["name"] for r in rows} <= set(names)
    from layers.domain import models as m

    inside = page.evaluate(
        "(points) => points.every(([x, y]) => window.hehuachi.map.getBounds().contains([y, x]))",
        [list(p.geom.coords) for p in m.ServicePoint.objects.filter(ref__startswith=f"{PREFIX}-")],
    )
    assert inside
    assert page.evaluate("window.hehuachi.map.getZoom()") > 15  # the planning map opens at 15
    assert tab.errors == []
    assert tab.foreign_requests() == []
    tab.screenshot("import-on-the-map")

    from layers.domain import models

    stored = list(models.ServicePoint.objects.filter(ref__startswith=f"{PREFIX}-"))
    assert len(stored) == 3 and all(p.phone == "" for p in stored)
