"""QR signs: the codes in the PDF, decoded by zbar from pdftoppm's rendering, are exactly the
stop URLs; each A5 page names its stop in Chinese."""

from __future__ import annotations

import subprocess

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from layers.domain.models import CulturalViewpoint


def decode_pages(pdf, folder) -> list[list[str]]:
    subprocess.run(["pdftoppm", "-r", "110", "-png", str(pdf), str(folder / "page")], check=True)
    pages = []
    for image in sorted(folder.glob("page-*.png")):
        found = subprocess.run(
            ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(image)],
            capture_output=True,
            text=True,
        )
        pages.append([line for line in found.stdout.splitlines() if line])
    return pages


@pytest.mark.django_db
@pytest.mark.slow
def test_each_sign_decodes_to_its_stop_url(tmp_path):
    out = tmp_path / "signs.pdf"
    call_command("tour_signs", "--base-url=https://tour.example.cn/hehuachi/", f"--out={out}")
    stops = list(CulturalViewpoint.objects.order_by("tour_order"))
    assert len(stops) >= 2
    expected = [[f"https://tour.example.cn/hehuachi/tour/stops/{s.tour_order}/"] for s in stops]
    assert decode_pages(out, tmp_path) == expected
    reader = PdfReader(out)
    assert len(reader.pages) == len(stops)
    box = reader.pages[0].mediabox
    assert (round(float(box.width) / 72 * 25.4), round(float(box.height) / 72 * 25.4)) == (148, 210)
    text = subprocess.run(
        ["pdftotext", "-raw", str(out), "-"], check=True, capture_output=True, text=True
    ).stdout
    for stop in stops:
        assert stop.name[:5] in text.replace("\n", "")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "base", ["ftp://x.cn", "tour.example.cn", "https://", "https://x.cn/?a=1", "https://x.cn/#s"]
)
def test_a_bad_base_url_is_refused(tmp_path, base):
    with pytest.raises(CommandError, match="base-url"):
        call_command("tour_signs", f"--base-url={base}", f"--out={tmp_path}/s.pdf")
    assert not (tmp_path / "s.pdf").exists()
