"""A report's public status, derived from its intake decision and then from its hazard's
lifecycle (the hazard's status and HazardEvent timeline), never typed by anyone:

    received 已收到 → accepted 已受理 (found, reported) → being handled 处理中 (assigned,
    rectifying, re-inspection) → fixed 已解决 (closed, with the closing photo);
    not accepted 不予受理 (rejected at intake, or the hazard rejected as not a hazard).

A hazard marked as a duplicate hands its reports over to the original from that moment. A
closed hazard reopened because a resident said "not fixed" shows as being handled again.

What leaves this module for the public is `public_view`: statuses, times, the promised time,
the public reason and the closing photos. No name, note, unit, person, grid cell or contact.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings

from layers.domain import clock
from layers.domain import vocabularies as status

PUBLIC_OF = {
    "found": "accepted",
    "reported": "accepted",
    "assigned": "handling",
    "rectifying": "handling",
    "reinspection": "handling",
    "closed": "fixed",
    "rejected": "not_accepted",
}
FINAL = ("fixed", "not_accepted")
# Public words for what a step means, where the status alone does not say it.
NOTES = {
    "linked": (
        "与此前反映的同一问题合并办理",
        "Handled together with an earlier report of the same problem",
    ),
    "reopened": ("您反馈未整改，已重新安排复查", "You said it was not fixed: it is checked again"),
}
# A hazard rejected after acceptance: the reason the reporter reads.
HAZARD_REASON = {"not_hazard": "not_hazard", "duplicate": "not_hazard"}
MAX_CHAIN = 5


def of_hazard_status(value: str) -> str:
    return PUBLIC_OF[value]


@dataclass
class Step:
    status: str
    at: dt.datetime
    note: str = ""  # a key of NOTES


@dataclass
class Derived:
    status: str
    since: dt.datetime
    steps: list[Step] = field(default_factory=list)
    reason: str = ""  # a REPORT_REJECT_REASON value when not accepted
    hazard: object | None = None  # the hazard the report follows now (after duplicates)
    closing_event: object | None = None


def _emit(steps: list[Step], state: str, at, note: str = "") -> None:
    if steps and steps[-1].status == state and not note:
        return
    if steps and steps[-1].status == state and steps[-1].note == note:
        return
    steps.append(Step(state, at, note))


def derive(report) -> Derived:
    """The report's public status now, since when, and every public step before it."""
    steps = [Step("received", report.received_at)]
    if report.intake == "rejected":
        steps.append(Step("not_accepted", report.decided_at or report.received_at))
        return Derived("not_accepted", steps[-1].at, steps, reason=report.reject_reason)
    if report.intake != "accepted" or report.hazard_id is None:
        return Derived("received", report.received_at, steps)
    start = report.decided_at or report.received_at
    steps.append(Step("accepted", start, "linked" if report.linked_as_duplicate else ""))
    hazard = report.hazard
    closing = None
    for _ in range(MAX_CHAIN):
        events = list(hazard.events.order_by("at", "pk"))
        before = [e for e in events if e.at <= start]
        current = before[-1].to_status if before else hazard.status
        _emit(steps, PUBLIC_OF.get(current, "accepted"), start)
        handed_over = None
        for event in events:
            if event.at <= start:
                continue
            if event.action == "mark_duplicate" and hazard.duplicate_of_id is not None:
                handed_over = event
                break
            state = PUBLIC_OF.get(event.to_status)
            if state is None:
                continue
            _emit(steps, state, event.at, "reopened" if event.action == "reopen" else "")
            if event.to_status == "closed":
                closing = event
        if handed_over is None:
            break
        start = handed_over.at
        hazard = hazard.duplicate_of
        _emit(steps, steps[-1].status, start, "linked")
    last = steps[-1]
    reason = ""
    if last.status == "not_accepted":
        reason = HAZARD_REASON.get(hazard.reject_reason, "not_hazard")
    if last.status != "fixed":
        closing = None
    return Derived(last.status, last.at, steps, reason=reason, hazard=hazard, closing_event=closing)


def closing_photos(derived: Derived) -> list:
    """The photos of the step that closed the hazard, else of the last rectification before it."""
    event = derived.closing_event
    if event is None:
        return []
    found = list(event.photos.all())
    if found:
        return found
    earlier = event.hazard.events.filter(action="rectify", at__lte=event.at)
    rectified = earlier.order_by("-at", "-pk").first()
    return list(rectified.photos.all()) if rectified else []


def promised(report, derived: Derived) -> dict | None:
    """The answer time promised for the present status: the answer by the report's acceptance
    limit while received (TimeLimit.accept_days, set when it was received), the fix by the
    hazard's deadline while accepted or being handled."""
    if derived.status == "received":
        if report.accept_due is None:
            return None
        return {"what": "answer", "by": report.accept_due.isoformat()}
    hazard = derived.hazard
    if derived.status in ("accepted", "handling") and hazard is not None and hazard.deadline:
        return {"what": "fix", "by": hazard.deadline.isoformat()}
    return None


def feedback_until(report) -> dt.datetime | None:
    """Until when the reporter may say "not fixed" or rate (REPORT_FEEDBACK_DAYS after the fix)."""
    if report.public_status != "fixed" or report.closed_at is None:
        return None
    return report.closed_at + dt.timedelta(days=settings.REPORT_FEEDBACK_DAYS)


def _term(vocabulary, value: str) -> dict:
    term = vocabulary.term(value)
    return {"value": value, "zh": term.zh, "en": term.en}


def public_view(report, *, now: dt.datetime | None = None) -> dict:
    """Everything the public may know of a report: the only source of the status page and of
    GET /api/v1/reports/<code>/."""
    now = now or clock.now()
    derived = derive(report)
    out = {
        "code": report.code,
        "category": _term(status.HAZARD_CATEGORY, report.category),
        "status": _term(status.REPORT_PUBLIC_STATUS, derived.status),
        "since": derived.since.isoformat(),
        "received_at": report.received_at.isoformat(),
        "steps": [
            {
                **_term(status.REPORT_PUBLIC_STATUS, step.status),
                "at": step.at.isoformat(),
                "note": {"zh": NOTES[step.note][0], "en": NOTES[step.note][1]}
                if step.note
                else None,
            }
            for step in derived.steps
        ],
        "promised": promised(report, derived),
        "reason": None,
        "closing_photos": [photo.pk for photo in closing_photos(derived)],
        "feedback": None,
    }
    if derived.status == "not_accepted" and derived.reason:
        out["reason"] = {
            **_term(status.REPORT_REJECT_REASON, derived.reason),
            "note": report.public_note if report.intake == "rejected" else "",
        }
    until = feedback_until(report)
    if until is not None:
        rated = report.rated_at is not None and report.rated_at >= report.closed_at
        out["feedback"] = {
            "open": now <= until,
            "until": until.isoformat(),
            "rating": report.rating if rated else None,
        }
    return out
