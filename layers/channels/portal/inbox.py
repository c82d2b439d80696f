"""The inbox (站内消息): my notices, each linking to its hazard; mark read; which events reach
me. Every signed-in user has one; the notices come from layers/services/notifications.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from layers.channels.portal import nav
from layers.domain.roles import EDITOR, INSPECTOR, roles_of
from layers.domain.vocabularies import NOTICE_EVENT, NOTICE_WEBHOOK_ONLY
from layers.services import notifications


def _link(user, notice) -> str:
    """A notice's own link (a report's intake); field roles open the hazard in the field view,
    others its timeline in the API."""
    if notice.link:
        return notice.link
    if notice.hazard_id is None:
        return ""
    if roles_of(user) & {EDITOR, INSPECTOR}:
        return notifications.hazard_link(notice.hazard)
    return f"/api/v1/hazards/{notice.hazard_id}/timeline/"


@never_cache
@login_required
def inbox(request):
    notices = list(notifications.inbox(request.user)[:200])
    rows = [
        {
            "notice": n,
            "event": NOTICE_EVENT.label(n.event, nav.lang()),
            "link": _link(request.user, n),
            "link_label": nav.pick(
                ("打开隐患", "Open the hazard") if n.hazard_id else ("打开", "Open")
            ),
        }
        for n in notices
    ]
    from layers.domain.models import NotificationSetting

    setting = NotificationSetting.objects.filter(user=request.user).first()
    off = set(setting.events_off) if setting else set()
    context = {
        "page_title": nav.pick(("消息", "Inbox")),
        "nav_active": "inbox",
        "rows": rows,
        "unread": notifications.unread_count(request.user),
        "events": [
            {"value": t.value, "label": nav.pick((t.zh, t.en)), "on": t.value not in off}
            for t in NOTICE_EVENT.terms
            if t.value not in NOTICE_WEBHOOK_ONLY
        ],
        "email_on": setting.email if setting else True,
        "email_configured": notifications.email_configured(),
    }
    return render(request, "portal/inbox.html", context)


@require_POST
@login_required
def read(request, pk: int):
    notice = notifications.inbox(request.user).filter(pk=pk).first()
    if notice is None:
        raise Http404("No such notice.")
    notifications.mark_read(request.user, [pk])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("inbox")


@require_POST
@login_required
def read_all(request):
    notifications.mark_read(request.user)
    return redirect("inbox")


@require_POST
@login_required
def settings(request):
    chosen = request.POST.getlist("events")
    unknown = set(chosen) - set(NOTICE_EVENT.values)
    if unknown:
        return HttpResponseBadRequest(f"events: unknown {sorted(unknown)}")
    off = [v for v in NOTICE_EVENT.values if v not in chosen]
    email = request.POST.get("email") == "on"
    notifications.save_setting(request.user, off, email)
    return redirect("inbox")
