"""The admin, generated from the registry: every layer renders offline for an editor."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from layers.domain import registry

pytestmark = pytest.mark.django_db

URL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}[^\s"'<>)]*""")
# XML namespaces are names, not requests.
ALLOWED = ("http://www.w3.org/",)


def external_urls(html: str) -> list[str]:
    return [u for u in URL.findall(html) if not u.startswith(ALLOWED)]


def admin_url(spec, view, *args):
    meta = spec.model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("slug", registry.slugs())
def test_changelist_and_change_page_render_offline_for_an_editor(editor_client, slug):
    spec = registry.get(slug)
    obj = spec.model.objects.order_by("pk").first()
    assert obj is not None, f"sample data has no {slug}"
    pages = [
        admin_url(spec, "changelist"),
        admin_url(spec, "change", obj.pk),
        admin_url(spec, "add"),
        admin_url(spec, "history", obj.pk),
    ]
    for url in pages:
        response = editor_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert external_urls(html) == [], url
    change = editor_client.get(pages[1]).content.decode()
    assert "vendor/ol/7.2.2/ol.js" in change
    assert obj.name in change


def test_changelist_lists_every_live_feature(editor_client):
    spec = registry.get("hazards")
    response = editor_client.get(admin_url(spec, "changelist"))
    assert response.context["cl"].result_count == spec.model.objects.count()


def test_anonymous_is_sent_to_login(client):
    response = client.get(admin_url(registry.get("hazards"), "changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _form_data(response):
    """The change form's current values, as a browser would post them back."""
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        # Geometries go back as EWKT, so the SRID travels with them (the widget sends 3857).
        data[name] = value.ewkt if hasattr(value, "ewkt") else value
    return data


def test_stale_admin_edit_is_refused_and_nothing_is_overwritten(editor_client):
    spec = registry.get("pocket-parks")
    park = spec.model.objects.order_by("pk").first()
    url = admin_url(spec, "change", park.pk)
    data = _form_data(editor_client.get(url))
    assert int(data["seen_version"]) == park.version
    # Someone else saves first.
    park.description = "别人的修改"
    park.save()
    data["description"] = "我的修改"
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert "此要素已被他人修改" in response.content.decode()
    park.refresh_from_db()
    assert park.description == "别人的修改"


def test_fresh_admin_edit_is_saved_with_a_new_version(editor_client, editor):
    spec = registry.get("pocket-parks")
    park = spec.model.objects.order_by("pk").first()
    url = admin_url(spec, "change", park.pk)
    data = _form_data(editor_client.get(url))
    data["description"] = "新的介绍"
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    park.refresh_from_db()
    assert park.description == "新的介绍"
    assert park.updated_by == editor
    assert park.history.first().history_user == editor


def test_admin_delete_is_soft_and_restorable(editor_client):
    spec = registry.get("viewpoints")
    viewpoint = spec.model.objects.order_by("pk").first()
    response = editor_client.post(admin_url(spec, "delete", viewpoint.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not spec.model.objects.filter(pk=viewpoint.pk).exists()
    assert spec.model.all_objects.filter(pk=viewpoint.pk).exists()
    response = editor_client.post(
        admin_url(spec, "changelist") + "?deleted=yes",
        {"action": "restore_selected", "_selected_action": [viewpoint.pk]},
    )
    assert response.status_code == 302
    assert spec.model.objects.filter(pk=viewpoint.pk).exists()


def test_inspector_may_view_buildings_but_not_change_them(client):
    from tests.conftest import make_user

    inspector = make_user("t-inspector", "inspector", staff=True)
    client.force_login(inspector)
    spec = registry.get("buildings")
    building = spec.model.objects.order_by("pk").first()
    assert client.get(admin_url(spec, "changelist")).status_code == 200
    assert client.get(admin_url(spec, "add")).status_code == 403
    hazards = registry.get("hazards")
    assert client.get(admin_url(hazards, "add")).status_code == 200
    response = client.post(admin_url(spec, "delete", building.pk), {"post": "yes"})
    assert response.status_code == 403
