"""The layer models. Every geometry is EPSG:4326 in a field named `geom` with a spatial index.

Derived fields (a building's community, a hazard's building / grid / community, a park's area)
are computed from geometry on save (`derive`); when a boundary or a building changes, the links
of the rows that depend on it are re-derived by `layers.services.derived` (called by `layers.services.editing`).
They are never typed by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.models import HistoricalRecords

from layers.domain import fields
from layers.geo import geometry as geo
from layers.domain import vocabularies as status
from layers.services.photos import private_storage
from layers.domain.vocabularies import HAZARD_REJECT_REASON


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
        return self.name

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
        self.geom = geo.coerce_to_field(self.geom, self.geom_type())
        self.derive()
        super().save(*args, **kwargs)

    @classmethod
    def geom_type(cls) -> str:
        return cls._meta.get_field("geom").geom_type.upper()

    def derive(self) -> None:
        """Recompute the fields derived from the geometry (links by `layers.services.derived`'s rules)."""
        from layers.services import derived

        for column, value in derived.links_for(type(self), self.geom).items():
            setattr(self, column, value)

    def clean(self):
        super().clean()
        self.geom = geo.coerce_to_field(self.geom, self.geom_type())
        errors = {}
        geometry = geo.geometry_errors(self.geom, self.geom_type())
        if geometry:
            errors["geom"] = geometry
        errors.update(self.list_field_errors())
        if errors:
            raise ValidationError(errors)

    def list_field_errors(self) -> dict[str, list[str]]:
        """Each JSON list field the layer's spec names (`list_fields`) holds a list of values
        of its vocabulary (a park's facilities, a service point's services)."""
        from layers.domain import registry

        errors = {}
        for name, vocabulary in registry.for_model(type(self)).list_fields.items():
            value = getattr(self, name)
            if not isinstance(value, list):
                errors[name] = [f"{name} must be a list of values."]
                continue
            unknown = [v for v in value if v not in vocabulary.values]
            if unknown:
                allowed = ", ".join(vocabulary.values)
                errors[name] = [f"Unknown value(s) {unknown} in {name}; use {allowed}."]
        return errors

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


class Community(LayerFeature):
    """社区: a community of the subdistrict."""

    status_vocabulary = status.BOUNDARY_STATUS

    code = models.CharField("社区代码", max_length=32, unique=True)
    status = models.CharField(
        "状态", max_length=32, choices=status.BOUNDARY_STATUS.choices, default="active"
    )
    geom = fields.MultiPolygonField("边界", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "社区"
        verbose_name_plural = "社区"


class GridCell(LayerFeature):
    """网格: a grid cell of a community, looked after by one grid worker."""

    status_vocabulary = status.BOUNDARY_STATUS

    code = models.CharField("网格编号", max_length=32, unique=True)
    community = models.ForeignKey(
        Community, verbose_name="所属社区", on_delete=models.PROTECT, related_name="grid_cells"
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="网格员",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="grid_cells",
    )
    status = models.CharField(
        "状态", max_length=32, choices=status.BOUNDARY_STATUS.choices, default="active"
    )
    geom = fields.MultiPolygonField("边界", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "网格"
        verbose_name_plural = "网格"


class RenovationSite(LayerFeature):
    """A renovation or expropriation project area (老旧小区改造, 征收, 公共设施, 街区提升)."""

    status_vocabulary = status.RENOVATION_STATUS

    kind = models.CharField("项目类型", max_length=32, choices=status.RENOVATION_KIND.choices)
    phase = models.CharField(
        "期次", max_length=8, choices=status.RENOVATION_PHASE.choices, blank=True
    )
    status = models.CharField("项目阶段", max_length=32, choices=status.RENOVATION_STATUS.choices)
    progress = models.PositiveSmallIntegerField(
        "进度(%)", default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    households_total = models.PositiveIntegerField("涉及户数", null=True, blank=True)
    households_signed = models.PositiveIntegerField("已签约户数", null=True, blank=True)
    households_vacated = models.PositiveIntegerField("已腾房户数", null=True, blank=True)
    planned_start = models.DateField("计划开工", null=True, blank=True)
    planned_end = models.DateField("计划完工", null=True, blank=True)
    actual_start = models.DateField("实际开工", null=True, blank=True)
    actual_end = models.DateField("实际完工", null=True, blank=True)
    budget_wan = models.DecimalField(
        "预算(万元)",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    responsible_unit = models.CharField("责任单位", max_length=200, blank=True)
    description = models.TextField("说明", blank=True)
    description_en = models.TextField("英文说明", blank=True)
    geom = fields.MultiPolygonField("范围", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "改造项目"
        verbose_name_plural = "改造项目"

    @classmethod
    def buildings_count(cls) -> models.Expression:
        """The live buildings the site affects (derived links), counted in SQL per row."""
        counted = (
            Building.objects.filter(renovation_site=models.OuterRef("pk"))
            .order_by()
            .values("renovation_site")
            .annotate(n=models.Count("pk"))
            .values("n")
        )
        return Coalesce(models.Subquery(counted, output_field=models.IntegerField()), 0)

    def clean(self):
        errors = {}
        try:
            super().clean()
        except ValidationError as exc:
            errors.update(exc.message_dict)
        stages = status.RENOVATION_STAGES_BY_KIND.get(self.kind)
        if stages and self.status and self.status not in stages.values:
            allowed = "、".join(f"{t.value} ({t.zh})" for t in stages.terms)
            errors.setdefault("status", []).append(
                f"Stage {self.status!r} does not apply to kind {self.kind!r}; use one of {allowed}."
            )
        total, signed, vacated = (
            self.households_total,
            self.households_signed,
            self.households_vacated,
        )
        if signed is not None and total is not None and signed > total:
            errors.setdefault("households_signed", []).append(
                f"Signed households ({signed}) exceed the total ({total}). / 签约户数超过总户数。"
            )
        if vacated is not None and signed is not None and vacated > signed:
            errors.setdefault("households_vacated", []).append(
                f"Vacated households ({vacated}) exceed the signed ({signed})."
                " / 腾房户数超过签约户数。"
            )
        for start, end in (("planned_start", "planned_end"), ("actual_start", "actual_end")):
            a, b = getattr(self, start), getattr(self, end)
            if a and b and b < a:
                errors.setdefault(end, []).append(f"{end} ({b}) is before {start} ({a}).")
        if errors:
            raise ValidationError(errors)


class CulturalViewpoint(LayerFeature):
    """A viewpoint of the 大庙弄 cultural tour (public, bilingual)."""

    status_vocabulary = status.VIEWPOINT_STATUS

    theme = models.CharField("主题", max_length=32, choices=status.VIEWPOINT_THEME.choices)
    description = models.TextField("介绍", blank=True)
    description_en = models.TextField("英文介绍", blank=True)
    tour_order = models.PositiveSmallIntegerField("游览顺序", validators=[MinValueValidator(1)])
    photo = models.ImageField("照片", upload_to="viewpoints/", blank=True)
    opening_hours = models.CharField("开放时间", max_length=100, blank=True)
    opening_hours_en = models.CharField("英文开放时间", max_length=100, blank=True)
    status = models.CharField(
        "开放状态", max_length=32, choices=status.VIEWPOINT_STATUS.choices, default="planned"
    )
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "文化观景点"
        verbose_name_plural = "文化观景点"
        ordering = ["tour_order", "pk"]
        constraints = LayerFeature.Meta.constraints + [
            models.UniqueConstraint(
                fields=["tour_order"],
                condition=Q(deleted_at__isnull=True),
                name="layers_viewpoint_unique_tour_order",
            )
        ]


class PocketPark(LayerFeature):
    """法治口袋公园: a small rule-of-law themed park."""

    status_vocabulary = status.PARK_STATUS

    theme = models.CharField("法治主题", max_length=32, choices=status.PARK_THEME.choices)
    facilities = models.JSONField(
        "设施", default=list, blank=True, help_text="Values from the park_facility vocabulary."
    )
    description = models.TextField("介绍", blank=True)
    description_en = models.TextField("英文介绍", blank=True)
    status = models.CharField(
        "建设状态", max_length=32, choices=status.PARK_STATUS.choices, default="planned"
    )
    area_m2 = models.FloatField("面积(m²)", null=True, blank=True, editable=False)
    geom = fields.MultiPolygonField("范围", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "法治口袋公园"
        verbose_name_plural = "法治口袋公园"

    def derive(self) -> None:
        # Square metres in EPSG:4549, never square degrees.
        self.area_m2 = round(geo.metric_area(self.geom), 2) if self.geom else None


class Building(LayerFeature):
    """A building footprint; its community and renovation site come from its geometry."""

    status_vocabulary = status.BUILDING_STATUS

    address = models.CharField("地址", max_length=200, blank=True)
    use = models.CharField("用途", max_length=32, choices=status.BUILDING_USE.choices)
    floors = models.PositiveSmallIntegerField(
        "层数", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    year_built = models.PositiveSmallIntegerField(
        "建成年份",
        null=True,
        blank=True,
        validators=[MinValueValidator(1000), MaxValueValidator(2100)],
    )
    households = models.PositiveIntegerField("户数", null=True, blank=True)
    structure = models.CharField(
        "结构类型", max_length=32, choices=status.BUILDING_STRUCTURE.choices, blank=True
    )
    heritage_protected = models.BooleanField("文保建筑", default=False)
    status = models.CharField(
        "使用状态", max_length=32, choices=status.BUILDING_STATUS.choices, default="in_use"
    )
    community = models.ForeignKey(
        Community,
        verbose_name="所在社区",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="buildings",
    )
    renovation_site = models.ForeignKey(
        RenovationSite,
        verbose_name="所在项目",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="buildings",
    )
    geom = fields.MultiPolygonField("轮廓", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "建筑"
        verbose_name_plural = "建筑"


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
    found_at = models.DateTimeField("发现时间", default=timezone.now)
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
        verbose_name = "安全隐患"
        verbose_name_plural = "安全隐患"
        indexes = [models.Index(fields=["status", "deadline"], name="hazard_status_deadline")]

    def derive(self) -> None:
        super().derive()
        if self.status in status.HAZARD_CLOSED_STATUSES and not self.closed_at:
            self.closed_at = timezone.now()
        elif self.status not in status.HAZARD_CLOSED_STATUSES:
            self.closed_at = None

    @staticmethod
    def overdue_q() -> Q:
        """Past its deadline and not closed (挂账), as of today in the service's time zone."""
        return Q(deadline__lt=timezone.localdate(), status__in=status.HAZARD_OPEN_STATUSES)

    @classmethod
    def overdue_expression(cls) -> models.Expression:
        return models.Case(
            models.When(cls.overdue_q(), then=models.Value(True)),
            default=models.Value(False),
            output_field=models.BooleanField(),
        )

    @property
    def is_overdue(self) -> bool:
        return (
            self.deadline is not None
            and self.status in status.HAZARD_OPEN_STATUSES
            and self.deadline < timezone.localdate()
        )

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


class ServicePoint(LayerFeature):
    """服务点位: a place residents and grid workers go for a service (网格直通站, 党群服务中心,
    养老, 儿童, 法律与调解, 文化, 清廉). Its grid cell and community follow its location."""

    status_vocabulary = status.SERVICE_STATUS

    kind = models.CharField("服务类型", max_length=32, choices=status.SERVICE_KIND.choices)
    description = models.TextField("介绍", blank=True)
    description_en = models.TextField("英文介绍", blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    opening_hours = models.CharField("开放时间", max_length=100, blank=True)
    opening_hours_en = models.CharField("英文开放时间", max_length=100, blank=True)
    phone = models.CharField("电话", max_length=40, blank=True)
    services = models.JSONField(
        "提供服务",
        default=list,
        blank=True,
        help_text="Values from the service_offered vocabulary.",
    )
    status = models.CharField(
        "服务状态", max_length=32, choices=status.SERVICE_STATUS.choices, default="planned"
    )
    grid_cell = models.ForeignKey(
        GridCell,
        verbose_name="所在网格",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="service_points",
    )
    community = models.ForeignKey(
        Community,
        verbose_name="所在社区",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="service_points",
    )
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = "服务点位"
        verbose_name_plural = "服务点位"


class ReferenceFeature(LayerFeature):
    """Shared by the reference layers that make the offline basemap (streets, water,
    landmarks): a short note and whether the position is only approximate (示意)."""

    status_vocabulary = status.REFERENCE_STATUS

    status = models.CharField(
        "现状", max_length=32, choices=status.REFERENCE_STATUS.choices, default="existing"
    )
    approximate = models.BooleanField(
        "示意位置",
        default=True,
        help_text="The course or position is approximate (示意), not surveyed.",
    )
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta(LayerFeature.Meta):
        abstract = True


class Street(ReferenceFeature):
    """街巷: a street or lane centre line, with its class (main road, street, lane 弄/巷)."""

    street_class = models.CharField(
        "道路等级", max_length=16, choices=status.STREET_CLASS.choices, default="street"
    )
    geom = models.LineStringField("中心线", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = "街巷"
        verbose_name_plural = "街巷"


class Waterway(ReferenceFeature):
    """水系: a canal or river stretch, or a pond, as a polygon."""

    kind = models.CharField("水体类型", max_length=16, choices=status.WATER_KIND.choices)
    geom = fields.MultiPolygonField("水面", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = "水系"
        verbose_name_plural = "水系"


class Landmark(ReferenceFeature):
    """地标: a place a visitor recognises (a memorial hall, a hospital, a bridge, a gateway)."""

    kind = models.CharField("地标类型", max_length=16, choices=status.LANDMARK_KIND.choices)
    geom = models.PointField("位置", srid=geo.STORAGE_SRID)

    class Meta(ReferenceFeature.Meta):
        verbose_name = "地标"
        verbose_name_plural = "地标"


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
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="hazard_events",
        verbose_name="操作人",
    )
    at = models.DateTimeField("时间", default=timezone.now)
    note = models.TextField("说明", blank=True)
    # What the step set: responsible unit, assignee, deadline, reason, duplicate, …
    data = models.JSONField("内容", default=dict, blank=True)

    class Meta:
        verbose_name = "隐患处置记录"
        verbose_name_plural = "隐患处置记录"
        ordering = ("at", "pk")
        indexes = [models.Index(fields=["hazard", "at"], name="hazard_event_at")]

    def __str__(self) -> str:
        return f"{self.hazard_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


def _photo_path(instance, filename: str) -> str:
    return f"hazards/{instance.hazard_id}/{filename}"


class HazardPhoto(models.Model):
    """A photo of a hazard, re-encoded by Pillow with its metadata stripped (layers/services/photos.py)."""

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
    uploaded_at = models.DateTimeField("上传时间", default=timezone.now)

    class Meta:
        verbose_name = "隐患照片"
        verbose_name_plural = "隐患照片"
        ordering = ("uploaded_at", "pk")


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
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
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


# API tokens live with the front door (layers/auth/tokens.py); imported here so that the
# app's models module declares them.
from layers.auth.tokens import ApiToken  # noqa: E402, F401
