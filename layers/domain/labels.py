"""Field labels in both languages: the model's verbose_name is the Chinese label; the English
label is here, one table for every layer (popups, feature pages, reports never show a field's
code name such as "name_en" or "tour_order")."""

from __future__ import annotations

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


def field_label(model, name: str, lang: str = "zh") -> str:
    """The label of a model field in `lang` ('zh' or 'en')."""
    if lang == "en":
        return FIELD_EN.get(name) or name.replace("_", " ").capitalize()
    return str(model._meta.get_field(name).verbose_name)
