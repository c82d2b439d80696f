"""Background jobs as rows: kind, parameters, progress, report, output."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils import timezone

from layers.domain.language import both


class Job(models.Model):
    """A background job (layers/jobs/engine.py): who started what, how far it got, what came out.

    The job runs on a procrastinate worker; `task_id` is the procrastinate job of the current
    attempt (a retry defers a new one, and a stale attempt that wakes up again finds it is no
    longer current and stops). The output file lies in private storage, served by a view that
    checks the reader (the owner or an editor).
    """

    QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
    STATUSES = (
        (QUEUED, "排队中"),
        (RUNNING, "进行中"),
        (SUCCEEDED, "已完成"),
        (FAILED, "失败"),
    )

    kind = models.CharField("类型", max_length=64)
    params = models.JSONField("参数", default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        verbose_name="发起人",
    )
    status = models.CharField("状态", max_length=16, choices=STATUSES, default=QUEUED)
    # Generic progress (steps or rows done of total) and, for row-based jobs, the row counters.
    total = models.PositiveIntegerField("总数", null=True, blank=True)
    done = models.PositiveIntegerField("已完成", default=0)
    rows_read = models.PositiveIntegerField("已读行数", default=0)
    rows_written = models.PositiveIntegerField("已写行数", default=0)
    rows_refused = models.PositiveIntegerField("拒绝行数", default=0)
    message = models.CharField("当前步骤", max_length=200, blank=True)
    report = models.JSONField("报告", null=True, blank=True)
    output = models.CharField("输出文件", max_length=300, blank=True)
    error = models.TextField("错误", blank=True)
    attempts = models.PositiveIntegerField("尝试次数", default=0)
    task_id = models.BigIntegerField("队列任务", null=True, blank=True, editable=False)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    # Last time the running attempt wrote progress (a stale value hints at a dead worker).
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = both("后台任务", "Background job")
        verbose_name_plural = both("后台任务", "Background jobs")
        ordering = ("-created_at", "-pk")
        indexes = [models.Index(fields=["user", "-created_at"], name="job_user_created")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.status}"

    @property
    def finished(self) -> bool:
        return self.status in (self.SUCCEEDED, self.FAILED)

    @property
    def percent(self) -> int | None:
        if not self.total:
            return 100 if self.status == self.SUCCEEDED else None
        return min(100, round(100 * self.done / self.total))
