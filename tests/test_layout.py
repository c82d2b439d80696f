"""The channels stand side by side: REST (layers.channels.api), OGC (layers.channels.ogc), tiles (layers.channels.tiles.views),
map pages (layers.channels.maps) and WFS (layers.channels.wfs.views) import the shared read core (layers.query) and
the registry, never each other; the core imports no channel."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = {
    "layers.channels.api": ROOT / "layers" / "api",
    "layers.channels.ogc": ROOT / "layers" / "ogc",
    "layers.channels.tiles.views": ROOT / "layers" / "tiles.py",
    "layers.channels.maps": ROOT / "layers" / "maps",
    "layers.channels.wfs.views": ROOT / "layers" / "wfs.py",
}
CORE = ROOT / "layers" / "query"


def imported_modules(path: Path) -> set[str]:
    files = [path] if path.is_file() else sorted(path.rglob("*.py"))
    out = set()
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.add(node.module)
                out.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                out.update(alias.name for alias in node.names)
    return out


def imports_package(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_channel_imports_no_other_channel(channel):
    modules = imported_modules(CHANNELS[channel])
    others = [other for other in CHANNELS if other != channel]
    assert [o for o in others if imports_package(modules, o)] == []
    assert imports_package(modules, "layers.query")  # and it reads through the core


def test_the_core_imports_no_channel():
    modules = imported_modules(CORE)
    assert [c for c in CHANNELS if imports_package(modules, c)] == []
