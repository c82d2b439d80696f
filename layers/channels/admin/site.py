"""The admin, generated from the layer registry: one ModelAdmin class serves every layer.

Edits are checked against the version the editor opened (no lost edits), deletes are soft and
restorable, history is kept, and the map widget works offline.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.gis.admin import GISModelAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin

from layers.channels.admin.widgets import LocalMapWidget
from layers.domain import registry
from layers.domain.models import TimeLimit, WebhookDelivery, WebhookEndpoint
from layers.services import editing

admin.site.site_header = "荷花池街道地图服务 · 管理 (示意数据 illustrative data)"
admin.site.site_title = "荷花池地图管理"
admin.site.index_title = "图层 Layers"


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
                    f"此要素已被他人修改 (当前版本 {current}，您打开的是版本 {seen})，"
                    "请刷新后重新编辑。"
                    f" This feature was changed by someone else (now version {current}, you "
                    f"opened version {seen}); reload it and edit again.",
                    code="stale_version",
                )
            # The form's instance was read before the lock: save on from the locked version.
            self.instance.version = locked.version
        return cleaned

    def _post_clean(self):
        super()._post_clean()  # the model's own full_clean
        for name, errors in editing.list_field_errors(self.instance).items():
            self.add_error(name if name in self.fields else None, errors)


class DeletedFilter(admin.SimpleListFilter):
    title = "删除状态 deleted"
    parameter_name = "deleted"

    def lookups(self, request, model_admin):
        return (("no", "未删除 live"), ("yes", "已删除 deleted"), ("all", "全部 all"))

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


class LayerAdmin(SimpleHistoryAdmin, GISModelAdmin):
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

    @admin.action(description="恢复所选已删除要素 Restore selected", permissions=["change"])
    def restore_selected(self, request, queryset):
        restored = 0
        for obj in queryset.filter(deleted_at__isnull=False):
            editing.restore(obj, request.user)
            restored += 1
        self.message_user(
            request, f"已恢复 {restored} 个要素 / restored {restored}.", messages.SUCCESS
        )


BOOL_CHOICES = (("", "—"), ("true", "是 yes"), ("false", "否 no"))


class StepForm(forms.Form):
    """One lifecycle step for the selected hazards; the workflow checks everything."""

    step = forms.ChoiceField(label="步骤 Step")
    note = forms.CharField(
        label="说明 Note", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    responsible_unit = forms.CharField(label="责任单位 Responsible unit", required=False)
    assignee = forms.CharField(label="承办人（用户名）Assignee (user name)", required=False)
    deadline = forms.DateField(
        label="整改期限 Deadline", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.ChoiceField(label="原因 Reason", required=False)
    duplicate_of = forms.IntegerField(label="重复于隐患编号 Duplicate of (id)", required=False)
    until = forms.DateField(
        label="申请延期至 Extend until",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    approve = forms.ChoiceField(label="批准延期 Approve", choices=BOOL_CHOICES, required=False)
    on = forms.ChoiceField(label="挂牌督办 Supervision on", choices=BOOL_CHOICES, required=False)

    def __init__(self, *args, workflow, **kwargs):
        super().__init__(*args, **kwargs)
        from layers.domain import vocabularies as status

        self.fields["step"].choices = [
            (name, f"{a.zh} {a.en}") for name, a in workflow.ACTIONS.items()
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

    @admin.action(description="记录处置步骤 Record a lifecycle step", permissions=["change"])
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
                        f"已对 {done} 个隐患记录“{label.zh}” / '{label.en}' recorded for {done}.",
                        messages.SUCCESS,
                    )
                return None
        else:
            form = StepForm(workflow=wf)
        context = {
            **self.admin_site.each_context(request),
            "title": "记录处置步骤 Record a lifecycle step",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "inputs": {name: [i[0] for i in inputs] for name, inputs in wf.STEP_INPUTS.items()},
        }
        return TemplateResponse(request, "admin/layers/record_step.html", context)


def admin_for(spec: registry.LayerSpec) -> type[LayerAdmin]:
    model = spec.model
    field_names = {f.name for f in model._meta.get_fields()}
    # Popups may list computed properties (spec.computed_labels); the admin lists model fields.
    popup = [f for f in spec.popup_fields if f in field_names]
    list_display = ["__str__", *[f for f in popup if f != "name"], "version"]
    list_filter = [spec.status_field, *spec.filter_fields, DeletedFilter]
    search = ["name", "name_en", "ref", *spec.search_fields]
    attrs = {
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

        @admin.display(description="暂停至 · paused until")
        def paused_until(self, obj):
            ends = lockout.pause_ends(obj)
            return timezone.localtime(ends).strftime("%H:%M") if ends else "—"

        @admin.action(description="解除登录锁定 · Unlock sign-in", permissions=["delete"])
        def unlock(self, request, queryset):
            names = sorted({str(a.username or a.ip_address) for a in queryset})
            removed = lockout.unlock(queryset)
            self.message_user(
                request,
                f"已解除 · unlocked: {', '.join(names)} ({removed})",
                messages.SUCCESS,
            )

    if admin.site.is_registered(AccessAttempt):
        admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, LockoutAdmin)


_lockout_admin()


@admin.register(TimeLimit)
class TimeLimitAdmin(admin.ModelAdmin):
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
class WebhookEndpointAdmin(admin.ModelAdmin):
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
