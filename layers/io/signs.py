"""QR signs for the 大庙弄 tour: one A5 page per stop with its number, zh/en name, a short text
and a QR code (segno) opening the stop's page `<base-url>/tour/stops/<n>/` (n = tour order).

Drawn with matplotlib in the same CJK set-up as printed maps (layers/io/printing.py: Noto Sans CJK
as Type 3 glyphs, so the Chinese renders and stays extractable). The QR code is drawn as
vector squares, so it stays sharp at any print size.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from layers.domain import registry
from layers.io.printing import _setup_matplotlib
from layers.query import params as p

A5_MM = (148, 210)
MAX_TEXT_ZH = 90
MAX_TEXT_EN = 180


def clean_base_url(raw: str) -> str:
    """An absolute http(s) URL without query or fragment; no trailing slash."""
    raw = p.text("base-url", raw, max_length=200).strip()
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise p.ParamError(
            "base-url", f"expected an http(s) URL such as https://example.org, got {raw!r}"
        )
    if parts.query or parts.fragment or " " in raw:
        raise p.ParamError("base-url", "no query, fragment or space")
    return raw.rstrip("/")


def stop_url(base_url: str, number: int) -> str:
    return f"{base_url}/tour/stops/{number}/"


def stops():
    """The tour's stops in order (live viewpoints by tour order)."""
    return list(registry.get("viewpoints").model.objects.order_by("tour_order"))


def _short(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _wrap_zh(text: str, width: int) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def _draw_qr(fig, url: str, rect) -> None:
    import segno
    from matplotlib.patches import Rectangle

    qr = segno.make(url, error="m", micro=False)
    matrix = [list(row) for row in qr.matrix]
    size = len(matrix)
    border = 4
    ax = fig.add_axes(rect)
    ax.set_xlim(0, size + 2 * border)
    ax.set_ylim(size + 2 * border, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.add_patch(Rectangle((0, 0), size + 2 * border, size + 2 * border, color="white"))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                ax.add_patch(Rectangle((x + border, y + border), 1, 1, color="black", linewidth=0))


def render(base_url: str, out: Path) -> list[str]:
    """Write the signs to `out` (PDF); the URLs their QR codes hold, in page order."""
    plt = _setup_matplotlib()
    from matplotlib.backends.backend_pdf import PdfPages

    urls = []
    width, height = (v / 25.4 for v in A5_MM)
    with PdfPages(out, metadata={"Title": "大庙弄文化游览 · QR signs"}) as pdf:
        for stop in stops():
            url = stop_url(base_url, stop.tour_order)
            urls.append(url)
            fig = plt.figure(figsize=(width, height))
            fig.text(
                0.08,
                0.95,
                "大庙弄文化游览 · Damiaonong cultural tour",
                fontsize=9,
                va="top",
                color="#555555",
            )
            fig.text(
                0.08,
                0.91,
                str(stop.tour_order),
                fontsize=54,
                fontweight="bold",
                va="top",
                color="#8c1c13",
            )
            fig.text(
                0.30,
                0.89,
                _wrap_zh(stop.name, 11),
                fontsize=20,
                fontweight="bold",
                va="top",
                linespacing=1.2,
            )
            fig.text(
                0.30, 0.80, "\n".join(textwrap.wrap(stop.name_en or "", 30)), fontsize=11, va="top"
            )
            fig.text(
                0.08,
                0.72,
                _wrap_zh(_short(stop.description, MAX_TEXT_ZH), 22),
                fontsize=10,
                va="top",
                linespacing=1.5,
            )
            fig.text(
                0.08,
                0.56,
                "\n".join(textwrap.wrap(_short(stop.description_en, MAX_TEXT_EN), 56)),
                fontsize=8,
                va="top",
                linespacing=1.4,
                color="#333333",
            )
            _draw_qr(fig, url, (0.25, 0.10, 0.50, 0.50 * width / height * 1.0))
            fig.text(
                0.5, 0.08, "扫码打开本站介绍 · Scan for this stop's page", fontsize=9, ha="center"
            )
            fig.text(0.5, 0.05, url, fontsize=7, ha="center", color="#555555")
            if settings.DATA_NOTE:
                fig.text(0.5, 0.025, settings.DATA_NOTE, fontsize=6, ha="center", color="#777777")
            pdf.savefig(fig)
            plt.close(fig)
    return urls
