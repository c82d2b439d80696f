"""manage.py layers: every registered layer with its geometry, audience and feature count."""

from django.core.management.base import BaseCommand

from layers.domain import registry


class Command(BaseCommand):
    help = "List the layers of the registry with their feature counts."

    def handle(self, *args, **options):
        header = f"{'slug':18} {'geometry':13} {'audience':9} {'count':>6} {'deleted':>7}  title"
        self.stdout.write(header)
        for spec in registry.LAYERS:
            live = spec.model.objects.count()
            deleted = spec.model.all_objects.filter(deleted_at__isnull=False).count()
            self.stdout.write(
                f"{spec.slug:18} {spec.geometry_type:13} {spec.audience:9} {live:6} {deleted:7}"
                f"  {spec.title_zh} / {spec.title_en}"
            )
