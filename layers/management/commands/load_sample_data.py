"""manage.py load_sample_data: load the illustrative old-town data; running it twice is a no-op."""

from django.core.management.base import BaseCommand, CommandError

from geo_service.env import env
from layers.services.loading import LoadError
from layers.services.sample import load_sample_data


class Command(BaseCommand):
    help = "Load the illustrative (示意) sample data of every layer from fixtures/ (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-password",
            default=None,
            help="Password for the demo users (default: DEMO_PASSWORD from the environment / "
            ".env; without one the demo users cannot log in).",
        )

    def handle(self, *args, demo_password=None, **options):
        password = demo_password or env("DEMO_PASSWORD") or None
        try:
            results = load_sample_data(password=password)
        except LoadError as exc:
            raise CommandError(f"sample data not loaded, nothing changed: {exc}") from exc
        for slug, r in results.items():
            self.stdout.write(
                f"{slug:18} created {r.created:4}  updated {r.updated:4}  unchanged {r.unchanged:4}"
            )
        self.stdout.write(self.style.SUCCESS("Sample data loaded (示意数据 illustrative)."))
