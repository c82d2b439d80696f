"""Every vocabulary of the layers (statuses, kinds, categories, themes): zh/en labels, colours.

This module is the single source for model choices, legends, map overlays and API enums.
Statuses also declare their allowed transitions (used by the hazard workflow).

Long because it is data: every term of every vocabulary with its zh/en labels and colour, one
table per vocabulary, read top to bottom like a legend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from layers.domain.language import both


@dataclass(frozen=True)
class Term:
    value: str
    zh: str
    en: str
    color: str = "#777777"


@dataclass(frozen=True)
class Vocabulary:
    name: str
    zh: str
    en: str
    terms: tuple[Term, ...]
    # value -> values it may move to; empty means "no lifecycle rule".
    transitions: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self):
        values = [t.value for t in self.terms]
        if len(values) != len(set(values)):
            raise ValueError(f"duplicate value in vocabulary {self.name}")
        for source, targets in self.transitions.items():
            unknown = {source, *targets} - set(values)
            if unknown:
                raise ValueError(f"{self.name}: transitions name unknown values {unknown}")

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(t.value for t in self.terms)

    @property
    def choices(self) -> list[tuple[str, str]]:
        """Django choices: stored value and the label in the language active when it is shown
        (Chinese first: migrations and a process with no language see the Chinese)."""
        return [(t.value, both(t.zh, t.en)) for t in self.terms]

    def term(self, value: str) -> Term:
        for t in self.terms:
            if t.value == value:
                return t
        raise KeyError(f"{value!r} is not in vocabulary {self.name}")

    def label(self, value: str, lang: str = "zh") -> str:
        t = self.term(value)
        return t.en if lang.startswith("en") else t.zh

    def color(self, value: str) -> str:
        return self.term(value).color

    def can_move(self, source: str, target: str) -> bool:
        return target in self.transitions.get(source, ())

    def legend(self) -> list[dict[str, str]]:
        return [{"value": t.value, "zh": t.zh, "en": t.en, "color": t.color} for t in self.terms]

    def subset(self, name: str, values: tuple[str, ...]) -> Vocabulary:
        """The same terms restricted to `values`, in this vocabulary's order."""
        terms = tuple(t for t in self.terms if t.value in values)
        transitions = {
            k: tuple(v for v in vs if v in values)
            for k, vs in self.transitions.items()
            if k in values
        }
        return Vocabulary(name, self.zh, self.en, terms, transitions)


# --- Renovation sites --------------------------------------------------------------------------

RENOVATION_KIND = Vocabulary(
    "renovation_kind",
    "项目类型",
    "Project kind",
    (
        Term("old_community", "老旧小区改造", "Old community renovation", "#1f78b4"),
        Term("expropriation", "征收", "Expropriation", "#e31a1c"),
        Term("public_facility", "公共设施项目", "Public facility project", "#33a02c"),
        Term("street_upgrade", "街区提升", "Street upgrade", "#ff7f00"),
    ),
)

# One status column holds the stages of every kind; RENOVATION_STAGES_BY_KIND says which apply.
RENOVATION_STATUS = Vocabulary(
    "renovation_status",
    "项目阶段",
    "Project stage",
    (
        Term("reserve", "储备", "Reserve", "#b3b3b3"),
        Term("preparation", "前期", "Preparation", "#a6cee3"),
        Term("construction", "施工", "Under construction", "#ff7f00"),
        Term("completed", "完工", "Completed", "#b2df8a"),
        Term("accepted", "验收", "Accepted", "#33a02c"),
        Term("mobilisation", "前期发动", "Mobilisation", "#fdbf6f"),
        Term("signing", "签约", "Contract signing", "#fb9a99"),
        Term("vacating", "腾房", "Vacating", "#e31a1c"),
        Term("done", "完成", "Done", "#6a3d9a"),
    ),
    transitions={
        "reserve": ("preparation",),
        "preparation": ("construction",),
        "construction": ("completed",),
        "completed": ("accepted",),
        "mobilisation": ("signing",),
        "signing": ("vacating",),
        "vacating": ("done",),
    },
)

_BUILD_STAGES = ("reserve", "preparation", "construction", "completed", "accepted")
RENOVATION_STAGES_BY_KIND: dict[str, Vocabulary] = {
    "old_community": RENOVATION_STATUS.subset("old_community_stages", _BUILD_STAGES),
    "expropriation": RENOVATION_STATUS.subset(
        "expropriation_stages", ("mobilisation", "signing", "vacating", "done")
    ),
    "public_facility": RENOVATION_STATUS.subset("public_facility_stages", _BUILD_STAGES),
    "street_upgrade": RENOVATION_STATUS.subset("street_upgrade_stages", _BUILD_STAGES),
}

# 老旧小区改造 phases: 四期 is wrapping up, 五期 starting (the subdistrict's work plan).
RENOVATION_PHASE = Vocabulary(
    "renovation_phase",
    "期次",
    "Phase",
    (
        Term("3", "三期", "Phase 3", "#cab2d6"),
        Term("4", "四期", "Phase 4", "#6a3d9a"),
        Term("5", "五期", "Phase 5", "#1f78b4"),
        Term("6", "六期", "Phase 6", "#a6cee3"),
    ),
)

# --- Cultural viewpoints -----------------------------------------------------------------------

VIEWPOINT_STATUS = Vocabulary(
    "viewpoint_status",
    "开放状态",
    "Opening status",
    (
        Term("planned", "规划中", "Planned", "#9e9e9e"),
        Term("open", "开放", "Open", "#2e7d32"),
        Term("temporarily_closed", "临时关闭", "Temporarily closed", "#c62828"),
    ),
    transitions={
        "planned": ("open",),
        "open": ("temporarily_closed",),
        "temporarily_closed": ("open",),
    },
)

VIEWPOINT_THEME = Vocabulary(
    "viewpoint_theme",
    "主题",
    "Theme",
    (
        Term("wang_anshi", "王安石", "Wang Anshi", "#8c510a"),
        Term("chenghuang_temple", "城隍庙", "City God Temple", "#b2182b"),
        Term("qu_qiubai", "瞿秋白 / 秋之白华", "Qu Qiubai", "#d6604d"),
        Term("famous_scholars", "名士传承", "Scholars' heritage", "#4393c3"),
        Term("streetscape", "街巷风貌", "Lanes and streetscape", "#5aae61"),
        Term("red_culture", "红色文化", "Revolutionary heritage", "#e7298a"),
    ),
)

# --- Rule-of-law pocket parks (法治口袋公园) ------------------------------------------------------

PARK_STATUS = Vocabulary(
    "park_status",
    "建设状态",
    "Build status",
    (
        Term("planned", "规划中", "Planned", "#9e9e9e"),
        Term("under_construction", "建设中", "Under construction", "#ff9800"),
        Term("open", "开放", "Open", "#43a047"),
    ),
    transitions={"planned": ("under_construction",), "under_construction": ("open",)},
)

PARK_THEME = Vocabulary(
    "park_theme",
    "法治主题",
    "Law theme",
    (
        Term("constitution", "宪法", "Constitution", "#c62828"),
        Term("civil_code", "民法典", "Civil Code", "#1565c0"),
        Term("anti_fraud", "反电诈", "Anti-fraud", "#6a1b9a"),
        Term("minors", "未成年人保护", "Protection of minors", "#f9a825"),
        Term("traffic_safety", "交通安全", "Traffic safety", "#00838f"),
        Term("mediation", "矛盾调解", "Mediation", "#2e7d32"),
    ),
)

PARK_FACILITY = Vocabulary(
    "park_facility",
    "设施",
    "Facility",
    (
        Term("law_boards", "普法宣传栏", "Law notice boards", "#b2182b"),
        Term("benches", "座椅", "Benches", "#8c510a"),
        Term("lighting", "照明", "Lighting", "#dfc27d"),
        Term("fitness", "健身器材", "Fitness equipment", "#1b7837"),
        Term("children_play", "儿童游乐", "Children's play", "#e08214"),
        Term("mediation_booth", "调解角", "Mediation corner", "#542788"),
        Term("accessible", "无障碍通道", "Step-free access", "#2166ac"),
    ),
)

# --- Buildings ---------------------------------------------------------------------------------

BUILDING_STATUS = Vocabulary(
    "building_status",
    "使用状态",
    "Occupancy",
    (
        Term("in_use", "在用", "In use", "#90a4ae"),
        Term("renovating", "改造中", "Being renovated", "#ffb74d"),
        Term("vacated", "已腾空", "Vacated", "#e57373"),
        Term("demolished", "已拆除", "Demolished", "#424242"),
    ),
    transitions={
        "in_use": ("renovating", "vacated"),
        "renovating": ("in_use",),
        "vacated": ("demolished", "renovating"),
    },
)

BUILDING_USE = Vocabulary(
    "building_use",
    "用途",
    "Use",
    (
        Term("residential", "住宅", "Residential", "#fdd49e"),
        Term("commercial", "商业", "Commercial", "#9ecae1"),
        Term("mixed", "商住混合", "Mixed use", "#c994c7"),
        Term("public", "公共建筑", "Public", "#a1d99b"),
        Term("heritage", "文物古迹", "Heritage", "#d7301f"),
    ),
)

BUILDING_STRUCTURE = Vocabulary(
    "building_structure",
    "结构类型",
    "Structure",
    (
        Term("brick_wood", "砖木", "Brick and timber", "#a6611a"),
        Term("brick_concrete", "砖混", "Brick and concrete", "#d6604d"),
        Term("frame", "框架", "Concrete frame", "#878787"),
        Term("steel", "钢结构", "Steel", "#4393c3"),
        Term("timber", "木结构", "Timber", "#7f3b08"),
    ),
)

# --- Safety hazards (安全隐患) --------------------------------------------------------------------

# 排查 → 上报 → 交办 → 整改 → 复查 → 销号; a failed re-inspection goes back to rectifying.
# Also: rejected (not a hazard, or a duplicate) and 即查即改 (found and fixed at once → closed).
# The graph is enforced by layers/services/workflow.py, whose actions are exactly these edges.
HAZARD_STATUS = Vocabulary(
    "hazard_status",
    "处置状态",
    "Lifecycle status",
    (
        Term("found", "排查发现", "Found", "#e53935"),
        Term("reported", "已上报", "Reported", "#fb8c00"),
        Term("assigned", "已交办", "Assigned", "#fdd835"),
        Term("rectifying", "整改中", "Rectifying", "#8e24aa"),
        Term("reinspection", "待复查", "Awaiting re-inspection", "#1e88e5"),
        Term("closed", "已销号", "Closed", "#43a047"),
        Term("rejected", "不予立案", "Rejected", "#9e9e9e"),
    ),
    transitions={
        "found": ("reported", "closed", "rejected"),
        "reported": ("assigned", "rejected"),
        "assigned": ("rectifying", "reported", "rejected"),
        "rectifying": ("reinspection", "rejected"),
        "reinspection": ("closed", "rectifying", "rejected"),
        # A resident says a closed hazard is not fixed (随手拍, docs/REPORTS.md): re-inspection.
        "closed": ("reinspection",),
    },
)
HAZARD_CLOSED_STATUSES = ("closed", "rejected")
HAZARD_OPEN_STATUSES = tuple(v for v in HAZARD_STATUS.values if v not in HAZARD_CLOSED_STATUSES)

HAZARD_REJECT_REASON = Vocabulary(
    "hazard_reject_reason",
    "不予立案原因",
    "Reason for rejection",
    (
        Term("not_hazard", "经核实不构成隐患", "Not a hazard"),
        Term("duplicate", "重复上报", "Duplicate"),
    ),
)

# 退回: why the assigned unit sends a hazard back to the dispatch queue ("other" needs a note).
HAZARD_RETURN_REASON = Vocabulary(
    "hazard_return_reason",
    "退回原因",
    "Reason for returning",
    (
        Term("not_our_duty", "不属于本单位职责", "Not our unit's responsibility"),
        Term("incomplete", "信息不全", "Information incomplete"),
        Term("wrong_location", "位置有误", "Wrong location"),
        Term("other", "其他", "Other (explain in the note)"),
    ),
)

# What a notice is about (layers/services/notifications.py); each user chooses which reach them.
NOTICE_EVENT = Vocabulary(
    "notice_event",
    "通知事件",
    "Notice event",
    (
        Term("assigned", "交办给我", "Assigned to me"),
        Term("returned", "被退回", "Returned by the unit"),
        Term("reminder", "期限将至", "Limit near"),
        Term("overdue", "已超期", "Overdue"),
        Term("escalated", "挂牌督办", "Put under formal supervision"),
        Term("reinspection_failed", "复查不通过", "Failed re-inspection"),
        # For webhook receivers only (no one's inbox): a public report's public status changed.
        Term("report_status", "随手拍办理状态变化", "Public report status changed"),
    ),
)
# Events that only webhook receivers get (their payload is public: nothing for an inbox).
NOTICE_WEBHOOK_ONLY = ("report_status",)

HAZARD_LEVEL = Vocabulary(
    "hazard_level",
    "隐患等级",
    "Hazard level",
    (
        Term("general", "一般隐患", "General", "#ffa000"),
        Term("major", "重大隐患", "Major", "#b71c1c"),
    ),
)

HAZARD_CATEGORY = Vocabulary(
    "hazard_category",
    "隐患类别",
    "Hazard category",
    (
        Term("structure", "房屋结构", "Building structure", "#795548"),
        Term("fire_equipment", "消防设施", "Fire equipment", "#d32f2f"),
        Term("wiring", "电气线路 / 私拉乱接", "Electrical wiring", "#fbc02d"),
        Term("gas", "燃气使用", "Gas use", "#0288d1"),
        Term("escape_route", "生命通道", "Escape routes and fire lanes", "#388e3c"),
        Term("ebike", "电动自行车停放充电", "E-bike parking and charging", "#7b1fa2"),
        Term("group_rental", "群租房 / 出租屋", "Group rentals", "#5d4037"),
        Term("three_in_one", "三合一 / 三小场所", "Live-work premises and small shops", "#455a64"),
    ),
)

# --- Communities and grid cells ----------------------------------------------------------------

BOUNDARY_STATUS = Vocabulary(
    "boundary_status",
    "边界状态",
    "Boundary status",
    (
        Term("active", "现行", "In force", "#3949ab"),
        Term("under_adjustment", "调整中", "Being redrawn", "#f4511e"),
    ),
    transitions={"active": ("under_adjustment",), "under_adjustment": ("active",)},
)

# --- Community service points (服务点位) -----------------------------------------------------

SERVICE_KIND = Vocabulary(
    "service_kind",
    "服务类型",
    "Kind of service point",
    (
        Term("grid_station", "网格直通站", "Grid direct-service station", "#c62828"),
        Term("party_centre", "党群服务中心", "Party-and-public service centre", "#ad1457"),
        Term("elderly_care", "养老服务", "Elderly care", "#ef6c00"),
        Term("children", "儿童友好", "Children", "#2e7d32"),
        Term("legal", "法律与调解", "Legal services and mediation", "#1565c0"),
        Term("culture", "文化艺术", "Culture and art", "#6a1b9a"),
        Term("clean_governance", "清廉建设", "Clean governance", "#00838f"),
    ),
)

SERVICE_OFFERED = Vocabulary(
    "service_offered",
    "提供服务",
    "Services offered",
    (
        Term("consultation", "政策咨询", "Policy consultation", "#5c6bc0"),
        Term("matters", "事项代办", "Errands done on your behalf", "#26a69a"),
        Term("day_care", "日间照料", "Day care", "#ffa726"),
        Term("meals", "助餐", "Meals", "#ff7043"),
        Term("rehabilitation", "康复护理", "Rehabilitation", "#8d6e63"),
        Term("childcare", "托育看护", "Childcare", "#66bb6a"),
        Term("activities", "活动场地", "Activity space", "#9ccc65"),
        Term("legal_aid", "法律援助", "Legal aid", "#42a5f5"),
        Term("mediation", "矛盾调解", "Mediation", "#29b6f6"),
        Term("classes", "公益课堂", "Free classes", "#ab47bc"),
        Term("exhibition", "展陈参观", "Exhibitions", "#26c6da"),
        Term("volunteering", "志愿服务", "Volunteering", "#ec407a"),
    ),
)

SERVICE_STATUS = Vocabulary(
    "service_status",
    "服务状态",
    "Service status",
    (
        Term("planned", "规划中", "Planned", "#90a4ae"),
        Term("open", "开放", "Open", "#43a047"),
        Term("closed_temporarily", "暂停开放", "Temporarily closed", "#e53935"),
    ),
)

# Reference layers (the offline basemap): streets and lanes, water, landmarks.
REFERENCE_STATUS = Vocabulary(
    "reference_status",
    "现状",
    "State",
    (
        Term("existing", "现状", "Existing", "#9e9e9e"),
        Term("planned", "规划", "Planned", "#bdbdbd"),
    ),
)

STREET_CLASS = Vocabulary(
    "street_class",
    "道路等级",
    "Street class",
    (
        Term("main_road", "主干道", "Main road", "#f5f0e1"),
        Term("street", "街道", "Street", "#ffffff"),
        Term("lane", "弄/巷", "Lane", "#fbfaf6"),
    ),
)

WATER_KIND = Vocabulary(
    "water_kind",
    "水体类型",
    "Water kind",
    (
        Term("canal", "运河", "Canal", "#aad3df"),
        Term("river", "河道", "River", "#b5d9e4"),
        Term("pond", "池塘", "Pond", "#c2e0ea"),
    ),
)

LANDMARK_KIND = Vocabulary(
    "landmark_kind",
    "地标类型",
    "Landmark kind",
    (
        Term("heritage", "文物古迹", "Heritage site", "#8d6e63"),
        Term("public", "公共建筑", "Public building", "#78909c"),
        Term("bridge", "桥梁", "Bridge", "#90a4ae"),
        Term("gate", "牌坊/街口", "Gateway", "#a1887f"),
    ),
)

# --- Public reports (随手拍, docs/REPORTS.md) --------------------------------------------------

# What a reporter sees of a report: derived from the intake decision and, once accepted, from
# the hazard's lifecycle (layers/services/reports/status.py). Nothing internal has a term here.
REPORT_PUBLIC_STATUS = Vocabulary(
    "report_public_status",
    "办理状态",
    "Public status",
    (
        Term("received", "已收到", "Received", "#607d8b"),
        Term("accepted", "已受理", "Accepted", "#fb8c00"),
        Term("handling", "处理中", "Being handled", "#1e88e5"),
        Term("fixed", "已解决", "Fixed", "#43a047"),
        Term("not_accepted", "不予受理", "Not accepted", "#9e9e9e"),
    ),
)

# Why a report is not accepted, in words the reporter reads (an editor may add a public note).
REPORT_REJECT_REASON = Vocabulary(
    "report_reject_reason",
    "不予受理原因",
    "Reason for not accepting",
    (
        Term(
            "not_hazard",
            "经核实不构成安全隐患",
            "On checking, it is not a safety hazard",
            "#78909c",
        ),
        Term(
            "not_found",
            "现场未发现所反映的问题",
            "What was reported was not found on site",
            "#8d6e63",
        ),
        Term(
            "not_our_area", "不属于本街道管辖范围", "Not within this subdistrict's remit", "#5c6bc0"
        ),
        Term("insufficient", "信息不足，无法核实", "Not enough information to check it", "#ffb300"),
        Term("inappropriate", "内容不当", "Inappropriate content", "#6d4c41"),
    ),
)

ALL_VOCABULARIES: tuple[Vocabulary, ...] = (
    RENOVATION_KIND,
    RENOVATION_STATUS,
    RENOVATION_PHASE,
    VIEWPOINT_STATUS,
    VIEWPOINT_THEME,
    PARK_STATUS,
    PARK_THEME,
    PARK_FACILITY,
    BUILDING_STATUS,
    BUILDING_USE,
    BUILDING_STRUCTURE,
    HAZARD_STATUS,
    HAZARD_LEVEL,
    HAZARD_CATEGORY,
    BOUNDARY_STATUS,
    SERVICE_KIND,
    SERVICE_OFFERED,
    SERVICE_STATUS,
    REFERENCE_STATUS,
    STREET_CLASS,
    WATER_KIND,
    LANDMARK_KIND,
    REPORT_PUBLIC_STATUS,
    REPORT_REJECT_REASON,
)
