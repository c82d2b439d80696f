"""Sending a report (随手拍): strict parsing, the abuse guards, storage; what is already known
nearby and "me too".

Both channels that take reports (the report page and POST /api/v1/reports/) call `submit` with
the fields as text, the uploaded photos and who sent it (`Sender`: the client address and the
device cookie, kept only as keyed digests in the limit counters, never stored with the report).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from geo_service.middleware import limits
from layers.domain import clock
from layers.domain import vocabularies as status
from layers.geo import geometry as geo
from layers.query import params as p
from layers.query import spatial
from layers.services import photos
from layers.services.reports import status as public
from layers.services.reports.errors import Invalid, NotFound, NotNow
from layers.services.workflow import deadlines

FIELDS = ("category", "description", "lon", "lat", "contact")
# The report page's guards (a honeypot and the time the form was shown); API clients omit them.
GUARD_FIELDS = ("website", "form_token")
DESCRIPTION_MAX = 1000
# Tracking codes: 8 characters of a 31-letter alphabet without 0/O, 1/I/L (about 8.5e11 codes;
# lookups are rate-limited per address).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")
_PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,24}")
_DEVICE = re.compile(r"[0-9a-f]{16,64}")
HOUR = 3600


@dataclass(frozen=True)
class Sender:
    """Who sent a request, as the limits see them: the client address and the device id (the
    report page's cookie, or an API client's X-Device-Id), both optional."""

    address: str | None = None
    device: str | None = None

    @property
    def device_digest(self) -> str:
        if not self.device or not _DEVICE.fullmatch(self.device):
            return ""
        return _digest("device", self.device)


def _digest(kind: str, value: str) -> str:
    key = f"{settings.SECRET_KEY}:report-{kind}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]


def new_device_id() -> str:
    return secrets.token_hex(16)


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw) -> str | None:
    """A tracking code as typed (lower case, spaces, a dash), or None if it cannot be one."""
    if not isinstance(raw, str) or len(raw) > 20:
        return None
    code = raw.strip().upper().replace("-", "").replace(" ", "")
    return code if _CODE.fullmatch(code) else None


def find(code_text, sender: Sender | None = None):
    """The report with this code (NotFound otherwise); lookups count against the address."""
    from layers.domain.models import PublicReport

    if sender is not None:
        limits.check(
            "report-lookup",
            sender.address or "unknown",
            settings.REPORT_LOOKUPS_PER_MINUTE,
            60,
        )
    code = normalise_code(code_text)
    report = PublicReport.objects.filter(code=code).first() if code else None
    if report is None:
        raise NotFound("no report with this code")
    return report


# -- the report page's guards ---------------------------------------------------------------
def form_token() -> str:
    """Given with the form; sent back with it, it tells how long the form was open.

    Measured on the real clock, like the rate limits: it is the seconds a person had the form
    in front of them, not a date of the service (a moved service clock must not make every
    form look too quick or too old)."""
    return signing.dumps(int(time.time()), salt="report-form")


def check_guards(data: dict) -> None:
    """The honeypot is empty and the form was open at least REPORT_MIN_FILL_SECONDS."""
    if (data.get("website") or "").strip():
        raise Invalid({"website": ["leave this field empty"]})
    try:
        shown = signing.loads(data.get("form_token") or "", salt="report-form", max_age=86400)
    except signing.BadSignature:
        raise Invalid({"form_token": ["the form has expired; reload the page"]}) from None
    if not isinstance(shown, int) or time.time() - shown < settings.REPORT_MIN_FILL_SECONDS:
        raise Invalid({"form_token": ["sent too quickly; check the report and send it again"]})


# -- parsing ----------------------------------------------------------------------------------
def parse(data: dict) -> dict:
    """The fields as typed values; Invalid naming every field that is wrong."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(FIELDS) - set(GUARD_FIELDS))
    for name in unknown:
        errors[name] = ["unknown field"]
    out: dict = {}

    def field(name, parse_one, *, required=True):
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                errors[name] = ["required"]
            return
        try:
            out[name] = parse_one(raw)
        except p.ParamError as exc:
            errors[name] = [exc.message]

    field("category", _category)
    field("description", _description)
    field("lon", lambda raw: p.number("lon", raw.strip(), low=-180, high=180))
    field("lat", lambda raw: p.number("lat", raw.strip(), low=-90, high=90))
    field("contact", _contact, required=False)
    if "lon" in out and "lat" in out:
        point = Point(out["lon"], out["lat"], srid=geo.STORAGE_SRID)
        if not geo.service_area().contains(point):
            message = "the place is outside the subdistrict's service area"
            errors["lon"] = errors["lat"] = [message]
        out["point"] = point
    if errors:
        raise Invalid(errors)
    return out


def _category(raw) -> str:
    if raw not in status.HAZARD_CATEGORY.values:
        raise p.ParamError("category", f"one of {', '.join(status.HAZARD_CATEGORY.values)}")
    return raw


def _description(raw) -> str:
    text = p.text("description", raw, max_length=DESCRIPTION_MAX).strip()
    if len(text) < 2:
        raise p.ParamError("description", "say in a few words what you saw")
    return text


def _contact(raw) -> dict:
    text = p.text("contact", raw, max_length=254).strip()
    if "@" in text:
        try:
            validate_email(text)
        except ValidationError:
            raise p.ParamError("contact", "not an email address") from None
        return {"email": text}
    digits = re.sub(r"\D", "", text)
    if not _PHONE.fullmatch(text) or not 6 <= len(digits) <= 20:
        raise p.ParamError("contact", "a phone number (digits) or an email address")
    return {"phone": text}


# -- sending ----------------------------------------------------------------------------------
def check_limits(sender: Sender) -> None:
    """RateLimited (429 + Retry-After) past the reports per hour of this address or device."""
    limits.check("report", sender.address or "unknown", settings.REPORT_LIMIT_PER_HOUR, HOUR)
    if sender.device_digest:
        limits.check(
            "report-device", sender.device_digest, settings.REPORT_DEVICE_LIMIT_PER_HOUR, HOUR
        )


def submit(data: dict, uploads: list, sender: Sender, *, guarded: bool = False):
    """A new report from `data` (text fields) and `uploads` (photo files); returns it.

    Invalid (400) names each bad field; RateLimited (429) past the limits; the report page
    (`guarded`) also proves its honeypot and fill time. Photos are re-encoded with every
    metadata segment removed; the contact is stored apart (ReportContact)."""
    from layers.domain.models import PublicReport, ReportContact, ReportEvent

    if guarded:
        check_guards(data)
    values = parse(data)
    if len(uploads) > settings.REPORT_MAX_PHOTOS:
        raise Invalid({"photos": [f"at most {settings.REPORT_MAX_PHOTOS} photos"]})
    check_limits(sender)
    processed = [_photo(upload) for upload in uploads]
    received = clock.now()
    with transaction.atomic():
        report = PublicReport(
            category=values["category"],
            description=values["description"],
            geom=values["point"],
            grid_cell=_cell_at(values["point"]),
            received_at=received,
            public_status_at=received,
            accept_due=deadlines.accept_due(values["category"], clock.local_date(received)),
        )
        _save_with_code(report)
        for item in processed:
            store_photo(report, item, "report")
        if values.get("contact"):
            ReportContact.objects.create(report=report, **values["contact"])
        ReportEvent.objects.create(
            report=report, kind="received", at=report.received_at, public_status="received"
        )
    return report


def _photo(upload):
    try:
        return photos.process(
            upload,
            max_bytes=settings.REPORT_PHOTO_MAX_BYTES,
            max_side=settings.REPORT_PHOTO_MAX_SIDE,
        )
    except photos.PhotoRefused as exc:
        raise Invalid({"photos": [str(exc)]}) from None


def store_photo(report, processed, kind: str):
    from layers.domain.models import ReportPhoto

    photo = ReportPhoto(report=report, kind=kind)
    photo.image.save(processed.image.name, processed.image, save=False)
    photo.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
    photo.save()
    return photo


def process_photo(upload):
    """A reporter's upload re-encoded (Invalid naming `photo` when it is no usable photo)."""
    try:
        return _photo(upload)
    except Invalid as exc:
        raise Invalid({"photo": exc.errors["photos"]}) from None


def _save_with_code(report) -> None:
    for _ in range(5):
        report.code = new_code()
        try:
            with transaction.atomic():
                report.save()
            return
        except IntegrityError:
            continue
    raise RuntimeError("no free tracking code after 5 tries")


def _cell_at(point):
    from layers.domain.models import GridCell

    return GridCell.objects.filter(geom__intersects=point).order_by("code").first()


# -- already known nearby ---------------------------------------------------------------------
def nearby(category: str, lon: float, lat: float, sender: Sender | None = None) -> list[dict]:
    """Open reports and open hazards of `category` within REPORT_NEARBY_RADIUS_M, nearest first,
    with their public status only (no name, no description, no internal field), the distance
    rounded to 10 m, and a `ref` to send with "me too". Lookups count against the sender's
    address like code lookups (the hazards layer is internal: no mapping it by repeated asks)."""
    from django.db.models import Count

    from layers.domain.models import PublicReport, SafetyHazard

    if sender is not None:
        limits.check(
            "report-nearby", sender.address or "unknown", settings.REPORT_LOOKUPS_PER_MINUTE, 60
        )
    radius = settings.REPORT_NEARBY_RADIUS_M
    open_hazards = SafetyHazard.objects.filter(
        category=category, status__in=status.HAZARD_OPEN_STATUSES
    )
    hazards = spatial.near(open_hazards, lon, lat, radius).annotate(
        supporters=Count("supports", distinct=True),
        reports=Count("public_reports", distinct=True),
    )
    new_reports = PublicReport.objects.filter(
        category=category, intake="new", hidden_at__isnull=True, hazard__isnull=True
    )
    reports = spatial.near(new_reports, lon, lat, radius).annotate(supporters=Count("supports"))
    found = []
    for h in hazards:
        state = public.of_hazard_status(h.status)
        found.append(_known("h", h.pk, state, h._distance_m, h.supporters + max(1, h.reports)))
    for r in reports:
        found.append(_known("r", r.pk, "received", r._distance_m, r.supporters + 1))
    found.sort(key=lambda item: item["distance_m"])
    return found[:10]


def _known(kind: str, pk: int, state: str, distance: float, people: int) -> dict:
    term = status.REPORT_PUBLIC_STATUS.term(state)
    return {
        "ref": signing.dumps([kind, pk], salt="report-nearby"),
        "status": state,
        "status_zh": term.zh,
        "status_en": term.en,
        "distance_m": int(round(distance / 10.0) * 10),
        "people": people,
    }


def me_too(ref, sender: Sender) -> int:
    """Add the sender to an open report or hazard found nearby (once per device); returns how
    many people have reported it now. NotFound for a bad ref, NotNow once it is closed."""
    from layers.domain.models import PublicReport, ReportSupport, SafetyHazard

    try:
        kind, pk = signing.loads(ref if isinstance(ref, str) else "", salt="report-nearby")
    except (signing.BadSignature, ValueError, TypeError):
        raise NotFound("no such report nearby") from None
    limits.check("report-metoo", sender.address or "unknown", settings.REPORT_ME_TOO_PER_HOUR, HOUR)
    if kind == "h":
        target = SafetyHazard.objects.filter(pk=pk).first()
        if target is None:
            raise NotFound("no such report nearby")
        if target.status not in status.HAZARD_OPEN_STATUSES:
            raise NotNow("this one is already closed; send a new report if you still see it")
        match = {"hazard": target}
        people = lambda: target.supports.count() + max(1, target.public_reports.count())  # noqa: E731
    else:
        target = PublicReport.objects.filter(pk=pk, hidden_at__isnull=True).first()
        if target is None:
            raise NotFound("no such report nearby")
        if target.intake != "new":
            raise NotNow("this report has been decided; look again for what is nearby")
        match = {"report": target}
        people = lambda: target.supports.count() + 1  # noqa: E731
    try:
        with transaction.atomic():
            ReportSupport.objects.create(device=sender.device_digest, **match)
    except IntegrityError:
        pass  # this device said so already: counted once
    return people()
