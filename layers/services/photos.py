"""Hazard photos: decoded and re-encoded with Pillow, metadata stripped, thumbnails made.

A file that only claims to be an image fails to decode and is refused. JPEG, PNG and HEIC
(through pillow-heif) are read; everything is stored as a fresh JPEG that carries pixels only:
no EXIF (GPS, the phone's make and serial), no JPEG comment (COM, where a polyglot's script or
a name and phone number can sit), no XMP, no PNG text chunk, no ICC profile (a photo with one
is first converted to sRGB, so its colours stay right without it). GPS EXIF, when present, is
read first and returned as a suggested location (the caller decides whether to use it).

Decoding is bounded in memory: the header is checked first (format, HAZARD_PHOTO_MAX_PIXELS),
a JPEG is decoded at the smallest DCT scale (1/2, 1/4, 1/8) that still gives
HAZARD_PHOTO_MAX_SIDE pixels (Pillow's draft mode), any other image is reduced right after
decoding, and each process decodes one photo at a time (_DECODE_LOCK), so parallel uploads
queue instead of each holding a full-size image (a 50-megapixel PNG is ~200 MB decoded).
Photos live in PRIVATE_MEDIA_ROOT, which no URL serves directly: a view checks the reader.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image, ImageCms, UnidentifiedImageError

try:  # HEIC from iPhones; optional at import so that a missing wheel is a clear 400, not a 500
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - the wheel is pinned in requirements.txt
    HEIC = False

FORMATS = {"JPEG", "PNG", "MPO"} | ({"HEIF"} if HEIC else set())
THUMBNAIL = (320, 320)
GPS_IFD = 0x8825
ORIENTATION = 0x0112
# EXIF orientation -> the transpositions that turn the pixels upright (ImageOps.exif_transpose).
UPRIGHT = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
# One decode at a time per process: a gthread worker's threads queue here instead of each
# holding a full-size image.
_DECODE_LOCK = threading.Lock()
# Modes Image.reduce() works on; others are converted first.
_REDUCIBLE = {"L", "LA", "RGB", "RGBA"}


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
        with Image.open(io.BytesIO(data)) as probe:  # reads the header only
            kind = probe.format
            if kind not in FORMATS:
                raise PhotoRefused(f"{kind} is not accepted; send a JPEG, PNG or HEIC photo")
            if probe.width * probe.height > settings.HAZARD_PHOTO_MAX_PIXELS:
                raise PhotoRefused("the image has too many pixels")
            probe.verify()
        with _DECODE_LOCK:
            rgb, suggested = _decode(data, settings.HAZARD_PHOTO_MAX_SIDE)
    except PhotoRefused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise PhotoRefused("the file is not a readable JPEG, PNG or HEIC image") from None
    if max(rgb.size) > side:
        rgb.thumbnail((side, side), Image.Resampling.LANCZOS)
    full = io.BytesIO()
    _pixels_only(rgb).save(full, "JPEG", quality=85, optimize=True)
    thumb = rgb.copy()
    thumb.thumbnail(THUMBNAIL, Image.Resampling.LANCZOS)
    small = io.BytesIO()
    _pixels_only(thumb).save(small, "JPEG", quality=80)
    name = uuid.uuid4().hex
    return Processed(
        image=ContentFile(full.getvalue(), name=f"{name}.jpg"),
        thumbnail=ContentFile(small.getvalue(), name=f"{name}-thumb.jpg"),
        width=rgb.width,
        height=rgb.height,
        suggested=suggested,
    )


def _decode(data: bytes, side: int) -> tuple[Image.Image, tuple[float, float] | None]:
    """The upright RGB pixels of `data`, at least `side` pixels on the long side when the
    image has them but not much more, and the GPS suggestion. Holds one full decode at most:
    a JPEG decodes at a reduced DCT scale (draft), anything else is reduced right away."""
    # Not closed by a `with`: a closed image drops its pixels, and the data is in memory.
    image = Image.open(io.BytesIO(data))
    suggested = gps_of(image)
    try:
        orientation = image.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - broken EXIF is common and never fatal
        orientation = 1
    icc = image.info.get("icc_profile")
    if image.format in ("JPEG", "MPO"):
        # Decode at 1/2, 1/4 or 1/8 scale while the long side keeps `side` pixels.
        scale = min(1.0, side / max(image.size))
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    image.load()  # a truncated or forged file fails here
    if image.mode not in _REDUCIBLE:
        image = image.convert("RGBA")
    factor = max(1, max(image.size) // side)
    if factor > 1:
        image = image.reduce(factor)  # the full-size pixels are let go here
    rgb = _srgb(image, icc)
    del image
    for step in UPRIGHT.get(orientation, ()):
        rgb = rgb.transpose(step)
    return rgb, suggested


def _srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels in sRGB: converted by the photo's ICC profile when it has one (the profile
    itself is not kept), as they are otherwise or when the profile cannot be read."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            target = ImageCms.createProfile("sRGB")
            mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
            image = ImageCms.profileToProfile(image.convert(mode), source, target, outputMode=mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken or unusual profile: the pixels as they are
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA"):
        # Transparent parts of a PNG on white, as a viewer shows them.
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        return background
    return image.convert("RGB")


def _pixels_only(image: Image.Image) -> Image.Image:
    """The image with nothing but its pixels: Pillow's JPEG writer would otherwise carry the
    source's comment (info["comment"]) into the new file."""
    image.info.clear()
    return image


def store(hazard, upload, user):
    """Process `upload` and keep it as a HazardPhoto of `hazard` (not yet on a step)."""
    from layers.domain.models import HazardPhoto

    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    processed = process(upload)
    photo = HazardPhoto(hazard=hazard, uploaded_by=user, source_sha256=digest.hexdigest())
    photo.image.save(processed.image.name, processed.image, save=False)
    photo.thumbnail.save(processed.thumbnail.name, processed.thumbnail, save=False)
    photo.save()
    return photo, processed.suggested
