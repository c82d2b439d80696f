"""The hazard ledger (隐患台账): an XLSX workbook of hazards with the columns a subdistrict
files, Chinese headers. The rows are whatever queryset the caller filtered (the API passes the
list's filters), in its order.
"""

from __future__ import annotations

import datetime as dt
import io

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.io.cells import neutralise

HEADERS = (
    "编号",
    "地点/名称",
    "所在网格",
    "所在社区",
    "隐患类别",
    "隐患等级",
    "发现时间",
    "责任单位",
    "整改期限",
    "处置状态",
    "整改情况",
    "整改完成时间",
    "复查时间",
    "销号时间",
    "逾期天数",
    "挂牌督办",
    "剩余工作日",
)
# 剩余工作日: working days to the current step's limit (negative: overdue by so many working
# days), on the Chinese calendar; empty for closed hazards and those without a limit.
WIDTHS = (12, 28, 12, 14, 16, 10, 17, 20, 12, 12, 36, 17, 17, 17, 9, 9, 11)
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def with_rectification(queryset):
    """Annotate each hazard with the note of its latest recorded rectification (整改情况)."""
    from layers.domain.models import HazardEvent

    latest = HazardEvent.objects.filter(hazard=OuterRef("pk"), action="rectify").order_by(
        "-at", "-pk"
    )
    from layers.domain.models import SafetyHazard

    return queryset.select_related("grid_cell", "community").annotate(
        rectification_note=Subquery(latest.values("note")[:1]),
        left_workdays=SafetyHazard.workdays_left_expression(),
    )


def _local(value: dt.datetime | None):
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def row(hazard, today: dt.date) -> list:
    overdue = hazard.is_overdue
    return [
        hazard.ref or str(hazard.pk),
        neutralise(hazard.name),
        hazard.grid_cell.code if hazard.grid_cell else "",
        hazard.community.name if hazard.community else "",
        status.HAZARD_CATEGORY.label(hazard.category),
        status.HAZARD_LEVEL.label(hazard.level),
        _local(hazard.found_at),
        neutralise(hazard.responsible_unit),
        hazard.deadline,
        status.HAZARD_STATUS.label(hazard.status),
        neutralise(hazard.rectification_note or ""),
        _local(hazard.rectified_at),
        _local(hazard.reinspected_at),
        _local(hazard.closed_at) if hazard.status == "closed" else None,
        hazard.overdue_days(today) if overdue else 0,
        "是" if hazard.supervised else "否",
        hazard.left_workdays,
    ]


def workbook_bytes(queryset) -> bytes:
    """The ledger of `queryset` (hazards) as XLSX bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    today = clock.today()
    book = Workbook()
    sheet = book.active
    sheet.title = "隐患台账"
    sheet.append(HEADERS)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center")
    for hazard in with_rectification(queryset).iterator(chunk_size=500):
        sheet.append(row(hazard, today))
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for column in (7, 12, 13, 14):
        for cell in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
            cell[0].number_format = DATETIME_FORMAT
    for cell in sheet.iter_rows(min_row=2, min_col=9, max_col=9):
        cell[0].number_format = DATE_FORMAT
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{sheet.max_row}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
