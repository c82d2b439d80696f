"""The layout is the architecture (docs/ARCHITECTURE.md): dependencies run one way,

    platform (geo_service/ plumbing) -> geo -> domain -> query -> services -> io -> auth -> jobs
    -> compose -> channels

each part importing only what stands to its left, channels never importing each other, and no
cycle anywhere. Every import counts, including the ones inside functions (an import moved into
a function to dodge a cycle is still an edge). Only the composition roots (URLconf, WSGI/ASGI,
settings, the app config, the models module Django looks for, management commands) may import
from every part.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Parts in dependency order: a module may import its own part and the parts before it.
PARTS = [
    ("platform", ("geo_service",)),
    ("geo", ("layers.geo",)),
    ("domain", ("layers.domain",)),
    ("query", ("layers.query",)),
    ("services", ("layers.services",)),
    ("io", ("layers.io",)),
    ("auth", ("layers.auth",)),
    ("jobs", ("layers.jobs",)),
    ("compose", ("layers.compose", "layers.templatetags")),
    ("channels", ("layers.channels",)),
]
CHANNELS = ("api", "ogc", "tiles", "wfs", "maps", "portal", "public", "admin", "metrics")
# Composition roots: they wire the parts together and may import any of them.
ROOTS = (
    "geo_service.urls",
    "geo_service.wsgi",
    "geo_service.asgi",
    "geo_service.settings",
    "geo_service.settings_production",
    "layers.apps",
    "layers.models",
    "layers.management",
    "layers",
    "geo_service",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for top in ("layers", "geo_service"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _resolve(current: str, node: ast.ImportFrom, mods: dict[str, Path]) -> str:
    if not node.level:
        return node.module or ""
    package = current.split(".")
    if mods[current].name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


def imports_of(name: str, mods: dict[str, Path]) -> set[str]:
    """The project modules `name` imports, at any depth of its code (functions included)."""
    tree = ast.parse(mods[name].read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(name, node, mods)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in mods else base)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
    return {m for m in out if m in mods and m != name}


def graph(mods: dict[str, Path] | None = None) -> dict[str, set[str]]:
    mods = mods or modules()
    return {name: imports_of(name, mods) for name in mods}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def rank(name: str) -> int | None:
    """The part's position in PARTS; None for a composition root."""
    if any(within(name, root) for root in ROOTS if root not in ("layers", "geo_service")):
        return None
    if name in ("layers", "geo_service"):
        return None
    for index, (_, packages) in enumerate(PARTS):
        if any(within(name, p) for p in packages):
            return index
    raise AssertionError(f"{name} belongs to no part: add it to PARTS or ROOTS")


def channel_of(name: str) -> str | None:
    if within(name, "layers.channels"):
        rest = name.split(".")[2:]
        return rest[0] if rest else None
    return None


def wrong_way_edges(edges: dict[str, set[str]]) -> list[str]:
    out = []
    for name, targets in edges.items():
        mine = rank(name)
        if mine is None:
            continue
        for target in targets:
            theirs = rank(target)
            if theirs is None:
                out.append(f"{name} -> {target} (a composition root)")
            elif theirs > mine:
                out.append(f"{name} -> {target} ({PARTS[mine][0]} imports {PARTS[theirs][0]})")
            elif channel_of(name) and channel_of(target) and channel_of(name) != channel_of(target):
                out.append(f"{name} -> {target} (a channel imports another channel)")
    return sorted(out)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of modules (Tarjan), as sorted lists."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for name in edges:
        if name not in index:
            visit(name)
    return sorted(found)


def test_every_module_belongs_to_a_part():
    for name in modules():
        rank(name)  # raises for a module outside every part


def test_dependencies_run_one_way():
    assert wrong_way_edges(graph()) == []


def test_no_import_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_channel_is_a_folder_of_channels(channel):
    assert (ROOT / "layers" / "channels" / channel / "__init__.py").exists()


@pytest.mark.parametrize(
    ("module", "hidden_import", "found"),
    [
        # the edges this layout removed, each hidden in a function
        (
            "layers.domain.models.base",
            "from layers.services import derived",
            "domain imports services",
        ),
        ("layers.domain.models.base", "from layers.domain import registry", "cycle"),
        ("layers.query.access", "from layers.auth import machine", "query imports auth"),
        ("layers.jobs.engine", "from layers.jobs.kinds import imports", "cycle"),
        ("layers.channels.ogc.tiles", "from layers.channels.ogc.views import landing", "cycle"),
        ("layers.channels.ogc.write", "from layers.channels.api import views", "another channel"),
        ("layers.io.importer", "from layers.channels.api import views", "io imports channels"),
        (
            "geo_service.middleware.limits",
            "from layers.query import access",
            "platform imports query",
        ),
    ],
)
def test_the_checker_finds_a_wrong_way_import_hidden_in_a_function(
    tmp_path, module, hidden_import, found
):
    mods = dict(modules())
    fake = tmp_path / mods[module].name
    source = mods[module].read_text(encoding="utf-8")
    fake.write_text(f"{source}\n\ndef _hidden():\n    {hidden_import}\n", encoding="utf-8")
    mods[module] = fake
    edges = graph(mods)
    report = (
        " ".join(wrong_way_edges(edges))
        + " "
        + " ".join("cycle " + " ".join(group) for group in cycles(edges))
    )
    assert found in report and module in report


def test_modules_stay_small_or_say_why():
    """No module over 400 lines without a reason at its top (a line saying `Long because`)."""
    long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400 and "Long because" not in text[:2000]:
            long.append(f"{name}: {text.count(chr(10))} lines")
    assert long == []
