"""Hazard photos: decoded and re-encoded with Pillow, metadata stripped, thumbnails made.

A file that only claims to be an image fails to decode and is refused. JPEG, PNG and HEIC
(through pillow-heif) are read; everything is stored as a fresh JPEG without EXIF, so the
place and the phone's details do not travel with the photo. GPS EXIF, when present, is read
first and returned as a suggested location (the caller decides whether to use it).
Photos live in PRIVATE_MEDIA_ROOT, which no URL serves directly: a view checks the reader.
"""

from __future__ import annotations

import io
import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC from iPhones; optional at import so that a missing wheel is a clear 400, not a 500
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - the wheel is pinned in requirements.txt
    HEIC = False

FORMATS = {"JPEG", "PNG", "MPO"} | ({"HEIF"} if HEIC else set())
THUMBNAIL = (320, 320)
GPS_IFD = 0x8825


class PhotoRefused(Exception):
    """The upload is not a usable photo; the message says why (400)."""


@dataclass
class Processed:
    image: ContentFile
    thumbnail: ContentFile
    width: int
    height: int
    suggested: tuple[float, float] | None  # lon, lat from GPS EXIF


def _rational(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _degrees(dms, ref) -> float | None:
    try:
        d, m, s = (_rational(v) for v in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    if ref in ("S", "W", b"S", b"W"):
        value = -value
    return value if math.isfinite(value) else None


def gps_of(image: Image.Image) -> tuple[float, float] | None:
    """(lon, lat) from the GPS EXIF, or None."""
    try:
        gps = image.getexif().get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001 - broken EXIF is common and never fatal
        return None
    if not gps or 2 not in gps or 4 not in gps:
        return None
    lat = _degrees(gps.get(2), gps.get(1))
    lon = _degrees(gps.get(4), gps.get(3))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lon, 7), round(lat, 7)


def process(upload, *, max_bytes: int | None = None, max_side: int | None = None) -> Processed:
    """Check, decode and re-encode an uploaded file; PhotoRefused with the reason. The limits
    default to the hazard photos' (HAZARD_PHOTO_MAX_BYTES, HAZARD_PHOTO_MAX_SIDE)."""
    limit = max_bytes or settings.HAZARD_PHOTO_MAX_BYTES
    side = max_side or settings.HAZARD_PHOTO_MAX_SIDE
    if upload.size > limit:
        raise PhotoRefused(f"the file is larger than {limit // (1024 * 1024)} MB")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise PhotoRefused(f"the file is larger than {limit // (1024 * 1024)} MB")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in FORMATS:
                raise PhotoRefused(f"{kind} is not accepted; send a JPEG, PNG or HEIC photo")
            if probe.width * probe.height > settings.HAZARD_PHOTO_MAX_PIXELS:
                raise PhotoRefused("the image has too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # a truncated or forged file fails here
            suggested = gps_of(image)
            upright = ImageOps.exif_transpose(image)
            rgb = upright.convert("RGB")
            # Pillow writes some of what it read back out (a JPEG comment from `info`): the
            # stored photo starts from pixels alone, so no metadata segment of any kind survives.
            rgb.info.clear()
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused("the file is not a readable JPEG, PNG or HEIC image") from None
    if max(rgb.size) > side:
        rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    full = io.BytesIO()
    rgb.save(full, "JPEG", quality=85, optimize=True)  # no exif= argument: nothing is kept
    thumb = rgb.copy()
    thumb.thumbnail(THUMBNAIL, Image.Resampling.LANCZOS)
    small = io.BytesIO()
    thumb.save(small, "JPEG", quality=80)
    name = uuid.uuid4().hex
    return Processed(
        image=ContentFile(full.getvalue(), name=f"{name}.jpg"),
        thumbnail=ContentFile(small.getvalue(), name=f"{name}-thumb.jpg"),
        width=rgb.width,
        height=rgb.height,
        suggested=suggested,
    )


def store(hazard, upload, user):
    """Process `upload` and keep it as a HazardPhoto of `hazard` (not yet on a step)."""
    from layers.domain.models import HazardPhoto

    processed = process(upload)
    photo = HazardPhoto(hazard=hazard, uploaded_by=user)
    photo.image.save(processed.image.name, processed.image, save=False)
    photo.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
    photo.save()
    return photo, processed.suggested
