"""One feature as its page reads it (/features/<layer>/<id>/): the name, the status and its
colour, the key figures in words, related features, and the history told as sentences (who
changed what, when), in the page's language, with people's names and linked features' names,
never ids, user names or field code names. Only what the reader may see (query/access.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from layers.domain import labels, registry
from layers.domain.models import LayerFeature
from layers.query import access, people

# Kept out of the key figures (shown elsewhere on the page, or bookkeeping).
_NOT_FIGURES = {"name", "name_en", "status", "description", "description_en", "photo", "version"}
_BOOKKEEPING = {"version", "updated_at", "updated_by", "created_at", "created_by", "id"}
DERIVED_REASON = "derived"  # layers.services.derived.DERIVED_REASON


def pick(zh: str, en: str, lang: str) -> str:
    return (en or zh) if lang == "en" else (zh or en)


@dataclass
class Row:
    label: str
    text: str
    url: str | None = None
    name: str = ""


@dataclass
class Event:
    at: dt.datetime
    who: str
    text: str
    kind: str
    photos: list = field(default_factory=list)
    note: str = ""


def feature_url(slug: str, pk: int) -> str:
    from django.urls import reverse

    return reverse("feature", args=[slug, pk])


def readable(user, spec: registry.LayerSpec, pk: int):
    """The feature if `user` may read it (editors also deleted ones), else None."""
    manager = spec.model.all_objects if access.can_see_deleted(user) else spec.model.objects
    return manager.filter(pk=pk).first()


class Formatter:
    """Values of one layer's fields in words, for one reader and language."""

    def __init__(self, spec: registry.LayerSpec, user, lang: str):
        self.spec, self.user, self.lang = spec, user, lang
        self.visible = set(access.output_fields(user, spec))
        self._names: dict[tuple, str] = {}

    def label(self, name: str) -> str:
        if name == "geom":
            return pick("位置", "location", self.lang)
        return labels.field_label(self.spec.model, name, self.lang)

    def linked(self, model_field, pk) -> tuple[str, str | None]:
        """(name, page URL) of a linked feature or (name, None) of a person."""
        if pk is None:
            return "", None
        key = (model_field.related_model, pk)
        related = model_field.related_model
        if related is get_user_model():
            if key not in self._names:
                self._names[key] = people.names_by_id([pk]).get(pk, "")
            return self._names[key], None
        try:
            target = registry.for_model(related)
        except KeyError:
            return "", None
        if not access.can_read(self.user, target):
            return "", None
        if key not in self._names:
            row = related.all_objects.filter(pk=pk).values_list("name", "name_en").first()
            self._names[key] = pick(row[0], row[1], self.lang) if row else ""
        return self._names[key], feature_url(target.slug, pk)

    def text(self, name: str, value) -> str:
        """A stored value (as a history record holds it: a link is its id) in words."""
        if value is None or value == "" or value == []:
            return "—"
        spec = self.spec
        vocabulary = {**spec.vocabularies(), **spec.list_fields}.get(name)
        if vocabulary is not None:
            values = value if isinstance(value, list) else [value]
            words = [
                vocabulary.label(v, self.lang) if v in vocabulary.values else str(v) for v in values
            ]
            return ("、" if self.lang == "zh" else ", ").join(words)
        model_field = spec.model._meta.get_field(name)
        if model_field.many_to_one:
            pk = value.pk if isinstance(value, models.Model) else value
            return self.linked(model_field, pk)[0] or "—"
        if isinstance(value, bool):
            return pick("是", "yes", self.lang) if value else pick("否", "no", self.lang)
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(model_field, models.FileField):
            return pick("照片", "photo", self.lang)
        if name == "area_m2":
            return f"{value:,.0f} m²"
        if self.lang == "en" and f"{name}_en" in self.visible:
            return str(value)
        return str(value)

    def row(self, obj, name: str) -> Row | None:
        if name not in self.visible:
            return None
        model_field = self.spec.model._meta.get_field(name)
        value = getattr(obj, model_field.attname)
        if self.lang == "en" and f"{name}_en" in self.visible and getattr(obj, f"{name}_en", ""):
            value = getattr(obj, f"{name}_en")
        if value is None or value == "" or value == []:
            return None
        if model_field.many_to_one:
            text, url = self.linked(model_field, value)
            return Row(self.label(name), text or "—", url, name)
        return Row(self.label(name), self.text(name, value), None, name)


def status_of(obj, spec: registry.LayerSpec, lang: str) -> dict:
    vocabulary = spec.status_vocabulary
    value = getattr(obj, spec.status_field)
    if value not in vocabulary.values:
        return {"value": value, "label": value, "color": "#777777"}
    term = vocabulary.term(value)
    return {"value": value, "label": pick(term.zh, term.en, lang), "color": term.color}


def figures(obj, spec: registry.LayerSpec, user, lang: str) -> list[Row]:
    """The popup's fields of the layer, then its other fields, in words (what `user` sees)."""
    fmt = Formatter(spec, user, lang)
    names = [n for n in spec.popup_fields if n not in spec.computed_labels]
    names += [
        f.name
        for f in spec.model._meta.concrete_fields
        if f.name not in names and f.name not in _BOOKKEEPING and f.name != "ref"
    ]
    out = []
    for name in names:
        if name in _NOT_FIGURES or name.endswith("_en") or name in {"geom", "deleted_at"}:
            continue
        row = fmt.row(obj, name)
        if row is not None:
            out.append(row)
    return out


def time_left(hazard, lang: str, today: dt.date | None = None) -> dict | None:
    """A hazard's deadline in words: days left, due today, or days overdue (open ones)."""
    from layers.domain import vocabularies as status

    if hazard.deadline is None or hazard.status not in status.HAZARD_OPEN_STATUSES:
        return None
    today = today or timezone.localdate()
    days = (hazard.deadline - today).days
    if days > 0:
        text = pick(f"还剩 {days} 天", f"{days} days left", lang)
    elif days == 0:
        text = pick("今天到期", "due today", lang)
    else:
        text = pick(f"已逾期 {-days} 天", f"{-days} days overdue", lang)
    return {"days": days, "text": text, "overdue": days < 0}


def history(obj, spec: registry.LayerSpec, user, lang: str) -> list[Event]:
    """The feature's versions as sentences, newest first: who changed what, from what to what."""
    fmt = Formatter(spec, user, lang)
    tracked = [
        f
        for f in spec.model._meta.concrete_fields
        if f.name not in _BOOKKEEPING
        and f.name != "deleted_at"
        and (f.name in fmt.visible or f.name == "geom")
    ]
    records = list(obj.history.order_by("history_date", "history_id"))
    who_ids = [r.history_user_id for r in records]
    names = people.names_by_id(who_ids)
    system = pick("系统", "The system", lang)
    out: list[Event] = []
    previous = None
    for record in records:
        who = names.get(record.history_user_id) or system
        if previous is None:
            text = pick(f"{who} 创建了此要素", f"{who} created it", lang)
            kind = "created"
        elif record.deleted_at != previous.deleted_at:
            deleted = record.deleted_at is not None
            text = (
                pick(f"{who} 删除了此要素", f"{who} deleted it", lang)
                if deleted
                else pick(f"{who} 恢复了此要素", f"{who} restored it", lang)
            )
            kind = "deleted" if deleted else "restored"
        else:
            changes = []
            for f in tracked:
                old, new = getattr(previous, f.attname), getattr(record, f.attname)
                if old == new:
                    continue
                if f.name == "geom":
                    changes.append(pick("调整了位置或范围", "moved or reshaped it", lang))
                    continue
                label = fmt.label(f.name)
                before, after = fmt.text(f.name, old), fmt.text(f.name, new)
                changes.append(
                    pick(
                        f"将{label}由「{before}」改为「{after}」",
                        f"changed {label.lower()} from “{before}” to “{after}”",
                        lang,
                    )
                )
            if not changes:
                previous = record
                continue
            derived = record.history_change_reason == DERIVED_REASON
            kind = "derived" if derived else "changed"
            if derived:
                who = system
            joined = "；".join(changes) if lang == "zh" else "; ".join(changes)
            text = f"{who} {joined}" if lang == "en" else f"{who}{joined}"
        out.append(Event(record.history_date, who, text, kind))
        previous = record
    out.reverse()
    return out


def related(obj, spec: registry.LayerSpec, user, lang: str, limit: int = 50) -> list[dict]:
    """Features that point at this one (a site's buildings, a building's hazards, a
    community's grid cells), per layer the reader may read: title, count, the first links."""
    out = []
    for other in registry.LAYERS:
        if not access.can_read(user, other) or "name" not in access.output_fields(user, other):
            continue
        links = [
            f
            for f in other.model._meta.concrete_fields
            if f.many_to_one and f.related_model is type(obj) and f.name != "duplicate_of"
        ]
        for link in links:
            queryset = other.model.objects.filter(**{link.name: obj.pk}).order_by("name", "pk")
            total = queryset.count()
            if not total:
                continue
            rows = queryset.values_list("pk", "name", "name_en")[:limit]
            out.append(
                {
                    "slug": other.slug,
                    "title": other.title(lang),
                    "count": total,
                    "items": [
                        {"name": pick(zh, en, lang), "url": feature_url(other.slug, pk)}
                        for pk, zh, en in rows
                    ],
                }
            )
    # A site's hazards: those in its buildings (hazards link to buildings, not to sites).
    if spec.slug == "renovation-sites":
        hazards = registry.get("hazards")
        if access.can_read(user, hazards):
            queryset = hazards.model.objects.filter(building__renovation_site=obj.pk)
            total = queryset.count()
            if total:
                rows = queryset.order_by("name", "pk").values_list("pk", "name", "name_en")
                out.append(
                    {
                        "slug": "hazards",
                        "title": hazards.title(lang),
                        "count": total,
                        "items": [
                            {"name": pick(zh, en, lang), "url": feature_url("hazards", pk)}
                            for pk, zh, en in rows[:limit]
                        ],
                    }
                )
    return out


def is_feature(obj) -> bool:
    return isinstance(obj, LayerFeature)
