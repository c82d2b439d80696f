"""Overdue hazards: open, with a deadline before today (computed, never stored)."""

import csv

from django.core.management.base import BaseCommand, CommandError

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.domain.models import GridCell, SafetyHazard


class Command(BaseCommand):
    help = "List the overdue hazards, most overdue first (optionally of one grid cell)."

    def add_arguments(self, parser):
        parser.add_argument("--grid", help="Only this grid cell (its code, e.g. HHC-01-01).")
        parser.add_argument("--format", choices=("text", "csv"), default="text")

    def handle(self, *args, grid=None, format="text", **options):
        hazards = SafetyHazard.objects.filter(SafetyHazard.overdue_q()).select_related(
            "grid_cell", "assignee"
        )
        if grid is not None:
            cell = GridCell.objects.filter(code=grid).first()
            if cell is None:
                raise CommandError(f"no grid cell with code {grid!r}")
            hazards = hazards.filter(grid_cell=cell)
        today = clock.today()
        rows = [
            {
                "ref": h.ref,
                "name": h.name,
                "level": status.HAZARD_LEVEL.label(h.level),
                "status": status.HAZARD_STATUS.label(h.status),
                "grid": h.grid_cell.code if h.grid_cell else "",
                "responsible_unit": h.responsible_unit,
                "assignee": h.assignee.username if h.assignee else "",
                # The 整改期限, or the current step's limit (dispatch) when there is none yet.
                "deadline": (h.deadline or h.due_date).isoformat(),
                "days_overdue": h.overdue_days(today),
                "supervised": "挂牌督办" if h.supervised else "",
            }
            for h in hazards.order_by("deadline", "pk")
        ]
        if format == "csv":
            writer = csv.DictWriter(self.stdout, fieldnames=list(rows[0]) if rows else ["ref"])
            writer.writeheader()
            writer.writerows(rows)
            return
        self.stdout.write(f"逾期隐患 Overdue hazards on {today}: {len(rows)}")
        for r in rows:
            self.stdout.write(
                f"{r['days_overdue']:>4} d  {r['ref']:<8} {r['grid']:<10} {r['level']:<5} "
                f"{r['status']:<6} {r['deadline']}  {r['responsible_unit']}  {r['name']}"
                f"{'  [' + r['supervised'] + ']' if r['supervised'] else ''}"
            )
