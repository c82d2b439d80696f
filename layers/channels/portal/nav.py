"""Where each user may go: the pages and tools of the service, filtered by role.

The home page's cards and the header's links are both read from DESTINATIONS, so a page
appears in one place and is offered to exactly the roles that may open it. Each card can show
a live figure, computed here from the database when the home page is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse

from layers.auth import pages
from layers.domain import clock, models
from layers.domain import vocabularies as status
from layers.domain.language import lang, pick  # noqa: F401 (nav.pick is the pages' helper)
from layers.domain.pages import INSPECTION, PLANNING, TOUR
from layers.domain.roles import INSPECTOR, ROLE_LABELS, roles_of


@dataclass(frozen=True)
class Figure:
    value: int
    label_pair: tuple[str, str]
    # A figure that asks for attention (overdue) is highlighted.
    alert: bool = False

    @property
    def label(self) -> str:
        return pick(self.label_pair)


@dataclass(frozen=True)
class Destination:
    key: str
    url_name: str
    title_pair: tuple[str, str]
    description_pair: tuple[str, str]
    staff_only: bool = False
    in_header: bool = True
    figures: Callable[[object], list[Figure]] | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)

    @property
    def title(self) -> str:
        return pick(self.title_pair)

    @property
    def description(self) -> str:
        return pick(self.description_pair)

    @property
    def roles(self) -> tuple[str, ...]:
        """Who may open it: the page's one declaration (layers/auth/pages.py)."""
        return pages.roles_for(self.key)

    def allows(self, user) -> bool:
        if self.staff_only and not (user.is_authenticated and user.is_staff):
            return False
        return pages.allows(user, self.key)


def my_grid_cells(user):
    if not user.is_authenticated:
        return models.GridCell.objects.none()
    return models.GridCell.objects.filter(worker=user).order_by("code")


def _planning_figures(user) -> list[Figure]:
    sites = models.RenovationSite.objects.all()
    return [
        Figure(
            sites.filter(status="construction").count(),
            ("施工中的改造项目", "renovation sites under construction"),
        ),
        Figure(sites.count(), ("改造项目总数", "renovation sites in all")),
    ]


def _inspection_figures(user) -> list[Figure]:
    hazards = models.SafetyHazard.objects.filter(status__in=status.HAZARD_OPEN_STATUSES)
    figures = []
    grids = my_grid_cells(user)
    if grids.exists():
        figures.append(
            Figure(
                hazards.filter(grid_cell__in=grids).count(),
                ("我的网格内未销号隐患", "open hazards in my grid"),
            )
        )
    figures.append(Figure(hazards.count(), ("未销号隐患", "open hazards")))
    overdue = models.SafetyHazard.objects.filter(models.SafetyHazard.overdue_q())
    if grids.exists():
        overdue = overdue.filter(grid_cell__in=grids)
        label = ("我的网格内逾期隐患", "overdue hazards in my grid")
    else:
        label = ("逾期隐患", "overdue hazards")
    count = overdue.count()
    figures.append(Figure(count, label, alert=count > 0))
    return figures


def _field_figures(user) -> list[Figure]:
    from layers.services import workflow

    tasks = models.SafetyHazard.objects.filter(
        workflow.reach_q(user), status__in=status.HAZARD_OPEN_STATUSES
    )
    overdue = tasks.filter(models.SafetyHazard.overdue_q()).count()
    return [
        Figure(tasks.count(), ("我的待办隐患", "my open tasks")),
        Figure(overdue, ("其中逾期", "of them overdue"), alert=overdue > 0),
    ]


def _dashboard_figures(user) -> list[Figure]:
    closed = models.SafetyHazard.objects.filter(status="closed").count()
    return [Figure(closed, ("已销号隐患", "hazards closed"))]


def _intake_figures(user) -> list[Figure]:
    from layers.services import reports

    new = reports.queue(user, "new")
    late = new.filter(accept_due__lt=clock.today()).count()
    return [
        Figure(new.count(), ("待受理的随手拍", "new reports to take in")),
        Figure(late, ("其中超过答复时间", "of them past the answer time"), alert=late > 0),
    ]


def _tour_figures(user) -> list[Figure]:
    return [Figure(models.CulturalViewpoint.objects.count(), ("游览点位", "stops on the route"))]


DESTINATIONS: tuple[Destination, ...] = (
    Destination(
        "tour",
        "tour",
        (TOUR.title_zh, TOUR.title_en),
        (
            "手机上的大庙弄文化街区：游览点位、照片和步行路线。",
            "The Damiaonong cultural street on a phone: stops, photos, the walking route.",
        ),
        in_header=False,
        figures=_tour_figures,
    ),
    Destination(
        "report",
        "report",
        ("随手拍：反映身边的安全隐患", "Report a safety problem nearby"),
        (
            "用手机拍照反映楼道堵塞、飞线充电等隐患，不用注册，凭查询码跟踪办理进度。",
            "Report a blocked stairwell or an e-bike charged from a window from your phone, "
            "no account needed, and follow it with a code.",
        ),
        in_header=False,
    ),
    Destination(
        "planning",
        "map-planning",
        (PLANNING.title_zh, PLANNING.title_en),
        (
            "改造项目的期次与阶段、进度及涉及的建筑。",
            "Renovation sites by phase and stage, progress and the buildings they affect.",
        ),
        figures=_planning_figures,
    ),
    Destination(
        "inspection",
        "map-inspection",
        (INSPECTION.title_zh, INSPECTION.title_en),
        (
            "身边或本网格内的安全隐患及整改期限。",
            "Safety hazards near you or in your grid, with their deadlines.",
        ),
        figures=_inspection_figures,
    ),
    Destination(
        "field",
        "field",
        ("网格员工作台", "Grid worker"),
        (
            "手机上的待办隐患：地图、处置记录、拍照上报，逾期的排在最前。",
            "My hazards on a phone: map, timeline, record a step, report with photos; "
            "overdue first.",
        ),
        figures=_field_figures,
    ),
    Destination(
        "report-intake",
        "report-intake",
        ("随手拍受理", "Report intake"),
        (
            "群众随手拍的待受理队列：受理生成隐患、并入已有隐患或答复不予受理。",
            "Residents' reports to take in: accept as a hazard, link to a known one, or "
            "answer why not.",
        ),
        figures=_intake_figures,
    ),
    Destination(
        "dashboard",
        "dashboard",
        ("隐患看板", "Hazard dashboard"),
        (
            "按状态、等级、类别和网格统计隐患，逾期清单、每周趋势与隐患台账导出。",
            "Hazards by status, level, category and grid cell; the overdue list, the weekly "
            "trend and the ledger export.",
        ),
        figures=_dashboard_figures,
    ),
    Destination(
        "progress",
        "progress-report",
        ("改造项目进度报告", "Renovation progress report"),
        (
            "任选两个日期，对比每个改造项目的阶段、进度和户数，导出 XLSX 或 A4 PDF。",
            "Two dates side by side: each site's stage, progress and households, and the "
            "change; XLSX or an A4 PDF.",
        ),
        in_header=False,
    ),
    Destination(
        "api-docs",
        "api:swagger-ui",
        ("API 文档", "API documentation"),
        (
            "供外业应用和脚本使用的 REST API，含您的角色可读取的图层。",
            "The REST API for field apps and scripts, with the layers your role may read.",
        ),
    ),
    Destination(
        "jobs",
        "jobs",
        ("我的任务", "My jobs"),
        (
            "后台任务（打印地图、导入、导出）的进度、报告和输出文件。",
            "Background jobs (printed maps, imports, exports): progress, report, output file.",
        ),
        in_header=False,
    ),
    Destination(
        "tokens",
        "tokens",
        ("API 令牌", "API tokens"),
        (
            "外业应用和桌面 GIS 使用的密钥，由您自己创建和撤销。",
            "Keys for field apps and desktop GIS, made and revoked by you.",
        ),
        in_header=False,
    ),
    Destination(
        "import",
        "import",
        ("导入数据", "Import data"),
        (
            "上传 Shapefile、GeoPackage、CSV/XLSX、KML 或 DXF，核对字段对应后导入图层。",
            "Upload a shapefile, GeoPackage, CSV/XLSX, KML or DXF, check the columns, import.",
        ),
    ),
    Destination(
        "admin",
        "admin:index",
        ("数据管理", "Data administration"),
        (
            "编辑各图层、恢复已删除要素、管理用户和角色。",
            "Edit every layer, restore deleted features, manage users and roles.",
        ),
        staff_only=True,
    ),
)


def destinations_for(user, *, header: bool = False) -> list[Destination]:
    return [d for d in DESTINATIONS if d.allows(user) and (d.in_header or not header)]


def role_labels(user) -> list[str]:
    """The user's roles as words, in the page's language; a grid worker names their grid."""
    index = 1 if lang() == "en" else 0
    labels = [ROLE_LABELS[r][index] for r in sorted(roles_of(user))]
    if INSPECTOR in roles_of(user):
        codes = [g.code for g in my_grid_cells(user)]
        if codes:
            word = pick(("网格员", "Grid worker"))
            labels.append(f"{word} {'、'.join(codes)}")
    if user.is_authenticated and user.is_superuser:
        labels.insert(0, pick(("超级管理员", "Superuser")))
    return labels


def display_name(user) -> str:
    """李振华 for Chinese names (family name first, no space), 'Jane Doe' otherwise."""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if not (first or last):
        return user.get_username()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()
