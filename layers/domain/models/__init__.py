"""The models, by topic. Every geometry is EPSG:4326 in a field named `geom` with a spatial index.

Fields derived from geometry (a building's community, a hazard's building / grid / community, a
park's area) are never typed by hand: the editing service computes them on every write
(`layers.services.derived`). The models hold data and its own consistency rules only.
"""

from layers.domain.models.base import AllManager, LayerFeature, LiveManager, LiveQuerySet
from layers.domain.models.features import (
    Building,
    Community,
    CulturalViewpoint,
    GridCell,
    PocketPark,
    RenovationSite,
    ServicePoint,
)
from layers.domain.models.generalized import BuildingBlock, GeneralizedSource
from layers.domain.models.hazards import HazardEvent, HazardPhoto, SafetyHazard, _photo_path
from layers.domain.models.idempotency import IdempotencyKey
from layers.domain.models.jobs import Job
from layers.domain.models.limits import CalendarDay, TimeLimit
from layers.domain.models.notifications import (
    Notification,
    NotificationSetting,
    WebhookDelivery,
    WebhookEndpoint,
)
from layers.domain.models.reference import Landmark, ReferenceFeature, Street, Waterway
from layers.domain.models.reports import (
    PublicReport,
    ReportContact,
    ReportEvent,
    ReportPhoto,
    ReportSupport,
)
from layers.domain.models.tokens import ApiToken

__all__ = [
    "AllManager",
    "ApiToken",
    "Building",
    "BuildingBlock",
    "CalendarDay",
    "Community",
    "CulturalViewpoint",
    "GeneralizedSource",
    "GridCell",
    "HazardEvent",
    "HazardPhoto",
    "IdempotencyKey",
    "Job",
    "Landmark",
    "LayerFeature",
    "LiveManager",
    "LiveQuerySet",
    "Notification",
    "NotificationSetting",
    "PocketPark",
    "PublicReport",
    "ReferenceFeature",
    "RenovationSite",
    "ReportContact",
    "ReportEvent",
    "ReportPhoto",
    "ReportSupport",
    "SafetyHazard",
    "ServicePoint",
    "Street",
    "TimeLimit",
    "Waterway",
    "WebhookDelivery",
    "WebhookEndpoint",
    "_photo_path",
]
