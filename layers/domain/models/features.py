"""The old town's layers: communities, grid cells, renovation sites, viewpoints, pocket parks,
buildings and service points."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.db.models.functions import Coalesce

from layers.domain import fields
from layers.domain import vocabularies as status
from layers.domain.language import both
from layers.domain.models.base import LayerFeature
from layers.geo import geometry as geo


class Community(LayerFeature):
    """社区: a community of the subdistrict."""

    status_vocabulary = status.BOUNDARY_STATUS

    code = models.CharField("社区代码", max_length=32, unique=True)
    status = models.CharField(
        "状态", max_length=32, choices=status.BOUNDARY_STATUS.choices, default="active"
    )
    geom = fields.MultiPolygonField("边界", srid=geo.STORAGE_SRID)

    class Meta(LayerFeature.Meta):
        verbose_name = both("社区", "Community")
        verbose_name_plural = both("社区", "Communities")


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
        verbose_name = both("网格", "Grid cell")
        verbose_name_plural = both("网格", "Grid cells")


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
        verbose_name = both("改造项目", "Renovation site")
        verbose_name_plural = both("改造项目", "Renovation sites")

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
        verbose_name = both("文化观景点", "Cultural viewpoint")
        verbose_name_plural = both("文化观景点", "Cultural viewpoints")
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
        verbose_name = both("法治口袋公园", "Rule-of-law pocket park")
        verbose_name_plural = both("法治口袋公园", "Rule-of-law pocket parks")


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
        verbose_name = both("建筑", "Building")
        verbose_name_plural = both("建筑", "Buildings")


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
        verbose_name = both("服务点位", "Service point")
        verbose_name_plural = both("服务点位", "Service points")
