"""One language per page (issue 26): model and field names, choices, feature titles, help texts
and the admin's own words follow the page's language; definitions (migrations, imports, the API's
labels) keep the Chinese."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.urls import reverse
from django.utils import translation

from layers.domain import labels
from layers.domain import vocabularies as status
from layers.domain.models import RenovationSite, TimeLimit

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u3400-\u9fff]")
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _text(response) -> str:
    """What the reader sees: the page without its scripts, styles and tags."""
    body = response.content.decode()
    body = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def _admin(client, lang: str, name: str, *args):
    client.cookies["django_language"] = "en" if lang == "en" else "zh-hans"
    return client.get(reverse(name, args=args), HTTP_ACCEPT_LANGUAGE=lang)


def test_a_feature_is_named_in_the_page_language():
    site = RenovationSite.objects.exclude(name_en="").order_by("pk").first()
    done = RenovationSite.status_vocabulary.term("completed")
    with translation.override("en"):
        assert str(site) == site.name_en
        assert str(RenovationSite._meta.verbose_name_plural) == "Renovation sites"
        assert str(RenovationSite._meta.get_field("kind").verbose_name) == "Kind"
        assert dict(RenovationSite._meta.get_field("status").choices)["completed"] == done.en
        limit = TimeLimit.objects.order_by("pk").first()
        assert not CJK.search(str(limit)), str(limit)
    with translation.override("zh-hans"):
        assert str(site) == site.name
        assert str(RenovationSite._meta.verbose_name_plural) == "改造项目"
        assert str(RenovationSite._meta.get_field("kind").verbose_name) == "项目类型"
        assert dict(RenovationSite._meta.get_field("status").choices)["completed"] == done.zh


def test_definitions_keep_the_chinese_whatever_the_page_language():
    """Imports match Chinese column headers and the API names fields in Chinese: neither
    depends on the language of the request that runs them."""
    with translation.override("en"):
        assert labels.field_label(RenovationSite, "kind") == "项目类型"
        assert labels.field_label(RenovationSite, "kind", "en") == "Kind"


def test_the_admin_speaks_english_on_an_english_page(editor_client):
    site = RenovationSite.objects.exclude(name_en="").order_by("pk").first()
    change = _admin(editor_client, "en", "admin:layers_renovationsite_change", site.pk)
    assert change.status_code == 200
    title = TITLE.search(change.content.decode()).group(1)
    assert site.name_en in title and not CJK.search(title), title
    text = _text(change)
    for word in ("Renovation site", "Kind", "Phase", "Stable reference from the source system"):
        assert word in text, word
    for word in ("改造项目", "项目类型", "图层", "荷花池街道地图服务", "来源系统"):
        assert word not in text, word
    listing = _text(_admin(editor_client, "en", "admin:layers_renovationsite_changelist"))
    assert "Restore the selected deleted features" in listing and "deletion" in listing
    assert "删除状态" not in listing and "恢复" not in listing
    index = _text(_admin(editor_client, "en", "admin:index"))
    assert "Hehuachi layers" in index and "Sign-in lockouts" in index and "Time limits" in index
    assert not CJK.search(index), CJK.findall(index)


def test_the_admin_speaks_chinese_on_a_chinese_page(editor_client):
    site = RenovationSite.objects.order_by("pk").first()
    change = _admin(editor_client, "zh", "admin:layers_renovationsite_change", site.pk)
    title = TITLE.search(change.content.decode()).group(1)
    assert site.name in title and "Change" not in title and "Renovation" not in title, title
    text = _text(change)
    assert "项目类型" in text and "来源系统或示例数据中的稳定编号" in text
    for word in ("Renovation site", "Stable reference", "Hehuachi layers", "illustrative data"):
        assert word not in text, word
    index = _text(_admin(editor_client, "zh", "admin:index"))
    for word in ("Layers", "Axes", "Model name", "Access attempts", "Hehuachi"):
        assert word not in index, word
    assert "登录锁定" in index and "办理时限" in index


def test_admin_lists_name_people_not_accounts(editor_client):
    listing = _text(_admin(editor_client, "zh", "admin:layers_safetyhazard_changelist"))
    assert "demo-inspector" not in listing and "grid-01" not in listing
    assert "张国强" in listing  # demo-inspector's name


def test_every_help_text_of_a_model_has_both_languages():
    from django.apps import apps

    for model in apps.get_app_config("layers").get_models():
        for field in model._meta.get_fields():
            text = getattr(field, "help_text", "")
            if text:
                assert str(text) in labels.HELP, (model.__name__, field.name, text)


def test_vocabulary_choices_in_a_form_follow_the_page_language(editor_client):
    add_en = _text(_admin(editor_client, "en", "admin:layers_renovationsite_add"))
    add_zh = _text(_admin(editor_client, "zh", "admin:layers_renovationsite_add"))
    term = status.RENOVATION_KIND.terms[0]
    assert term.en in add_en and term.zh not in add_en
    assert term.zh in add_zh and term.en not in add_zh


def test_map_control_words_follow_the_page_language(client):
    chinese = client.get("/tour/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    client.cookies["django_language"] = "en"
    english = client.get("/tour/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Leaflet's words put in place by the page; the plugins' given as their options (folium
    # writes those as ASCII JSON).
    assert '"Zoom in": "放大"' in chinese and json.dumps("全屏显示") in chinese
    assert '"control_words": {}' in english and '"Full screen"' in english
    assert json.dumps("全屏显示") not in english
