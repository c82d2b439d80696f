"""Idempotency keys (the IETF `Idempotency-Key` header): the first answer to a write, kept so
that a retry of the same request gets the same answer instead of a second photo or step."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from layers.domain.language import both


class IdempotencyKey(models.Model):
    """One key of one caller: what request it was first sent with and what was answered."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=400)
    # sha256 of method, path, If-Match and the body's content (layers/services/idempotency.py).
    fingerprint = models.CharField(max_length=64)
    # None until a request with this key succeeded: only successful answers are kept, so a
    # refused request (nothing applied) may be sent again with the same key.
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    body = models.BinaryField(default=b"", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = both("幂等键", "Idempotency key")
        verbose_name_plural = both("幂等键", "Idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.key}"
