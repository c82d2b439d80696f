"""The admin, generated from the layer registry: one ModelAdmin class serves every layer.

Edits are checked against the version the editor opened (no lost edits), deletes are soft and
restorable, history is kept, and the map widget works offline.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from layers.channels.admin.filters import DeletedFilter, ImportJobFilter
from layers.channels.admin.widgets import LocalMapWidget
from layers.domain import labels, language, registry
from layers.domain.models import TimeLimit, WebhookDelivery, WebhookEndpoint
from layers.query import people
from layers.services import editing

# One language per page: every string here is English in the code and Chinese in
# locale/zh_Hans (the admin follows the page's language like every page).
admin.site.site_header = _("Hehuachi map service · administration (illustrative data)")
admin.site.site_title = _("Hehuachi map administration")
admin.site.index_title = _("Layers")


class VersionCheckedForm(forms.ModelForm):
    """Refuses to save over a change made by someone else since the form was opened."""

    seen_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["seen_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            model = type(self.instance)
            # The admin view runs in a transaction: the row stays locked until it is saved.
            locked = model.all_objects.select_for_update().get(pk=self.instance.pk)
            seen = cleaned.get("seen_version")
            # Versions written only by derived-link changes do not make the form stale.
            if not editing.is_current(locked, seen):
                current = locked.version
                raise ValidationError(
                    _(
                        "This feature was changed by someone else (now version %(current)s, "
                        "you opened version %(seen)s); reload it and edit again."
                    )
                    % {"current": current, "seen": seen},
                    code="stale_version",
                )
            # The form's instance was read before the lock: save on from the locked version.
            self.instance.version = locked.version
        return cleaned

    def _post_clean(self):
        super()._post_clean()  # the model's own full_clean
        for name, errors in editing.list_field_errors(self.instance).items():
            self.add_error(name if name in self.fields else None, errors)


class PageLanguageAdmin:
    """Form fields' help texts in the page's language (field names are, by labels.py), and
    the list's editable cells named (the stock admin leaves them without a label)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and formfield.help_text:
            formfield.help_text = labels.help_text(formfield.help_text)
        # A date-and-time field is two inputs under one label: each gets a name of its own.
        parts = getattr(getattr(formfield, "widget", None), "widgets", None)
        if parts and len(parts) == 2 and isinstance(formfield, forms.SplitDateTimeField):
            for part, word in zip(parts, (_("date"), _("time")), strict=True):
                part.attrs["aria-label"] = f"{formfield.label} · {word}"
        return formfield

    def get_changelist_form(self, request, **kwargs):
        base = super().get_changelist_form(request, **kwargs)

        class Named(base):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                for field in self.fields.values():
                    field.widget.attrs["aria-label"] = f"{self.instance} · {field.label}"

        return Named


class LayerAdmin(PageLanguageAdmin, SimpleHistoryAdmin, GISModelAdmin):
    """Configured per layer by `admin_for(spec)`; no per-layer admin code."""

    form = VersionCheckedForm
    gis_widget = LocalMapWidget
    spec: registry.LayerSpec
    actions = ["restore_selected"]
    list_per_page = 50

    def get_queryset(self, request):
        return self.model.all_objects.all()

    def get_readonly_fields(self, request, obj=None):
        derived = [
            f.name
            for f in self.model._meta.get_fields()
            if getattr(f, "editable", True) is False and f.concrete and not f.primary_key
        ]
        return derived

    def get_deleted_objects(self, objs, request):
        """Deletion is soft: only the selected features are hidden; nothing cascades and
        nothing is protected (a community keeps its grid cells; links are re-derived)."""
        objs = list(objs)
        count = {self.model._meta.verbose_name_plural: len(objs)}
        return [str(obj) for obj in objs], count, set(), []

    # Writes go through layers.services.editing, as the API's do: derived links follow in SQL.
    def delete_model(self, request, obj):
        editing.soft_delete(obj, request.user)

    def delete_queryset(self, request, queryset):
        for obj in queryset.filter(deleted_at__isnull=True):
            editing.soft_delete(obj, request.user)

    def save_model(self, request, obj, form, change):
        editing.save(obj, request.user)

    @admin.action(description=_("Restore the selected deleted features"), permissions=["change"])
    def restore_selected(self, request, queryset):
        restored = 0
        for obj in queryset.filter(deleted_at__isnull=False):
            editing.restore(obj, request.user)
            restored += 1
        self.message_user(
            request, _("%(n)s features restored.") % {"n": restored}, messages.SUCCESS
        )


BOOL_CHOICES = (("", "—"), ("true", _("yes")), ("false", _("no")))


class StepForm(forms.Form):
    """One lifecycle step for the selected hazards; the workflow checks everything."""

    step = forms.ChoiceField(label=_("Step"))
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    responsible_unit = forms.CharField(label=_("Responsible unit"), required=False)
    assignee = forms.CharField(label=_("Assignee (user name)"), required=False)
    deadline = forms.DateField(
        label=_("Deadline"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.ChoiceField(label=_("Reason"), required=False)
    duplicate_of = forms.IntegerField(label=_("Duplicate of (hazard id)"), required=False)
    until = forms.DateField(
        label=_("Extend until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    approve = forms.ChoiceField(
        label=_("Approve the extension"), choices=BOOL_CHOICES, required=False
    )
    on = forms.ChoiceField(label=_("Formal supervision on"), choices=BOOL_CHOICES, required=False)

    def __init__(self, *args, workflow, **kwargs):
        super().__init__(*args, **kwargs)
        from layers.domain import vocabularies as status

        self.fields["step"].choices = [
            (name, language.pick((a.zh, a.en))) for name, a in workflow.ACTIONS.items()
        ]
        # 不予立案 reasons for `reject`, 退回 reasons for `return` (the workflow checks which).
        self.fields["reason"].choices = [
            ("", "—"),
            *status.HAZARD_REJECT_REASON.choices,
            *status.HAZARD_RETURN_REASON.choices,
        ]

    def step_data(self) -> dict:
        """The step's inputs as the workflow takes them (dates as YYYY-MM-DD, flags as text)."""
        data = {}
        for name, value in self.cleaned_data.items():
            if name == "step" or value in (None, ""):
                continue
            data[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
        return data


class WorkflowAdminMixin:
    """Steps of the lifecycle from the admin: recorded by the workflow, never by writing status."""

    @admin.action(description=_("Record a lifecycle step"), permissions=["change"])
    def record_step(self, request, queryset):
        wf = self.spec.workflow_module
        if "apply" in request.POST:
            form = StepForm(request.POST, workflow=wf)
            if form.is_valid():
                step, data = form.cleaned_data["step"], form.step_data()
                done = 0
                for hazard in queryset.order_by("pk"):
                    try:
                        wf.perform(hazard.pk, step, request.user, dict(data))
                    except (wf.WorkflowError, editing.Missing) as exc:
                        self.message_user(request, f"{hazard.pk} {hazard}: {exc}", messages.ERROR)
                    else:
                        done += 1
                if done:
                    label = wf.ACTIONS[step]
                    self.message_user(
                        request,
                        _("“%(step)s” recorded for %(n)s hazards.")
                        % {"step": language.pick((label.zh, label.en)), "n": done},
                        messages.SUCCESS,
                    )
                return None
        else:
            form = StepForm(workflow=wf)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a lifecycle step"),
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "inputs": {name: [i[0] for i in inputs] for name, inputs in wf.STEP_INPUTS.items()},
        }
        return TemplateResponse(request, "admin/layers/record_step.html", context)


def _person_column(field):
    @admin.display(description=field.verbose_name, ordering=field.name)
    def column(self, obj):
        return people.display_name(getattr(obj, field.name)) or "—"

    return column


def admin_for(spec: registry.LayerSpec) -> type[LayerAdmin]:
    model = spec.model
    field_names = {f.name for f in model._meta.get_fields()}
    # Popups may list computed properties (spec.computed_labels); the admin lists model fields.
    popup = [f for f in spec.popup_fields if f in field_names]
    # People by their names, never by their user names (the column sorts by the account).
    people_columns = {
        name: _person_column(model._meta.get_field(name))
        for name in popup
        if getattr(model._meta.get_field(name), "related_model", None) is get_user_model()
    }
    list_display = [
        "__str__",
        *[f"{f}_person" if f in people_columns else f for f in popup if f != "name"],
        "version",
    ]
    list_filter = [spec.status_field, *spec.filter_fields, DeletedFilter, ImportJobFilter]
    search = ["name", "name_en", "ref", *spec.search_fields]
    attrs = {
        **{f"{name}_person": column for name, column in people_columns.items()},
        "spec": spec,
        "list_display": list_display,
        "list_filter": list_filter,
        "search_fields": [f for f in search if f in field_names],
        "list_select_related": [
            f for f in popup if getattr(model._meta.get_field(f), "many_to_one", False)
        ],
        "autocomplete_fields": [],
    }
    bases: tuple[type, ...] = (LayerAdmin,)
    if spec.workflow is not None:
        bases = (WorkflowAdminMixin, LayerAdmin)
        attrs["actions"] = [*LayerAdmin.actions, "record_step"]
    return type(f"{model.__name__}Admin", bases, attrs)


for _spec in registry.LAYERS:
    admin.site.register(_spec.model, admin_for(_spec))


# -- Sign-in lockouts (layers/auth/lockout.py): editors see them and lift them ---------------
def _lockout_admin():
    from axes.admin import AccessAttemptAdmin
    from axes.models import AccessAttempt
    from django.utils import timezone

    from layers.auth import lockout

    class LockoutAdmin(AccessAttemptAdmin):
        """axes' list of failed sign-ins (one row per user name, address and browser), with
        when each paused pair may sign in again, and the editors' unlock action."""

        actions = ["unlock"]
        list_display = [
            "username",
            "ip_address",
            "failures_since_start",
            "attempt_time",
            "paused_until",
            "path_info",
        ]

        @admin.display(description=_("paused until"))
        def paused_until(self, obj):
            ends = lockout.pause_ends(obj)
            return timezone.localtime(ends).strftime("%H:%M") if ends else "—"

        @admin.action(description=_("Unlock sign-in"), permissions=["delete"])
        def unlock(self, request, queryset):
            names = sorted({str(a.username or a.ip_address) for a in queryset})
            removed = lockout.unlock(queryset)
            self.message_user(
                request,
                _("Unlocked: %(names)s (%(n)s)") % {"names": ", ".join(names), "n": removed},
                messages.SUCCESS,
            )

    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, LockoutAdmin)


_lockout_admin()


@admin.register(TimeLimit)
class TimeLimitAdmin(PageLanguageAdmin, admin.ModelAdmin):
    """办理时限: editors keep the limits of the hazard loop here (working days)."""

    list_display = (
        "category",
        "level",
        "dispatch_days",
        "rectify_days",
        "reinspect_days",
        "accept_days",
        "escalate_days",
    )
    list_editable = (
        "dispatch_days",
        "rectify_days",
        "reinspect_days",
        "accept_days",
        "escalate_days",
    )
    list_filter = ("level", "category")
    ordering = ("level", "category")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(PageLanguageAdmin, admin.ModelAdmin):
    """Receivers of signed notices (docs/HAZARDS.md, Notifications)."""

    list_display = ("name", "url", "active", "events")
    list_filter = ("active",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log: read-only."""

    list_display = ("created_at", "endpoint", "event", "key", "status", "attempts", "last_error")
    list_filter = ("status", "endpoint", "event")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
