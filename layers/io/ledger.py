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


# Rows are read from the database this many at a time (a server-side cursor): a ledger of any
# size holds one chunk of hazards in memory, and openpyxl's write-only mode keeps no cell.
CHUNK_ROWS = 2000
DATETIME_COLUMNS = (7, 12, 13, 14)
DATE_COLUMNS = (9,)


def write(queryset, target, progress=None, *, total: int | None = None) -> int:
    """Write the ledger of `queryset` (hazards) to `target` (a path or a binary file) and
    return its number of rows. openpyxl's write-only mode streams each row to a temporary
    file and the rows come from a server-side cursor CHUNK_ROWS at a time, so memory does not
    grow with the ledger. `progress(done, total)` is called after every chunk (and at the
    end); `total` is counted when not given."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    today = clock.today()
    if progress is not None and total is None:
        total = queryset.count()
    book = Workbook(write_only=True)
    sheet = book.create_sheet("隐患台账")
    # What the sheet's head holds (panes, widths) is set before the first row is written.
    sheet.freeze_panes = "A2"
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")
    centred = Alignment(horizontal="center")
    head = []
    for text in HEADERS:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.fill, cell.alignment = bold, fill, centred
        head.append(cell)
    sheet.append(head)
    formats = dict.fromkeys(DATETIME_COLUMNS, DATETIME_FORMAT) | dict.fromkeys(
        DATE_COLUMNS, DATE_FORMAT
    )
    formats = {column - 1: number_format for column, number_format in formats.items()}
    done = 0
    for hazard in with_rectification(queryset).iterator(chunk_size=CHUNK_ROWS):
        values = row(hazard, today)
        for index, number_format in formats.items():
            cell = WriteOnlyCell(sheet, value=values[index])
            cell.number_format = number_format
            values[index] = cell
        sheet.append(values)
        done += 1
        if progress is not None and done % CHUNK_ROWS == 0:
            progress(done, total)
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{done + 1}"
    book.save(target)
    if progress is not None:
        progress(done, total)
    return done


def workbook_bytes(queryset) -> bytes:
    """The ledger of `queryset` (hazards) as XLSX bytes (small ledgers; `write` streams)."""
    out = io.BytesIO()
    write(queryset, out)
    return out.getvalue()
