"""Hazard photos (layers/services/photos.py, issue 27): the stored JPEG and its thumbnail carry
pixels
only (no EXIF, GPS, JPEG comment, XMP, ICC profile or PNG text), and decoding is bounded in
memory (a JPEG decodes at reduced scale, other images are reduced at once, one decode at a
time per process)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, JpegImagePlugin, PngImagePlugin
from PIL.TiffImagePlugin import IFDRational

from layers.services import photos

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"13912345678"  # a phone number, in every metadata segment of the uploads
SCRIPT = b"<script>alert(1)</script>"


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "TestPhone " + SECRET.decode()  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    dms = (IFDRational(31, 1), IFDRational(47, 1), IFDRational(0, 1))
    exif.get_ifd(0x8825).update({1: "N", 2: dms, 3: "E", 4: (IFDRational(119, 1), *dms[1:])})
    return exif.tobytes()


def _icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def loaded_jpeg(size=(640, 480)) -> bytes:
    """A JPEG with every kind of metadata a phone or an attacker puts in one."""
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(
        out,
        "JPEG",
        exif=_exif(),
        comment=SCRIPT + b" " + SECRET,
        icc_profile=_icc(),
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description phone="'
        + SECRET
        + b'"/></x:xmpmeta>',
    )
    return out.getvalue()


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the image data (SOS)."""
    assert data[:2] == b"\xff\xd8"
    markers, at = [], 2
    while at < len(data):
        assert data[at] == 0xFF
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    return markers


def assert_pixels_only(data: bytes) -> None:
    markers = jpeg_segments(data)
    app = [hex(m) for m in markers if 0xE1 <= m <= 0xEF]  # APP1 (EXIF, XMP), APP2 (ICC), …
    assert not app, app
    assert 0xFE not in markers  # COM
    assert SECRET not in data and SCRIPT not in data and b"xmpmeta" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif() and "icc_profile" not in image.info
        assert "comment" not in image.info and "xmp" not in image.info


def test_a_jpeg_loses_exif_gps_comment_xmp_and_icc_but_is_upright():
    data = loaded_jpeg()
    with Image.open(io.BytesIO(data)) as source:  # the upload does carry them all
        assert source.info["comment"].startswith(SCRIPT) and source.info.get("icc_profile")
        assert "xmp" in source.info and source.getexif()[0x010F].endswith(SECRET.decode())
    processed = photos.process(SimpleUploadedFile("p.jpg", data))
    assert processed.suggested is not None  # GPS read first, as a suggestion
    assert (processed.width, processed.height) == (480, 640)  # turned upright by Orientation
    assert_pixels_only(processed.image.read())
    assert_pixels_only(processed.thumbnail.read())


def test_png_text_chunks_and_exif_are_dropped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "网格员 " + SECRET.decode())
    info.add_text("Comment", SCRIPT.decode(), zip=True)  # zTXt
    info.add_itxt("Description", "电话 " + SECRET.decode(), lang="zh")
    out = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 90, 0, 128)).save(
        out, "PNG", pnginfo=info, exif=_exif(), icc_profile=_icc()
    )
    processed = photos.process(SimpleUploadedFile("p.png", out.getvalue()))
    assert_pixels_only(processed.image.read())
    assert_pixels_only(processed.thumbnail.read())


def test_a_large_jpeg_is_decoded_at_reduced_scale(monkeypatch, settings):
    settings.HAZARD_PHOTO_MAX_SIDE = 1000
    out = io.BytesIO()
    Image.new("RGB", (4200, 2800), (10, 20, 30)).save(out, "JPEG", quality=60)
    decoded, locked = [], []
    load = JpegImagePlugin.JpegImageFile.load

    def spy_load(image):
        if image.tile:  # a real decode (later calls on the loaded image do nothing)
            decoded.append(image.size)
            locked.append(photos._DECODE_LOCK.locked())
        return load(image)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy_load)
    processed = photos.process(SimpleUploadedFile("big.jpg", out.getvalue()))
    # DCT scale 1/4 gives 1050 × 700, the smallest with 1000 pixels on the long side.
    assert (4200, 2800) not in decoded and (1050, 700) in decoded
    assert all(locked)  # decoded while holding the process's decode lock
    assert (processed.width, processed.height) == (1000, 667)
    assert not photos._DECODE_LOCK.locked()


def _streamed_png(path: Path, width: int, height: int) -> None:
    """A one-colour RGB PNG of any size, written row by row (no image in memory)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = b"\x00" + b"\x78\x1e\x1e" * width
    packer = zlib.compressobj(9)
    with path.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        for _ in range(height):
            data = packer.compress(row)
            if data:
                out.write(chunk(b"IDAT", data))
        out.write(chunk(b"IDAT", packer.flush()))
        out.write(chunk(b"IEND", b""))


MEASURE = """
import os, resource, sys
import django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from layers.services import photos
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = photos.process(SimpleUploadedFile("big.png", data))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024, result.width, result.height)
"""


def test_a_50_megapixel_png_does_not_cost_600_mb(tmp_path):
    """The issue's file: 49.98 megapixels, just under the cap, ~150 KB. Decoding it used to
    grow a worker by ~650 MB (full RGBA decode, then a transposed copy, then an RGB copy);
    now by the one decode (~200 MB), reduced at once. Measured in a fresh process."""
    path = tmp_path / "big.png"
    _streamed_png(path, 8660, 5771)
    assert path.stat().st_size < 400_000
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "geo_service.settings", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    grown_mb, width, height = map(int, result.stdout.split())
    assert (width, height) == (2560, 1706)
    assert grown_mb < 350, f"decoding grew the process by {grown_mb} MB"
