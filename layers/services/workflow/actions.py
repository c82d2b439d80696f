"""The steps of the lifecycle (ACTIONS): the whole state machine on one screen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from layers.services.workflow.reach import (
    _assignee,
    _assignee_or_inspector,
    _duplicate_marker,
    _inspector,
    _leader,
    _reinspector,
)

# The lifecycle's record on the hazard: set by steps only, except by a trusted load of existing
# records (the sample data, `load_sample_data`), which takes them as they stand in the source.
RECORD_FIELDS = (
    "status",
    "deadline",
    "closed_at",
    "responsible_unit",
    "reporter",
    "assignee",
    "reject_reason",
)


@dataclass(frozen=True)
class Action:
    name: str
    zh: str
    en: str
    sources: tuple[str, ...]
    # The status it leads to; None keeps the status (deadlines, supervision).
    target: str | None
    may: Callable[[object, object], str | None]
    needs_photo: bool = False


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("report", "上报", "Report", ("found",), "reported", _inspector),
        Action("assign", "交办", "Assign", ("reported",), "assigned", _leader),
        Action("return", "退回", "Return to dispatch", ("assigned",), "reported", _assignee),
        Action("start", "开始整改", "Start rectification", ("assigned",), "rectifying",
               _assignee_or_inspector),
        Action("rectify", "整改完成", "Record rectification", ("rectifying",), "reinspection",
               _assignee_or_inspector),
        Action("pass", "复查通过·销号", "Pass re-inspection (close)", ("reinspection",),
               "closed", _reinspector),
        Action("fail", "复查不通过", "Fail re-inspection", ("reinspection",), "rectifying",
               _reinspector),
        Action("fix_on_spot", "即查即改", "Fixed on the spot", ("found",), "closed",
               _inspector, needs_photo=True),
        Action("reject", "不予立案", "Reject",
               ("found", "reported", "assigned", "rectifying", "reinspection"), "rejected",
               _leader),
        Action("mark_duplicate", "标记重复", "Mark as duplicate",
               ("found", "reported", "assigned", "rectifying", "reinspection"), "rejected",
               _duplicate_marker),
        Action("set_deadline", "设定期限", "Set deadline",
               ("reported", "assigned", "rectifying", "reinspection"), None, _leader),
        Action("request_extension", "申请延期", "Request extension",
               ("assigned", "rectifying"), None, _assignee_or_inspector),
        Action("decide_extension", "审批延期", "Decide extension",
               ("assigned", "rectifying", "reinspection"), None, _leader),
        Action("supervise", "挂牌督办", "Formal supervision",
               ("found", "reported", "assigned", "rectifying", "reinspection"), None, _leader),
    )
}  # fmt: skip


def legal_actions(hazard) -> list[str]:
    """Actions that can start from the hazard's status (whoever does them)."""
    return [a.name for a in ACTIONS.values() if hazard.status in a.sources]


def allowed_actions(hazard, user) -> list[str]:
    """Actions `user` may do now on `hazard`."""
    if not getattr(user, "is_authenticated", False):
        return []
    out = []
    for name in legal_actions(hazard):
        action = ACTIONS[name]
        if action.may(user, hazard) is None and _state_ok(action, hazard) is None:
            out.append(name)
    return out


def _state_ok(action: Action, hazard) -> str | None:
    """Conditions beyond the status: what a step presupposes about the hazard."""
    if action.name == "fix_on_spot" and hazard.level != "general":
        return "only a general hazard (一般隐患) can be fixed on the spot; report a major one"
    if action.name == "decide_extension" and hazard.extension_until is None:
        return "there is no pending extension request"
    return None
