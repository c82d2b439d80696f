"""The admin's own list filters of every layer: deleted or live, and the rows an import wrote."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from layers.domain.models import Job
from layers.jobs import engine as jobs


class DeletedFilter(admin.SimpleListFilter):
    title = _("deletion")
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", _("live")), ("yes", _("deleted")), ("all", _("all")))

    def choices(self, changelist):
        value = self.value() or "no"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or "no"
        if value == "no":
            return queryset.filter(deleted_at__isnull=True)
        if value == "yes":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ImportJobFilter(admin.SimpleListFilter):
    """`?import_job=<id>`: the rows an import job wrote (its page links here). Shown only when
    asked for; a job the editor may not see, or of another layer, lists nothing."""

    title = _("import")
    parameter_name = "import_job"

    def _ids(self, request, model_admin) -> list[int] | None:
        raw = self.value()
        if not raw or not raw.isdigit():
            return None
        job = Job.objects.filter(pk=int(raw), kind="import_layer").first()
        if job is None or not jobs.visible_to(job, request.user):
            return None
        if (job.params or {}).get("layer") != model_admin.spec.slug:
            return None
        return list((job.report or {}).get("ids") or [])

    def lookups(self, request, model_admin):
        value = self.value()
        if not value:
            return ()
        found = self._ids(request, model_admin)
        if found is None:
            return ((value, _("no such import")),)
        return ((value, _("import #%(job)s (%(n)s rows)") % {"job": value, "n": len(found)}),)

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        found = self._ids(request, self.model_admin)
        return queryset.filter(pk__in=found or [])

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)
