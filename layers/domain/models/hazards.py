"""Safety hazards (安全隐患), their timeline (全程留痕) and photos."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.domain.language import both
from layers.domain.models.base import LayerFeature
from layers.domain.models.features import Building, Community, GridCell
from layers.domain.storage import private_storage
from layers.domain.vocabularies import HAZARD_REJECT_REASON
from layers.geo import geometry as geo


class WorkDays(models.Func):
    """hh_workdays(a, b): working days d with a < d <= b (negative when b < a), on the
    Chinese calendar (layers/domain/workdays.py; the function is made by migration 0009)."""

    function = "hh_workdays"
    output_field = models.IntegerField()


class SafetyHazard(LayerFeature):
    """安全隐患: a hazard found on inspection, followed through its lifecycle."""

    status_vocabulary = status.HAZARD_STATUS

    category = models.CharField("隐患类别", max_length=32, choices=status.HAZARD_CATEGORY.choices)
    level = models.CharField("隐患等级", max_length=16, choices=status.HAZARD_LEVEL.choices)
    # Not editable as plain fields: the lifecycle (layers/services/workflow.py) sets status, who did
    # what, the assignment and the deadlines, on every channel.
    status = models.CharField(
        "处置状态",
        max_length=32,
        choices=status.HAZARD_STATUS.choices,
        default="found",
        editable=False,
    )
    description = models.TextField("隐患描述", blank=True)
    found_at = models.DateTimeField("发现时间", default=clock.now)
    deadline = models.DateField("整改期限", null=True, blank=True, editable=False)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True, editable=False)
    responsible_unit = models.CharField("责任单位", max_length=200, blank=True, editable=False)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上报人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="reported_hazards",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="承办人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="assigned_hazards",
    )
    rectified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="整改记录人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="rectified_hazards",
    )
    rectified_at = models.DateTimeField("整改完成时间", null=True, blank=True, editable=False)
    reinspected_at = models.DateTimeField("复查时间", null=True, blank=True, editable=False)
    supervised = models.BooleanField("挂牌督办", default=False, editable=False)
    # The limit of the current step (当前环节期限), set by the lifecycle from the time limits:
    # dispatch after a report, the 整改期限 while rectifying, re-inspection after it.
    due_date = models.DateField("当前环节期限", null=True, blank=True, editable=False)
    # Marked 超期 by the reminder pass when the current step's limit passed (cleared when a
    # step sets a new limit).
    overdue_since = models.DateField("超期日期", null=True, blank=True, editable=False)
    extension_until = models.DateField(
        "申请延期至", null=True, blank=True, editable=False, help_text="A pending request."
    )
    reject_reason = models.CharField(
        "不予立案原因",
        max_length=32,
        blank=True,
        choices=HAZARD_REJECT_REASON.choices,
        editable=False,
    )
    duplicate_of = models.ForeignKey(
        "self",
        verbose_name="重复于",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="duplicates",
    )
    building = models.ForeignKey(
        Building,
        verbose_name="所在建筑",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="hazards",
    )
    grid_cell = models.ForeignKey(
        GridCell,
        verbose_name="所在网格",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="hazards",
    )
    community = models.ForeignKey(
        Community,
        verbose_name="所在社区",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="hazards",
    )
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = both("安全隐患", "Safety hazard")
        verbose_name_plural = both("安全隐患", "Safety hazards")
        indexes = [models.Index(fields=["status", "deadline"], name="hazard_status_deadline")]

    @staticmethod
    def due() -> models.Expression:
        """The current step's limit: its own (due_date) or, for records loaded without one,
        the 整改期限."""
        return Coalesce("due_date", "deadline")

    @classmethod
    def overdue_q(cls) -> Q:
        """Open and past its 整改期限 or the current step's limit (挂账), as of the service
        clock's today."""
        today = clock.today()
        return Q(status__in=status.HAZARD_OPEN_STATUSES) & (
            Q(deadline__lt=today) | Q(due_date__lt=today)
        )

    @classmethod
    def overdue_expression(cls) -> models.Expression:
        return models.Case(
            models.When(cls.overdue_q(), then=models.Value(True)),
            default=models.Value(False),
            output_field=models.BooleanField(),
        )

    @classmethod
    def workdays_left_expression(cls) -> models.Expression:
        """Working days from today to the current step's limit (negative: overdue by that
        many), counted in SQL by hh_workdays on the calendar table; null when closed or
        without a limit."""
        return models.Case(
            models.When(
                status__in=status.HAZARD_OPEN_STATUSES,
                then=WorkDays(models.Value(clock.today()), cls.due()),
            ),
            default=None,
            output_field=models.IntegerField(),
        )

    @property
    def current_due(self):
        return self.due_date or self.deadline

    @property
    def is_overdue(self) -> bool:
        if self.status not in status.HAZARD_OPEN_STATUSES:
            return False
        today = clock.today()
        return any(d is not None and d < today for d in (self.due_date, self.deadline))

    def overdue_days(self, today=None) -> int:
        """Calendar days past the 整改期限, or past the current step's limit when the 整改期限
        has not passed (or is not set yet); 0 when not overdue."""
        if self.status not in status.HAZARD_OPEN_STATUSES:
            return 0
        today = today or clock.today()
        for limit in (self.deadline, self.due_date):
            if limit is not None and limit < today:
                return (today - limit).days
        return 0

    @property
    def workdays_left(self) -> int | None:
        """As workdays_left_expression, in Python (one hazard)."""
        from layers.domain import workdays

        due = self.current_due
        if due is None or self.status not in status.HAZARD_OPEN_STATUSES:
            return None
        return workdays.between(clock.today(), due)

    def clean(self):
        errors = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if self.deadline and self.found_at and self.deadline < timezone.localdate(self.found_at):
            errors["deadline"] = [
                f"The deadline ({self.deadline}) is before the hazard was found "
                f"({timezone.localdate(self.found_at)})."
            ]
        if errors:
            raise ValidationError(errors)


class HazardEvent(models.Model):
    """One step of a hazard's timeline (全程留痕): who did what, when, with a note and photos.

    Kept apart from the hazard's own history, so that it survives every edit of the hazard.
    """

    hazard = models.ForeignKey(
        SafetyHazard, on_delete=models.CASCADE, related_name="events", verbose_name="隐患"
    )
    action = models.CharField("操作", max_length=32)
    from_status = models.CharField("原状态", max_length=32, blank=True)
    to_status = models.CharField("新状态", max_length=32, blank=True)
    # None: recorded by the service itself (the reminder pass: 超期, 挂牌督办).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hazard_events",
        verbose_name="操作人",
    )
    at = models.DateTimeField("时间", default=clock.now)
    note = models.TextField("说明", blank=True)
    # What the step set: responsible unit, assignee, deadline, reason, duplicate, …
    data = models.JSONField("内容", default=dict, blank=True)

    class Meta:
        verbose_name = both("隐患处置记录", "Hazard step")
        verbose_name_plural = both("隐患处置记录", "Hazard steps")
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["hazard", "at"], name="hazard_event_at")]

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


def _photo_path(instance, filename: str) -> str:
    return f"hazards/{instance.hazard_id}/{filename}"


class HazardPhoto(models.Model):
    """A photo of a hazard, re-encoded by Pillow with its metadata stripped
    (layers/services/photos.py)."""

    hazard = models.ForeignKey(
        SafetyHazard, on_delete=models.CASCADE, related_name="photos", verbose_name="隐患"
    )
    event = models.ForeignKey(
        HazardEvent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="photos",
        verbose_name="处置记录",
    )
    image = models.ImageField(
        "照片",
        upload_to=_photo_path,
        storage=private_storage,
        width_field="width",
        height_field="height",
    )
    thumbnail = models.ImageField("缩略图", upload_to=_photo_path, storage=private_storage)
    width = models.PositiveIntegerField(default=0, editable=False)
    height = models.PositiveIntegerField(default=0, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="hazard_photos",
        verbose_name="上传人",
    )
    uploaded_at = models.DateTimeField("上传时间", default=clock.now)
    # sha256 of the file as it arrived (before re-encoding): a phone can prove its copy arrived.
    source_sha256 = models.CharField("原文件SHA-256", max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = both("隐患照片", "Hazard photo")
        verbose_name_plural = both("隐患照片", "Hazard photos")
        ordering = ("uploaded_at", "pk")
