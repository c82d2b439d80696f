"""A past for the sample hazards: each one walked through the lifecycle over the months before
the sample data's reference date (fixtures/README.md), so the dashboard, the ledger and the
rates show a history from the first `make run`.

Deterministic (a random generator seeded by each hazard's ref) and idempotent: a hazard that
already has a timeline keeps it. Written directly as the sample's own record (like the
fixture's status and deadline), not through the steps, whose times are the clock's now:

- found (at found_at) and reported a few hours later; the reporter acts;
- dispatched within a working day or two by the leader (demo-editor); about one in five of
  the dispatched cases was first sent to another unit, which returned it (退回) with a reason;
- started, rectified and re-inspected by someone other than the rectifier; about one in three
  closed cases failed a re-inspection first (返工);
- closed on time (before the 整改期限) or late, never after the reference date; 销号时间 is
  the re-inspection's time, never the load time;
- rejected ones were rejected on verification; the open ones stop at their status.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q

from layers.domain import workdays

# The sample data's reference date (fixtures/README.md): nothing in the past happens after it.
REFERENCE = dt.date(2026, 11, 1)
LEADER = "demo-editor"
OTHER_UNITS = ("钟楼区住房和城乡建设局", "荷花池街道平安办", "钟楼区综合行政执法局荷花池中队")
RETURN_REASONS = ("not_our_duty", "incomplete", "wrong_location")
PROGRESS = ("found", "reported", "assigned", "rectifying", "reinspection", "closed")


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return dt.datetime.combine(day, dt.time(rng.randint(9, 16), rng.choice((0, 15, 30, 45))), tz)


def _later(moment: dt.datetime, rng: random.Random, low: int, high: int) -> dt.datetime:
    """A working-hours moment `low`..`high` working days after `moment`, never before it."""
    day = workdays.add(moment.astimezone(moment.tzinfo).date(), rng.randint(low, high))
    out = _at(day, rng)
    return out if out > moment else moment + dt.timedelta(hours=1)


def walk(hazard, users: dict, rng: random.Random) -> tuple[list[dict], dict]:
    """(timeline entries, hazard fields) for one sample hazard."""
    leader = users[LEADER]
    reporter = hazard.reporter or users["demo-inspector"]
    assignee = hazard.assignee
    reinspector = reporter if reporter != assignee else users["demo-inspector"]
    if reinspector == assignee:
        reinspector = users["grid-01"] if assignee != users["grid-01"] else users["grid-02"]
    events: list[dict] = []
    fields: dict = {}
    state = hazard.status
    end = _at(REFERENCE, rng) - dt.timedelta(days=1)

    def add(action, at, actor, frm, to, note="", **data):
        events.append(
            {"action": action, "at": min(at, end), "actor": actor, "from_status": frm,
             "to_status": to, "note": note, "data": data}
        )  # fmt: skip
        return min(at, end)

    now = add("found", hazard.found_at, reporter, "", "found")
    if state == "closed" and hazard.deadline is None:
        add("fix_on_spot", now + dt.timedelta(minutes=40), reporter, "found", "closed", "即查即改")
        fields["closed_at"] = events[-1]["at"]
        return events, fields
    if state == "found":
        return events, fields
    now = add("report", now + dt.timedelta(hours=rng.randint(1, 5)), reporter, "found", "reported")
    if state == "rejected":
        add("reject", _later(now, rng, 1, 3), leader, "reported", "rejected", "经核实不构成隐患",
            reason=hazard.reject_reason or "not_hazard")  # fmt: skip
        return events, fields
    if state == "reported":
        fields["due_date"] = workdays.add(now.date(), 1)
        return events, fields
    deadline = hazard.deadline or workdays.add(now.date(), 10)
    if rng.random() < 0.2 and assignee is not None:
        other = rng.choice([u for u in OTHER_UNITS if u != hazard.responsible_unit])
        now = add("assign", _later(now, rng, 0, 1), leader, "reported", "assigned",
                  responsible_unit=other, assignee=assignee.username,
                  deadline=str(deadline))  # fmt: skip
        now = add("return", _later(now, rng, 1, 2), assignee, "assigned", "reported",
                  "请核实责任单位", reason=rng.choice(RETURN_REASONS), unit=other,
                  assignee=assignee.username, deadline=str(deadline))  # fmt: skip
    now = add("assign", _later(now, rng, 0, 1), leader, "reported", "assigned",
              responsible_unit=hazard.responsible_unit,
              assignee=assignee.username if assignee else "", deadline=str(deadline))  # fmt: skip
    if state == "assigned":
        fields["due_date"] = deadline
        return events, fields
    now = add("start", _later(now, rng, 1, 3), assignee, "assigned", "rectifying")
    if state == "rectifying":
        fields["due_date"] = deadline
        return events, fields
    on_time = rng.random() < 0.6
    days_left = max(workdays.between(now.date(), deadline), 2)
    rectified = _later(now, rng, 1, max(1, days_left - 1) if on_time else days_left + 3)
    now = add("rectify", rectified, assignee, "rectifying", "reinspection", "已按要求整改")
    if state == "closed" and rng.random() < 0.35:
        now = add("fail", _later(now, rng, 1, 2), reinspector, "reinspection", "rectifying",
                  "复查发现整改不到位")  # fmt: skip
        now = add("rectify", _later(now, rng, 1, 3), assignee, "rectifying", "reinspection",
                  "已返工整改")  # fmt: skip
    fields.update(rectified_by=assignee, rectified_at=now)
    if state == "reinspection":
        fields["due_date"] = workdays.add(now.date(), 3)
        return events, fields
    now = add("pass", _later(now, rng, 1, 2), reinspector, "reinspection", "closed", "复查合格")
    fields.update(reinspected_at=now, closed_at=now)
    return events, fields


def apply(queryset=None) -> int:
    """Give every sample hazard without a timeline its past; returns how many were walked."""
    from layers.domain.models import HazardEvent, SafetyHazard

    users = {u.username: u for u in get_user_model().objects.all()}
    if LEADER not in users or "demo-inspector" not in users:
        return 0
    hazards = (queryset or SafetyHazard.objects.all()).filter(~Q(ref=""), ref__isnull=False)
    walked = 0
    for hazard in hazards.select_related("reporter", "assignee").order_by("ref"):
        if hazard.events.exists():
            continue
        events, fields = walk(hazard, users, random.Random(f"sample-history-{hazard.ref}"))
        HazardEvent.objects.bulk_create(HazardEvent(hazard=hazard, **e) for e in events)
        if fields:
            SafetyHazard.all_objects.filter(pk=hazard.pk).update(**fields)
        walked += 1
    return walked
