"""Helpers of the public report tests: phone-like photos with every kind of metadata, a reader
of a JPEG's segments, and a real SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import io
import socket
from contextlib import contextmanager
from email import policy

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
