"""Notices to people and machines (layers/services/notifications.py): the in-app inbox, each
user's choices, signed webhook receivers and their delivery log. Every notice has a key: the
same notice is never stored, mailed or posted twice."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models

from layers.domain import clock
from layers.domain.language import both
from layers.domain.vocabularies import NOTICE_EVENT


class Notification(models.Model):
    """One notice in one user's inbox (站内消息)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name="接收人",
    )
    # "<event>:<hazard>:<what makes it unique>:<recipient>"; unique, so sent once.
    key = models.CharField("去重键", max_length=200, unique=True)
    event = models.CharField("事件", max_length=32, choices=NOTICE_EVENT.choices)
    hazard = models.ForeignKey(
        "layers.SafetyHazard",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name="隐患",
    )
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    # Where the notice leads when it is about no hazard (a path of this site, e.g. the intake
    # of public reports); empty: the hazard, else the inbox.
    link = models.CharField("链接", max_length=200, blank=True)
    created_at = models.DateTimeField("时间", default=clock.now)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    emailed_at = models.DateTimeField("邮件发送时间", null=True, blank=True)
    email_error = models.CharField("邮件错误", max_length=300, blank=True)

    class Meta:
        verbose_name = both("站内消息", "Inbox message")
        verbose_name_plural = both("站内消息", "Inbox messages")
        ordering = ("-created_at", "-pk")
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                name="notice_unread",
                condition=models.Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id} {self.event} {self.title}"


class NotificationSetting(models.Model):
    """Which events reach a user, and whether by email too (default: every event, by email
    when the user has an address and SMTP is configured)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_setting"
    )
    events_off = models.JSONField("不接收的事件", default=list, blank=True)
    email = models.BooleanField("邮件通知", default=True)

    class Meta:
        verbose_name = both("通知设置", "Notification setting")
        verbose_name_plural = both("通知设置", "Notification settings")


class WebhookEndpoint(models.Model):
    """A receiver of signed notices (the city platform, a messaging bot)."""

    name = models.CharField("名称", max_length=100, unique=True)
    url = models.URLField("地址", max_length=500)
    secret = models.CharField(
        "签名密钥", max_length=200, help_text="HMAC-SHA256 key shared with the receiver."
    )
    events = models.JSONField(
        "事件", default=list, blank=True, help_text="Event names; empty: every event."
    )
    active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = both("Webhook 接收端", "Webhook receiver")
        verbose_name_plural = both("Webhook 接收端", "Webhook receivers")

    def __str__(self) -> str:
        return self.name

    def wants(self, event: str) -> bool:
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(models.Model):
    """The delivery log: one row per notice and receiver, its attempts and outcome."""

    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    key = models.CharField("去重键", max_length=200)
    event = models.CharField("事件", max_length=32)
    body = models.TextField("内容 (JSON)")
    status = models.CharField(
        "状态",
        max_length=16,
        default=PENDING,
        choices=[(PENDING, "待发送"), (DELIVERED, "已送达"), (FAILED, "失败")],
    )
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=clock.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = both("Webhook 投递记录", "Webhook delivery")
        verbose_name_plural = both("Webhook 投递记录", "Webhook deliveries")
        ordering = ("-created_at", "-pk")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="webhook_delivery_once")
        ]
