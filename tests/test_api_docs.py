"""The OpenAPI document of /api/v1/ validates without a warning, and its Swagger UI and ReDoc
pages load only local assets (no CDN: the intranet has no internet). The schemathesis runs
against the documents: tests/test_api_schema.py."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command


def test_spectacular_validate_is_clean(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    assert "HazardsFeatureCollection" in (tmp_path / "s.yaml").read_text()


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_load_only_local_assets(client, page):
    html = client.get(page).content.decode()
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn" not in html.lower()
