"""What every layer shares: names, status, audit, version, soft delete, history."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from layers.domain import vocabularies as status
from layers.domain.language import lang
from layers.geo import geometry as geo


class LiveQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class LiveManager(models.Manager.from_queryset(LiveQuerySet)):
    """The default manager: soft-deleted rows are hidden; `all_objects` still sees them."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllManager(models.Manager.from_queryset(LiveQuerySet)):
    pass


class LayerFeature(models.Model):
    """Fields and behaviour shared by every layer: names, status, audit, version, soft delete."""

    ref = models.CharField(
        "编号",
        max_length=64,
        blank=True,
        help_text="Stable reference from the source system or sample data (unique in the layer).",
    )
    name = models.CharField("名称", max_length=200)
    name_en = models.CharField("英文名称", max_length=200, blank=True)
    status = models.CharField("状态", max_length=32)
    created_at = models.DateTimeField("创建时间", default=timezone.now, editable=False)
    updated_at = models.DateTimeField("更新时间", auto_now=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="创建人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="更新人",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Optimistic locking: every save bumps it; writers must prove the version they saw.
    version = models.PositiveIntegerField("版本", default=1, editable=False)
    deleted_at = models.DateTimeField("删除时间", null=True, blank=True, editable=False)

    history = HistoricalRecords(inherit=True)
    objects = LiveManager()
    all_objects = AllManager()

    # The vocabulary of `status`; subclasses set it.
    status_vocabulary: status.Vocabulary
    # Reads may come from a streaming replica (geo_service/middleware/dbrouter.py): the layers
    # are the service's heavy reads; users, sessions, tokens and jobs stay on the primary.
    replica_reads = True

    class Meta:
        abstract = True
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ref"],
                condition=~Q(ref=""),
                name="%(app_label)s_%(class)s_unique_ref",
            )
        ]

    def __str__(self):
        # The page's language (the admin's titles, lists, history): the English name where
        # there is one, else the Chinese.
        return (self.name_en or self.name) if lang() == "en" else self.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
        self.geom = geo.coerce_to_field(self.geom, self.geom_type())
        super().save(*args, **kwargs)

    @classmethod
    def geom_type(cls) -> str:
        return cls._meta.get_field("geom").geom_type.upper()

    def clean(self):
        super().clean()
        self.geom = geo.coerce_to_field(self.geom, self.geom_type())
        errors = {}
        geometry = geo.geometry_errors(self.geom, self.geom_type())
        if geometry:
            errors["geom"] = geometry
        if errors:
            raise ValidationError(errors)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self, user=None) -> None:
        self.deleted_at = timezone.now()
        self.updated_by = user
        self.save()

    def restore(self, user=None) -> None:
        self.deleted_at = None
        self.updated_by = user
        self.save()

    def status_term(self) -> status.Term:
        return self.status_vocabulary.term(self.status)
