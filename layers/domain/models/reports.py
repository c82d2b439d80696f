"""Public reports (随手拍): what a resident sends from a phone, its photos, its own timeline, the
"me too"s it gathers, and the contact, kept apart and erased after closing (docs/REPORTS.md).

The rules (who may see what, how the public status follows the hazard) live in
layers/services/reports/; these models hold the data.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q

from layers.domain import clock
from layers.domain import vocabularies as status
from layers.domain.language import both
from layers.domain.models.features import GridCell
from layers.domain.models.hazards import SafetyHazard
from layers.domain.storage import private_storage
from layers.geo import geometry as geo

INTAKE = (("new", "待受理"), ("accepted", "已受理"), ("rejected", "不予受理"))


class PublicReport(models.Model):
    """One resident's report. `code` is its tracking code: whoever holds it reads the public
    status and may answer "not fixed" or rate the handling, nothing more."""

    code = models.CharField("查询码", max_length=8, unique=True)
    category = models.CharField("类别", max_length=32, choices=status.HAZARD_CATEGORY.choices)
    description = models.TextField("描述")
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)
    received_at = models.DateTimeField("收到时间", default=clock.now)
    # The answer promised to the reporter (受理时限): TimeLimit.accept_days working days after
    # the day it was received, set then (a later change of the table keeps the promise made).
    # None: the table sets no limit for the category. The reminder pass reminds, marks it
    # late (overdue_since) and escalates (escalated_on) while it is not decided.
    accept_due = models.DateField("受理期限", null=True, blank=True)
    overdue_since = models.DateField("受理超期日期", null=True, blank=True)
    escalated_on = models.DateField("受理督办日期", null=True, blank=True)
    # The intake decision: new until an editor or the cell's inspector accepts or rejects it.
    intake = models.CharField("受理", max_length=16, choices=INTAKE, default="new")
    reject_reason = models.CharField(
        "不予受理原因", max_length=32, blank=True, choices=status.REPORT_REJECT_REASON.choices
    )
    # Written for the reporter (shown on the status page), never an internal note.
    public_note = models.CharField("给反映人的说明", max_length=500, blank=True)
    decided_at = models.DateTimeField("受理时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="受理人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decided_reports",
    )
    hazard = models.ForeignKey(
        SafetyHazard,
        verbose_name="对应隐患",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="public_reports",
    )
    linked_as_duplicate = models.BooleanField("并入已有隐患", default=False)
    # Where it lies, for the queue of the cell's inspectors (set when it is received).
    grid_cell = models.ForeignKey(
        GridCell,
        verbose_name="所在网格",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="public_reports",
    )
    hidden_at = models.DateTimeField("隐藏时间", null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="隐藏人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="hidden_reports",
    )
    # The public status last derived (layers/services/reports/status.py), and since when; the
    # reporter is told when it changes.
    public_status = models.CharField(
        "办理状态",
        max_length=16,
        choices=status.REPORT_PUBLIC_STATUS.choices,
        default="received",
    )
    public_status_at = models.DateTimeField("状态时间", default=clock.now)
    # When the public status became final (fixed or not accepted); None while open. The
    # feedback window and the contact's erasure count from it.
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    rating = models.PositiveSmallIntegerField("满意度评价", null=True, blank=True)
    rated_at = models.DateTimeField("评价时间", null=True, blank=True)

    class Meta:
        verbose_name = both("群众随手拍", "Public report")
        verbose_name_plural = both("群众随手拍", "Public reports")
        ordering = ("-received_at", "pk")
        indexes = [
            models.Index(fields=["intake", "received_at"], name="report_intake_at"),
            models.Index(fields=["closed_at"], name="report_closed_at"),
            models.Index(
                fields=["accept_due"], name="report_accept_due", condition=Q(intake="new")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="report_rating_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.category}"


class ReportEvent(models.Model):
    """One entry of a report's own timeline (audit trail): received, decided, hidden, each
    change of the public status, the reporter told, "not fixed", rated, contact erased."""

    report = models.ForeignKey(
        PublicReport, on_delete=models.CASCADE, related_name="events", verbose_name="随手拍"
    )
    kind = models.CharField("事件", max_length=32)
    at = models.DateTimeField("时间", default=clock.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="report_events",
        verbose_name="操作人",
    )
    public_status = models.CharField("办理状态", max_length=16, blank=True)
    data = models.JSONField("内容", default=dict, blank=True)

    class Meta:
        verbose_name = both("随手拍记录", "Public report step")
        verbose_name_plural = both("随手拍记录", "Public report steps")
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["report", "at"], name="report_event_at")]

    def __str__(self) -> str:
        return f"{self.report_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


def _photo_path(instance, filename: str) -> str:
    return f"reports/{instance.report_id}/{filename}"


class ReportPhoto(models.Model):
    """A reporter's photo, re-encoded on the server without any metadata (services/photos.py)."""

    KINDS = (("report", "反映照片"), ("not_fixed", "未整改照片"))

    report = models.ForeignKey(
        PublicReport, on_delete=models.CASCADE, related_name="photos", verbose_name="随手拍"
    )
    kind = models.CharField("用途", max_length=16, choices=KINDS, default="report")
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
    uploaded_at = models.DateTimeField("上传时间", default=clock.now)

    class Meta:
        verbose_name = both("随手拍照片", "Public report photo")
        verbose_name_plural = both("随手拍照片", "Public report photos")
        ordering = ("uploaded_at", "pk")


class ReportContact(models.Model):
    """The reporter's phone or email, for feedback only: apart from the report, read by editors
    only, erased REPORT_CONTACT_RETENTION_DAYS after the report closes."""

    report = models.OneToOneField(
        PublicReport, on_delete=models.CASCADE, related_name="contact", verbose_name="随手拍"
    )
    phone = models.CharField("电话", max_length=32, blank=True)
    email = models.EmailField("电子邮箱", max_length=254, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        verbose_name = both("反映人联系方式", "Reporter's contact")
        verbose_name_plural = both("反映人联系方式", "Reporters' contacts")


class ReportSupport(models.Model):
    """A "me too": someone else saw the same thing (on an open report or an open hazard)
    instead of sending a new report. One per device and target."""

    report = models.ForeignKey(
        PublicReport, on_delete=models.CASCADE, null=True, blank=True, related_name="supports"
    )
    hazard = models.ForeignKey(
        SafetyHazard, on_delete=models.CASCADE, null=True, blank=True, related_name="supports"
    )
    at = models.DateTimeField(default=clock.now)
    device = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = both("附议", "Me-too")
        verbose_name_plural = both("附议", "Me-toos")
        constraints = [
            models.CheckConstraint(
                condition=Q(report__isnull=True, hazard__isnull=False)
                | Q(report__isnull=False, hazard__isnull=True),
                name="support_one_target",
            ),
            models.UniqueConstraint(
                fields=["report", "device"],
                condition=Q(report__isnull=False) & ~Q(device=""),
                name="support_once_per_report",
            ),
            models.UniqueConstraint(
                fields=["hazard", "device"],
                condition=Q(hazard__isnull=False) & ~Q(device=""),
                name="support_once_per_hazard",
            ),
        ]
