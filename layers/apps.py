from django.apps import AppConfig


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = "荷花池图层 Hehuachi layers"

    def ready(self):
        from django.db.models.signals import post_migrate

        from layers.auth.groups import sync_roles

        post_migrate.connect(sync_roles, sender=self)

        import geo_service.checks  # noqa: F401 (registers the serving checks)
        from layers.io import mbtiles as basemap  # noqa: F401 (registers the MBTiles system check)
