"""`manage.py remind [--dry-run]`: the reminder pass by hand (the periodic job runs the same)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from layers.domain import clock
from layers.services import reminders


class Command(BaseCommand):
    help = (
        "Remind before a limit, mark 超期 after it, put under 挂牌督办 after the second limit; "
        "prints one line per notice. --dry-run prints what it would send and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print only; send nothing.")

    def handle(self, *args, dry_run=False, **options):
        lines = reminders.run(dry_run=dry_run)
        head = "would send" if dry_run else "sent"
        self.stdout.write(f"# {clock.today()}: {head} {len(lines)}")
        for line in lines:
            self.stdout.write(line)
