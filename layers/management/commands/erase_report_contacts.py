"""Erase the contacts of public reports closed more than REPORT_CONTACT_RETENTION_DAYS ago (a
periodic job does it daily; this is the same by hand, e.g. after changing the retention)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from layers.services import reports
from layers.services.reports.privacy import expired_contacts


class Command(BaseCommand):
    help = "Erase reporters' contacts whose retention after closing has passed."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count, erase nothing")

    def handle(self, *args, dry_run=False, **options):
        if dry_run:
            count = expired_contacts().count()
            self.stdout.write(f"{count} contact(s) would be erased.")
            return
        count = reports.erase_expired_contacts()
        self.stdout.write(f"{count} contact(s) erased.")
