"""The README names only things that exist: sample users and grid cells from fixtures/."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _users() -> set[str]:
    return {u["username"] for u in json.loads((ROOT / "fixtures" / "users.json").read_text())}


def _cells() -> dict[str, str | None]:
    features = json.loads((ROOT / "fixtures" / "grid-cells.geojson").read_text())["features"]
    return {f["properties"]["code"]: f["properties"]["worker"] for f in features}


def test_every_sample_user_the_readme_names_exists():
    text = (ROOT / "README.md").read_text()
    users = _users()
    named = set(re.findall(r"`((?:demo-[a-z]+|grid-\d+))`", text))
    assert named, "the README names no sample user"
    assert named <= users, f"the README names users that do not exist: {named - users}"
    # A range `grid-01` … `grid-NN`: both ends exist and nothing past the end does.
    for first, last in re.findall(r"`(grid-\d+)` … `(grid-\d+)`", text):
        assert {first, last} <= users
        assert f"grid-{int(last[5:]) + 1:02d}" not in users, f"{last} is not the last grid user"


def test_every_grid_cell_the_readme_names_exists_with_the_worker_it_says():
    text = (ROOT / "README.md").read_text()
    cells = _cells()
    named = set(re.findall(r"`(HHC-\d\d-\d\d)`", text))
    assert named <= set(cells), f"unknown grid cells in the README: {named - set(cells)}"
    for cell in named:
        if f"`{cell}` has none" in text:
            assert cells[cell] is None
