"""The planning map as of a date, in Chromium: a site edited today shows, as of yesterday, the
stage it had before the edit. Time is moved by dating the site's history back (no sleeping)."""

from __future__ import annotations

import datetime as dt

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

SITE_STATUS = """(id) => {
  let found = null;
  window.hehuachi.layers["renovation-sites"].target.holder.eachLayer((layer) => {
    if (layer.feature && layer.feature.id === id) found = layer.feature.properties.status;
  });
  return found;
}"""


@pytest.fixture(scope="module")
def edited_today(django_db_setup, django_db_blocker):
    """RS-012 as it was three days ago, moved to 'vacating' today (committed for the server);
    put back afterwards."""
    from django.contrib.auth import get_user_model
    from django.db.models import F, Max

    from layers.domain.models import RenovationSite
    from layers.services import editing

    with django_db_blocker.unblock():
        site = RenovationSite.objects.get(ref="RS-012")
        kept = {"status": site.status, "progress": site.progress, "version": site.version}
        history = RenovationSite.history
        last = history.aggregate(m=Max("history_id"))["m"]
        history.filter(id=site.pk).update(history_date=F("history_date") - dt.timedelta(days=3))
        planner = get_user_model().objects.get(username="demo-planner")
        editing.update(site, {"status": "vacating", "progress": 80}, planner)
    yield site, kept["status"]
    with django_db_blocker.unblock():
        history.filter(history_id__gt=last).delete()
        history.filter(id=site.pk).update(history_date=F("history_date") + dt.timedelta(days=3))
        RenovationSite.all_objects.filter(pk=site.pk).update(**kept)


def test_the_planning_map_as_of_yesterday_shows_the_stage_before_todays_edit(visit, edited_today):
    site, before = edited_today
    assert before != "vacating"
    tab = visit("demo-planner")
    assert tab.open("/maps/planning/").status == 200
    tab.wait_ready()
    page = tab.page
    assert page.evaluate(SITE_STATUS, site.pk) == "vacating"
    from django.utils import timezone

    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    page.fill("#hh-asof", yesterday)
    page.wait_for_function(
        "window.hehuachi.asOf === arguments[0] && window.hehuachi.allReady()".replace(
            "arguments[0]", repr(yesterday)
        )
    )
    assert page.evaluate(SITE_STATUS, site.pk) == before
    assert page.evaluate("document.body.classList.contains('hh-in-the-past')")
    page.click("#hh-asof-today")
    page.wait_for_function("window.hehuachi.asOf === null && window.hehuachi.allReady()")
    assert page.evaluate(SITE_STATUS, site.pk) == "vacating"
    tab.screenshot("as-of-yesterday")
    assert not tab.errors, tab.errors
