"""A page for every feature: /features/<layer>/<id>/, for the roles that may read its layer.

Name, status and colour, key figures (a site's progress and households, a building's community
and site, a hazard's time left), a small map, the history in words, photos, related features,
and for a hazard the steps the reader may take now (the field page's form, opened on it).
Anonymous readers of an internal layer are sent to sign in; anyone else who may not read it
gets 404 (its existence is not shown).
"""

from __future__ import annotations

import json

from django.contrib.auth.views import redirect_to_login
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from layers.channels.portal import nav
from layers.compose import builder
from layers.domain import registry
from layers.domain.pages import FEATURE
from layers.domain.roles import roles_of
from layers.query import access
from layers.query import feature as reading

FIELD_ROLES = ("inspector", "editor")  # layers.channels.portal.hazards.FIELD_ROLES


def _photos(obj, spec, user) -> list[dict]:
    if spec.slug == "hazards":
        from layers.services import workflow

        return [
            {**workflow.photo_urls(photo), "alt": ""}
            for photo in obj.photos.order_by("uploaded_at", "pk")
        ]
    photo = getattr(obj, "photo", None)
    if photo and "photo" in access.output_fields(user, spec):
        return [{"url": photo.url, "thumbnail": photo.url, "alt": obj.name}]
    return []


def _steps(obj, spec, user, lang) -> list[dict]:
    """The steps `user` may take now on a hazard, each opening the field page's form."""
    if spec.workflow is None or not roles_of(user) & set(FIELD_ROLES):
        return []
    workflow = spec.workflow_module
    field = reverse("field")
    return [
        {
            "action": name,
            "label": reading.pick(workflow.ACTIONS[name].zh, workflow.ACTIONS[name].en, lang),
            "url": f"{field}?hazard={obj.pk}&step={name}",
        }
        for name in workflow.allowed_actions(obj, user)
    ]


def _hazard_events(obj, lang) -> list[reading.Event]:
    from layers.query import people
    from layers.services import workflow

    events = obj.events.select_related("actor").prefetch_related("photos")
    out = []
    for event in events:
        action = workflow.ACTIONS.get(event.action)
        label = (
            reading.pick(action.zh, action.en, lang)
            if action
            else reading.pick("排查发现", "Found", lang)
        )
        who = people.display_name(event.actor)
        out.append(
            reading.Event(
                event.at,
                who,
                f"{who} {label}" if lang == "en" else f"{who}：{label}",
                "step",
                [workflow.photo_urls(p) for p in event.photos.all()],
                event.note,
            )
        )
    return out


def _small_map(obj, spec, user, lang, status) -> dict:
    geometry = json.loads(obj.geom.geojson)
    extent = obj.geom.extent
    m = builder.build_map(
        FEATURE,
        user,
        extra={
            "lang": lang,
            "highlight": {
                "type": "Feature",
                "id": obj.pk,
                "geometry": geometry,
                "properties": {"name": obj.name, "name_en": obj.name_en},
            },
            "highlight_color": status["color"],
            "fit": [[extent[1], extent[0]], [extent[3], extent[2]]],
        },
    )
    return builder.render_parts(m)


@never_cache
def feature(request, slug: str, pk: int):
    try:
        spec = registry.get(slug)
    except KeyError:
        raise Http404("No such layer.") from None
    user = access.request_user(request)
    if not access.can_read(user, spec):
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise Http404("No such feature.")
    obj = reading.readable(user, spec, pk)
    if obj is None:
        raise Http404("No such feature.")
    lang = nav.lang()
    status = reading.status_of(obj, spec, lang)
    rows = reading.figures(obj, spec, user, lang)
    visible = set(access.output_fields(user, spec))
    context = {
        "spec": spec,
        "obj": obj,
        "layer_title": spec.title(lang),
        "name": reading.pick(obj.name, obj.name_en, lang),
        "other_name": obj.name_en if lang == "zh" else obj.name,
        "status": status,
        "rows": rows,
        "description": reading.pick(
            getattr(obj, "description", ""), getattr(obj, "description_en", ""), lang
        )
        if "description" in visible
        else "",
        "progress": getattr(obj, "progress", None) if "progress" in visible else None,
        "time_left": reading.time_left(obj, lang) if spec.slug == "hazards" else None,
        "history": [],
        "photos": _photos(obj, spec, user),
        "related": reading.related(obj, spec, user, lang),
        "steps": _steps(obj, spec, user, lang),
        "parts": _small_map(obj, spec, user, lang, status),
        "page_title": reading.pick(obj.name, obj.name_en, lang),
        "edit_url": None,
    }
    if access.is_staff_reader(user):
        events = reading.history(obj, spec, user, lang)
        if spec.slug == "hazards":
            events = sorted(events + _hazard_events(obj, lang), key=lambda e: e.at, reverse=True)
        context["history"] = events
    if user.is_staff and access.can_edit(user, spec):
        meta = spec.model._meta
        context["edit_url"] = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
    return render(request, "features/detail.html", context)
