"""The one Django app. Its `ready()` is where the parts that plug into frameworks are named:
role groups after migrate, the admin, the system checks and the job kinds."""

from django.apps import AppConfig, apps
from django.utils.translation import gettext_lazy as _


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = _("Hehuachi layers")

    def ready(self):
        from django.db.models.signals import post_migrate

        from layers.auth.groups import sync_roles

        post_migrate.connect(sync_roles, sender=self)

        from layers.domain import labels

        # Field names in the page's language (before the admin reads them).
        labels.speak_the_page_language(self.get_models())
        if apps.is_installed("axes"):  # its app has no name of its own ("Axes")
            apps.get_app_config("axes").verbose_name = _("Sign-in lockouts")

        import geo_service.checks  # noqa: F401 (registers the serving checks)
        import layers.channels.admin.reports  # noqa: F401 (the public reports, for the record)
        import layers.channels.admin.site  # noqa: F401 (registers every layer's ModelAdmin)
        import layers.io.mbtiles  # noqa: F401 (registers the MBTiles system check)
        import layers.jobs.kinds  # noqa: F401 (registers every job kind with the engine)
        from layers.io import mbtiles as basemap  # noqa: F401 (registers the MBTiles system check)
        from layers.services import reports, sms, workflow

        # Public reports follow their hazard: told after every lifecycle step.
        workflow.after_step(reports.hazard_stepped)
        # Their reporters' text messages are written when the job engine sends them.
        sms.register_composer("report", reports.text_message)

        from layers.channels.api import ledger as api_ledger
        from layers.jobs.kinds import ledger as ledger_jobs

        # The ledger job chooses its rows with the REST list's filters (a job may not import
        # a channel).
        ledger_jobs.use_query(api_ledger.for_job)
