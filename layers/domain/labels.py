"""Field labels in both languages: the model's verbose_name is the Chinese label; the English
label is here, one table for every layer (popups, feature pages, reports never show a field's
code name such as "name_en" or "tour_order")."""

from __future__ import annotations

import re

from django.utils import translation

from layers.domain import language
from layers.domain.language import both

CJK = re.compile(r"[\u3400-\u9fff]")

FIELD_EN = {
    "ref": "Reference",
    "name": "Name",
    "name_en": "English name",
    "status": "Status",
    "code": "Code",
    "community": "Community",
    "grid_cell": "Grid cell",
    "worker": "Grid worker",
    "kind": "Kind",
    "phase": "Phase",
    "progress": "Progress (%)",
    "households_total": "Households",
    "households_signed": "Households signed",
    "households_vacated": "Households vacated",
    "planned_start": "Planned start",
    "planned_end": "Planned completion",
    "actual_start": "Actual start",
    "actual_end": "Actual completion",
    "budget_wan": "Budget (10k yuan)",
    "responsible_unit": "Responsible unit",
    "description": "Description",
    "description_en": "Description (English)",
    "theme": "Theme",
    "tour_order": "Stop no.",
    "photo": "Photo",
    "opening_hours": "Opening hours",
    "opening_hours_en": "Opening hours (English)",
    "facilities": "Facilities",
    "area_m2": "Area (m²)",
    "address": "Address",
    "use": "Use",
    "floors": "Floors",
    "year_built": "Year built",
    "households": "Households",
    "structure": "Structure",
    "heritage_protected": "Protected heritage",
    "renovation_site": "Renovation site",
    "category": "Category",
    "level": "Level",
    "found_at": "Found",
    "deadline": "Deadline",
    "closed_at": "Closed",
    "reporter": "Reported by",
    "assignee": "Assignee",
    "rectified_by": "Rectification recorded by",
    "rectified_at": "Rectified",
    "reinspected_at": "Re-inspected",
    "supervised": "Formal supervision",
    "extension_until": "Extension requested until",
    "reject_reason": "Reason not accepted",
    "duplicate_of": "Duplicate of",
    "building": "Building",
    "phone": "Phone",
    "services": "Services",
    "street_class": "Class",
    "approximate": "Approximate position",
    "note": "Note",
    "created_at": "Created",
    "updated_at": "Updated",
    "created_by": "Created by",
    "updated_by": "Updated by",
    "version": "Version",
    "deleted_at": "Deleted",
}


# Help texts are written in English in the models (their migrations keep that text); a page
# shows them in its language: the Chinese here, and the English with its Chinese glosses gone.
HELP = {
    "Stable reference from the source system or sample data (unique in the layer).": (
        "来源系统或示例数据中的稳定编号（在本图层内唯一）。",
        "Stable reference from the source system or sample data (unique in the layer).",
    ),
    "Values from the park_facility vocabulary.": (
        "取值来自设施词表。",
        "Values from the facilities vocabulary.",
    ),
    "Values from the service_offered vocabulary.": (
        "取值来自服务内容词表。",
        "Values from the services vocabulary.",
    ),
    "A pending request.": ("待审批的申请。", "A pending request."),
    "From the report (上报) to the dispatch (交办).": (
        "从上报到交办。",
        "From the report to the dispatch.",
    ),
    "From the dispatch to the rectification: the default 整改期限.": (
        "从交办到整改完成：默认的整改期限。",
        "From the dispatch to the rectification: the default deadline.",
    ),
    "From the recorded rectification to the re-inspection.": (
        "从登记整改到复查。",
        "From the recorded rectification to the re-inspection.",
    ),
    "For public reports: from receipt to acceptance (受理); empty: not set.": (
        "群众随手拍：从收到到受理；为空表示不设时限。",
        "For public reports: from receipt to acceptance; empty: not set.",
    ),
    "Working days past a limit after which the hazard is put under formal supervision (挂牌督办) "
    "by the reminder pass.": (
        "超过时限多少个工作日后，提醒任务对隐患挂牌督办。",
        "Working days past a limit after which the reminder pass puts the hazard under formal "
        "supervision.",
    ),
    "HMAC-SHA256 key shared with the receiver.": (
        "与接收端共享的 HMAC-SHA256 密钥。",
        "HMAC-SHA256 key shared with the receiver.",
    ),
    "Event names; empty: every event.": (
        "事件名称；为空表示全部事件。",
        "Event names; empty: every event.",
    ),
    "The course or position is approximate (示意), not surveyed.": (
        "走向或位置为示意，未经测绘。",
        "The course or position is approximate, not surveyed.",
    ),
}


def help_text(text: str) -> str:
    """A model field's help text in the page's language (as written when not in the table)."""
    pair = HELP.get(str(text))
    return language.pick(pair) if pair else text


def field_label(model, name: str, lang: str = "zh") -> str:
    """The label of a model field in `lang` ('zh' or 'en')."""
    if lang == "en":
        return FIELD_EN.get(name) or name.replace("_", " ").capitalize()
    with translation.override("zh-hans"):  # the verbose_name speaks the active language
        return str(model._meta.get_field(name).verbose_name)


def speak_the_page_language(models) -> None:
    """Give every field of `models` named in Chinese a name in the language active when it is
    shown (its Chinese, or the English of this table): the admin's forms, columns, filters and
    history then speak the page's language. Called once from AppConfig.ready(); definitions
    (migrations) still read the Chinese."""
    for model in models:
        for field in model._meta.get_fields():
            zh = getattr(field, "verbose_name", None)
            if not isinstance(zh, str) or not CJK.search(zh):
                continue
            field.verbose_name = both(zh, field_label(model, field.name, "en"))
