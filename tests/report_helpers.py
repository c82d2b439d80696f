"""Helpers of the public report tests: phone-like photos with every kind of metadata, a reader
of a JPEG's segments, and a real SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import io
import socket
from contextlib import contextmanager
from email import policy

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

# A place in the HHC-01-02 grid cell is taken from the sample data by each test; these are
# the GPS coordinates written into the test photos (they must never reach the server's copy).
PHOTO_GPS = (119.9471234, 31.7829876)


def _dms(value: float):
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return (IFDRational(d, 1), IFDRational(m, 1), IFDRational(s, 1000))


def phone_jpeg(size=(4000, 3000), colour=(90, 140, 200), quality=80) -> bytes:
    """A JPEG as a phone writes it: EXIF with the camera and GPS, a comment, XMP and an ICC
    profile. Noise keeps it large (a flat colour compresses to nothing)."""
    image = Image.effect_noise(size, 60).convert("RGB")
    tint = Image.new("RGB", size, colour)
    image = Image.blend(image, tint, 0.5)
    exif = Image.Exif()
    exif[0x010F] = "TestPhone"  # Make
    exif[0x0110] = "Model X"  # Model
    lon, lat = PHOTO_GPS
    exif.get_ifd(0x8825).update({1: "N", 2: _dms(lat), 3: "E", 4: _dms(lon)})
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=quality,
        exif=exif.tobytes(),
        comment=b"owner: Zhang San, +86 138 0000 0000",
        icc_profile=b"\x00" * 128,
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret place</x:xmpmeta>',
    )
    return out.getvalue()


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of every segment before the image data (SOS), in order."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF, f"bad segment at {i}"
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: image data follows
            markers.append(marker)
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        markers.append(marker)
        i += 2 + length
    return markers


def metadata_segments(data: bytes) -> list[str]:
    """APP1..APP15 (EXIF, XMP, ICC, ...) and COM segments of a JPEG: what must not survive."""
    return [hex(m) for m in jpeg_segments(data) if 0xE1 <= m <= 0xEF or m == 0xFE]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """aiosmtpd handler: every message received, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in (m["To"] or "")]


@contextmanager
def smtp_server():
    """A real SMTP server on 127.0.0.1: yields (inbox, port)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@contextmanager
def new_files_removed(root):
    """Files the tests store under `root` (photos in the private media) are removed after."""
    from pathlib import Path

    root = Path(root)
    before = {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    try:
        yield
    finally:
        if root.exists():
            for path in root.rglob("*"):
                if path.is_file() and path not in before:
                    path.unlink()


# -- the journey of a report, as the sample users take it (in-process tests) ------------------
def user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def photo(name="p.jpg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, phone_jpeg((640, 480)), content_type="image/jpeg")


def sent(contact="", cell="HHC-01-02", category="ebike", photos_=1, address="192.0.2.10"):
    """A report sent through the reports service from a place inside `cell`."""
    from layers.domain.models import GridCell
    from layers.services import reports

    p = GridCell.objects.get(code=cell).geom.point_on_surface
    data = {
        "category": category,
        "description": "楼道里有人飞线充电",
        "lon": str(p.x),
        "lat": str(p.y),
    }
    if contact:
        data["contact"] = contact
    return reports.submit(data, [photo() for _ in range(photos_)], reports.Sender(address))


def steps_of(report) -> list[str]:
    from layers.services import reports

    report.refresh_from_db()
    return [s["value"] for s in reports.public_view(report)["steps"]]


def run_to_closed(hazard_pk, *, closing_photo=True):
    """assign → start → rectify → pass, as the sample users would."""
    from layers.domain.models import SafetyHazard
    from layers.services import photos, workflow

    editor, worker, inspector = user("demo-editor"), user("grid-02"), user("demo-inspector")
    workflow.perform(
        hazard_pk, "assign", editor, {"responsible_unit": "北大街物业", "assignee": "grid-02"}
    )
    workflow.perform(hazard_pk, "start", worker, {"note": "内部：联系了物业王经理"})
    workflow.perform(hazard_pk, "rectify", worker, {"note": "已清理，王经理签字"})
    ids = []
    if closing_photo:
        hazard = SafetyHazard.objects.get(pk=hazard_pk)
        ids = [photos.store(hazard, photo("fixed.jpg"), inspector)[0].pk]
    workflow.perform(hazard_pk, "pass", inspector, {"photos": ids, "note": "复查合格"})


@pytest.fixture(scope="module")
def photos_removed():
    """Photos the module's tests store in the private media are removed after it."""
    from django.conf import settings

    with new_files_removed(settings.PRIVATE_MEDIA_ROOT):
        yield


@pytest.fixture
def fresh_limits():
    """The limits count in the default cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@contextmanager
def clock_moved(**delta):
    """The service clock (layers/domain/clock.py) moved by a timedelta's worth from the real
    one, for what runs inside: never sleep for a window or a limit."""
    import datetime as dt

    from django.test import override_settings

    seconds = int(dt.timedelta(**delta).total_seconds())
    with override_settings(SERVICE_CLOCK_OFFSET=str(seconds), SERVICE_TODAY=""):
        yield


def rates(by: str = "grid") -> dict:
    """The KPIs as leaders read them (layers/query/kpis.py, the default period): each group's
    figures by its key, and the total under None."""
    from layers.query import kpis

    data = kpis.compute(by, *kpis.default_period())
    out = {group["key"]: group for group in data["groups"]}
    out[None] = data["total"]
    return out
