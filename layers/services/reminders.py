"""The reminder pass: reminders before a limit, 超期 after it, 挂牌督办 after the second limit.

Run by a periodic job (layers/jobs/tasks.py, on the worker `make run` starts) and by hand with
`manage.py remind [--dry-run]`; both call `run()`. For every open hazard with a limit on its
current step (`due_date`, else its 整改期限), on the service clock's today:

1. one working day (or less) before the limit: remind who holds the step (the leaders for
   dispatch, the assignee while assigned or rectifying, the grid cell's inspector for the
   re-inspection; the leaders when there is nobody);
2. past the limit: mark it 超期 (`overdue_since`, an "overdue" timeline entry) and tell the
   leaders and the holder;
3. past the limit by the table's `escalate_days` working days: put it under formal
   supervision (挂牌督办, an "escalate" timeline entry) and tell the leaders and the holder.

The same three steps hold for a public report (随手拍) not yet answered, against its
acceptance limit (`PublicReport.accept_due`, TimeLimit.accept_days working days after it was
received): the reminder goes to who takes it in (the grid cell's inspector, and the leaders),
the 超期 mark (`overdue_since`) and the escalation (`escalated_on`, after the category's
`escalate_days`) to the leaders and the cell's inspector, each with an entry in the report's
timeline. Their notices lead to the intake page.

Running it twice sends nothing twice: each notice's key names the hazard (or report) and the
limit, and the marks (overdue_since, supervised, escalated_on) are written once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction

from layers.domain import clock, registry, workdays
from layers.domain import vocabularies as status
from layers.services import editing, notifications
from layers.services.workflow import deadlines

STEP_NAMES = {
    "reported": ("派遣", "dispatch"),
    "assigned": ("整改", "rectification"),
    "rectifying": ("整改", "rectification"),
    "reinspection": ("复查", "re-inspection"),
}


@dataclass
class Plan:
    hazard_id: int | None  # None for a public report's acceptance limit
    kind: str  # reminder, overdue, escalated
    due: dt.date
    recipients: list = field(default_factory=list)
    line: str = ""
    report_id: int | None = None


def holders(hazard) -> list:
    """Who holds the hazard's current step."""
    if hazard.status in ("assigned", "rectifying") and hazard.assignee is not None:
        return [hazard.assignee]
    if hazard.status == "reinspection" and hazard.grid_cell and hazard.grid_cell.worker:
        return [hazard.grid_cell.worker]
    return list(notifications.leaders())


def plan(today: dt.date | None = None) -> list[Plan]:
    """What the pass would do today (reads only)."""
    from layers.domain.models import SafetyHazard

    today = today or clock.today()
    hazards = (
        SafetyHazard.objects.filter(status__in=status.HAZARD_OPEN_STATUSES)
        .exclude(due_date__isnull=True, deadline__isnull=True)
        .select_related("assignee", "grid_cell__worker")
        .order_by("pk")
    )
    out: list[Plan] = []
    for hazard in hazards:
        due = hazard.current_due
        step_zh, _step_en = STEP_NAMES.get(hazard.status, ("处置", "handling"))
        left = workdays.between(today, due)
        who = holders(hazard)
        label = f"{hazard.ref or hazard.pk} {hazard.name}"
        if 0 <= left <= 1 and due >= today:
            out.append(
                Plan(hazard.pk, "reminder", due, who, f"reminder  {label}: {step_zh}期限 {due}")
            )
        if due < today:
            everyone = [*notifications.leaders(), *who]
            if hazard.overdue_since is None:
                out.append(
                    Plan(hazard.pk, "overdue", due, everyone, f"overdue   {label}: 期限 {due}")
                )
            if not hazard.supervised and today >= deadlines.escalation_date(hazard, due):
                out.append(
                    Plan(hazard.pk, "escalated", due, everyone, f"escalated {label}: 挂牌督办")
                )
    return out + _report_plans(today)


def report_holders(report) -> list:
    """Who answers a new report: the leaders, and its grid cell's inspector."""
    people = list(notifications.leaders())
    if report.grid_cell is not None and report.grid_cell.worker is not None:
        people.append(report.grid_cell.worker)
    return people


def _report_plans(today: dt.date) -> list[Plan]:
    """The reminder pass's steps for the public reports not answered yet (reads only)."""
    from layers.domain.models import PublicReport

    found = (
        PublicReport.objects.filter(intake="new", hidden_at__isnull=True, accept_due__isnull=False)
        .select_related("grid_cell__worker")
        .order_by("pk")
    )
    out: list[Plan] = []
    for report in found:
        due, who = report.accept_due, report_holders(report)
        label = f"随手拍 {report.code}"

        def add(kind: str, line: str, report=report, due=due, who=who) -> None:
            out.append(Plan(None, kind, due, who, line, report_id=report.pk))

        if 0 <= workdays.between(today, due) <= 1 and due >= today:
            add("reminder", f"reminder  {label}: 受理期限 {due}")
        if due < today:
            if report.overdue_since is None:
                add("overdue", f"overdue   {label}: 受理期限 {due}")
            if report.escalated_on is None and today >= deadlines.escalation_date(report, due):
                add("escalated", f"escalated {label}: 超期未受理，督办")
    return out


def run(*, dry_run: bool = False, today: dt.date | None = None) -> list[str]:
    """Do today's pass; returns one line per notice sent (or that would be, with dry_run)."""
    today = today or clock.today()
    plans = plan(today)
    if dry_run:
        return [p.line for p in plans]
    workdays.sync()
    lines = []
    for item in plans:
        if _apply(item, today):
            lines.append(item.line)
    return lines


def _apply(item: Plan, today: dt.date) -> bool:
    from layers.domain.models import HazardEvent

    if item.report_id is not None:
        return _apply_to_report(item, today)

    spec = registry.get("hazards")
    with transaction.atomic():
        try:
            hazard = editing.lock(spec, item.hazard_id)
        except editing.Missing:
            return False
        if hazard.current_due != item.due or hazard.status not in status.HAZARD_OPEN_STATUSES:
            return False  # a step moved it on since the plan was read
        step_zh, step_en = STEP_NAMES.get(hazard.status, ("处置", "handling"))
        if item.kind == "overdue":
            if hazard.overdue_since is not None:
                return False
            editing.update(hazard, {"overdue_since": today}, None)
            HazardEvent.objects.create(
                hazard=hazard,
                action="overdue",
                from_status=hazard.status,
                to_status=hazard.status,
                actor=None,
                data={"due": str(item.due), "step": step_en},
            )
            title, body = f"超期：{hazard.name}", f"{step_zh}期限 {item.due} 已过，请尽快办理。"
        elif item.kind == "escalated":
            if hazard.supervised:
                return False
            editing.update(hazard, {"supervised": True}, None)
            HazardEvent.objects.create(
                hazard=hazard,
                action="escalate",
                from_status=hazard.status,
                to_status=hazard.status,
                actor=None,
                data={"due": str(item.due), "step": step_en, "on": True},
            )
            title = f"挂牌督办：{hazard.name}"
            body = f"{step_zh}期限 {item.due} 超期未办，已挂牌督办。"
        else:
            title = f"期限将至：{hazard.name}"
            left = workdays.between(today, item.due)
            body = f"{step_zh}期限 {item.due}（剩余 {left} 个工作日）。"
        sent = notifications.notify(
            item.kind,
            hazard,
            item.recipients,
            key=f"{item.kind}:h{hazard.pk}:{item.due}",
            title=title,
            body=body,
        )
        return bool(sent) or item.kind != "reminder"


def _apply_to_report(item: Plan, today: dt.date) -> bool:
    from layers.domain.models import PublicReport, ReportEvent

    with transaction.atomic():
        report = PublicReport.objects.select_for_update().filter(pk=item.report_id).first()
        if report is None or report.intake != "new" or report.hidden_at is not None:
            return False  # answered (or hidden) since the plan was read
        if report.accept_due != item.due:
            return False
        label = f"随手拍 {report.code}（{status.HAZARD_CATEGORY.label(report.category)}）"
        if item.kind in ("overdue", "escalated"):
            mark = "overdue_since" if item.kind == "overdue" else "escalated_on"
            if getattr(report, mark) is not None:
                return False
            setattr(report, mark, today)
            report.save(update_fields=[mark])
            ReportEvent.objects.create(report=report, kind=item.kind, data={"due": str(item.due)})
        if item.kind == "overdue":
            title, body = f"受理超期：{label}", f"受理期限 {item.due} 已过，请尽快受理或答复。"
        elif item.kind == "escalated":
            title = f"督办：{label}"
            body = f"受理期限 {item.due} 超期未答复，已提请督办。"
        else:
            left = workdays.between(today, item.due)
            title = f"受理期限将至：{label}"
            body = f"受理期限 {item.due}（剩余 {left} 个工作日）。"
        sent = notifications.notify(
            item.kind,
            None,
            item.recipients,
            key=f"report_{item.kind}:r{report.pk}:{item.due}",
            title=title,
            body=body,
            link=f"/reports/intake/#report-{report.code}",
            about={"report": {"code": report.code, "accept_due": str(item.due)}},
        )
        return bool(sent) or item.kind != "reminder"
