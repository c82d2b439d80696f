"""`manage.py workdays FROM N`: the date N working days after FROM, on the Chinese calendar."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from layers.domain import workdays


class Command(BaseCommand):
    help = (
        "Print the ISO date N working days after FROM (YYYY-MM-DD), counting the Chinese "
        "calendar's holidays and make-up workdays (调休)."
    )

    def add_arguments(self, parser):
        parser.add_argument("start", metavar="FROM", help="a date, YYYY-MM-DD")
        parser.add_argument("n", metavar="N", help="working days, 0 to 10000")

    def handle(self, *args, start, n, **options):
        try:
            if len(start) != 10:
                raise ValueError
            day = dt.date.fromisoformat(start)
        except ValueError:
            raise CommandError(f"FROM: {start!r} is not a date YYYY-MM-DD") from None
        if not n.isascii() or not n.isdigit() or int(n) > 10000:
            raise CommandError(f"N: {n!r} is not a whole number of working days from 0 to 10000")
        result = workdays.add(day, int(n))
        if result.year > workdays.known_until():
            self.stderr.write(
                f"warning: the holiday calendar knows years up to {workdays.known_until()}; "
                "later dates count weekends only"
            )
        self.stdout.write(result.isoformat())
