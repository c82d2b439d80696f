"""The progress report as files: an XLSX workbook and one A4 (landscape) PDF page, two dates
side by side per renovation site (layers/query/progress.py reads them from history)."""

from __future__ import annotations

import io

from layers.query.progress import FIGURES, SiteRow

LABELS = {
    "zh": {
        "title": "改造项目进度报告",
        "site": "项目",
        "kind": "类型",
        "stage": "阶段",
        "progress": "进度(%)",
        "households_total": "涉及户数",
        "households_signed": "已签约户数",
        "households_vacated": "已腾房户数",
        "change": "变化",
        "none": "（不存在）",
        "note": "数据来自各项目的历史记录；示意数据。",
    },
    "en": {
        "title": "Renovation progress report",
        "site": "Site",
        "kind": "Kind",
        "stage": "Stage",
        "progress": "Progress (%)",
        "households_total": "Households",
        "households_signed": "Signed",
        "households_vacated": "Vacated",
        "change": "change",
        "none": "(not there)",
        "note": "From each site's history; illustrative data.",
    },
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    return "'" + value if value and value.startswith(FORMULA_START) else value


def headers(first: str, second: str, lang: str) -> list[str]:
    t = LABELS[lang]
    out = [t["site"], t["kind"], f"{t['stage']} {first}", f"{t['stage']} {second}"]
    for name in FIGURES:
        out += [f"{t[name]} {first}", f"{t[name]} {second}", f"{t[name]} {t['change']}"]
    return out


def cells(row: SiteRow, lang: str) -> list:
    t = LABELS[lang]
    out = [_text(row.name), row.kind, row.stage[0] or t["none"], row.stage[1] or t["none"]]
    for name in FIGURES:
        a, b = row.figures[name]
        out += [a, b, row.change(name)]
    return out


def workbook_bytes(rows: list[SiteRow], first: str, second: str, lang: str = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = LABELS[lang]["title"][:31]
    sheet.append(headers(first, second, lang))
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for row in rows:
        sheet.append(cells(row, lang))
    sheet.column_dimensions["A"].width = 34
    for index in range(2, len(headers(first, second, lang)) + 1):
        sheet.column_dimensions[get_column_letter(index)].width = 12
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf_bytes(rows: list[SiteRow], first: str, second: str, lang: str = "zh") -> bytes:
    """One A4 landscape page: the title, the dates, a table of every site."""
    from layers.io.printing import _setup_matplotlib

    plt = _setup_matplotlib()
    t = LABELS[lang]
    fig = plt.figure(figsize=(297 / 25.4, 210 / 25.4))
    fig.text(0.04, 0.95, t["title"], fontsize=16, fontweight="bold", va="top")
    fig.text(0.04, 0.905, f"{first} → {second}", fontsize=11, va="top")
    columns = [t["site"], t["stage"] + " " + first, t["stage"] + " " + second]
    for name in ("progress", "households_signed", "households_vacated"):
        columns += [f"{t[name]}\n{first}", f"{t[name]}\n{second}", t["change"]]
    body = []
    for row in rows:
        line = [row.name, row.stage[0] or t["none"], row.stage[1] or t["none"]]
        for name in ("progress", "households_signed", "households_vacated"):
            a, b = row.figures[name]
            change = row.change(name)
            line += [
                "" if a is None else str(a),
                "" if b is None else str(b),
                "" if change is None else f"{change:+d}",
            ]
        body.append(line)
    ax = fig.add_axes([0.03, 0.08, 0.94, 0.78])
    ax.axis("off")
    if body:
        table = ax.table(cellText=body, colLabels=columns, loc="upper center", cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(6.5)
        table.scale(1, 1.25)
        for (r, c), cell in table.get_celld().items():
            if c == 0:
                cell.set_text_props(ha="left")
                cell.set_width(0.22)
            else:
                cell.set_width(0.059)
            if r == 0:
                cell.set_facecolor("#dde6f0")
                cell.set_height(cell.get_height() * 2)
    fig.text(0.04, 0.04, t["note"], fontsize=7)
    out = io.BytesIO()
    fig.savefig(out, format="pdf", metadata={"Title": t["title"], "Creator": "Hehuachi"})
    plt.close(fig)
    return out.getvalue()
