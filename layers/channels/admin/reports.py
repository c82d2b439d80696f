"""The public reports (随手拍) in the admin, for the record: every report with its photos and
its own timeline, read-only. The one thing done here is hiding a report with offensive content
(editors, with a reason), through the reports service as on the intake page, so the trail is
kept. Contacts are shown to editors only (`roles.can_read_report_contacts`), never changed
here: they are erased by the retention job. Decisions are taken on the intake page."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers

from layers.domain import roles
from layers.domain.models import PublicReport, ReportContact, ReportEvent, ReportPhoto
from layers.services import reports
from layers.services.reports.intake import NOTE_MAX


class NothingWritten:
    """Nothing is added, changed or deleted through the admin: the services write."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(NothingWritten, admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


class ReadOnlyInline(NothingWritten, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class PhotoInline(ReadOnlyInline):
    model = ReportPhoto
    fields = readonly_fields = ("kind", "width", "height", "uploaded_at")


class EventInline(ReadOnlyInline):
    model = ReportEvent
    fields = readonly_fields = ("at", "kind", "public_status", "actor", "data")


class ContactInline(ReadOnlyInline):
    model = ReportContact
    fields = readonly_fields = ("phone", "email", "created_at")

    def has_view_permission(self, request, obj=None):
        return roles.can_read_report_contacts(request.user)


class HideForm(helpers.ActionForm):
    note = forms.CharField(label="隐藏原因 · hiding reason", required=False, max_length=NOTE_MAX)


@admin.register(PublicReport)
class PublicReportAdmin(ReadOnlyAdmin):
    list_display = (
        "code",
        "category",
        "received_at",
        "intake",
        "public_status",
        "grid_cell",
        "accept_due",
        "overdue_since",
        "hidden_at",
    )
    list_filter = ("intake", "public_status", "category", ("hidden_at", admin.EmptyFieldListFilter))
    search_fields = ("code",)
    date_hierarchy = "received_at"
    list_select_related = ("grid_cell",)
    exclude = ("geom",)
    actions = ["hide"]
    action_form = HideForm

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "place"]

    def get_fields(self, request, obj=None):
        return [f for f in self.get_readonly_fields(request, obj) if f != "geom"]

    def get_inlines(self, request, obj):
        inlines = [PhotoInline, EventInline]
        if roles.can_read_report_contacts(request.user):
            inlines.insert(0, ContactInline)
        return inlines

    @admin.display(description="位置 · place (WGS84 lon, lat)")
    def place(self, obj):
        return f"{obj.geom.x:.6f}, {obj.geom.y:.6f}"

    def has_hide_permission(self, request):
        return roles.can_hide_reports(request.user)

    @admin.action(description="隐藏（不当内容）· Hide (offensive content)", permissions=["hide"])
    def hide(self, request, queryset):
        note = request.POST.get("note", "")
        done = 0
        for report in queryset:
            try:
                reports.hide(report.pk, request.user, {"note": note})
            except reports.Invalid as exc:
                message = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
                self.message_user(request, f"{report.code}: {message}", messages.ERROR)
            except reports.ReportError as exc:
                self.message_user(request, f"{report.code}: {exc}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(request, f"已隐藏 · hidden: {done}", messages.SUCCESS)


@admin.register(ReportEvent)
class ReportEventAdmin(ReadOnlyAdmin):
    """Every report's timeline (the audit trail), read-only."""

    list_display = ("at", "report", "kind", "public_status", "actor")
    list_filter = ("kind", "public_status")
    search_fields = ("report__code",)
    list_select_related = ("report", "actor")


@admin.register(ReportContact)
class ReportContactAdmin(ReadOnlyAdmin):
    """Reporters' contacts: editors only; erased by the retention job, not by hand."""

    list_display = ("report", "phone", "email", "created_at")
    search_fields = ("report__code",)
    list_select_related = ("report",)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and roles.can_read_report_contacts(request.user)

    def has_module_permission(self, request):
        allowed = super().has_module_permission(request)
        return allowed and roles.can_read_report_contacts(request.user)
