"""Longest work first: the order pytest-xdist hands tests to its workers.

pytest-xdist gives the first quarter of the collected tests to the workers in turns and the rest
one by one as workers free up, in collection order. In file order, the longest tests (a week of
the hazard loop in Chromium, axe over every page per role, the upgrade drill) came late, and the
run ended with one worker busy and the others idle. Here the collected tests are ordered by unit:
a module, or an `xdist_group` (which xdist keeps on one worker), longest unit first, the tests of a
unit in their own order (so a module's fixtures are set up once per worker, as before). Nothing
is skipped or added: only the order changes.

A unit's weight is the sum of its tests' durations (set-up + call + tear-down) recorded in
`tests/durations.json`; a test not recorded there counts by its markers. Record anew with
`make test PYTEST_ARGS="--record-durations"` (it writes the file when the run ends).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

DURATIONS = Path(__file__).with_name("durations.json")
# Seconds for a test the file does not know (a new one): by its most costly marker.
DEFAULT_SECONDS = {"cluster": 20.0, "browser": 8.0, "gis": 5.0, "slow": 5.0}
PLAIN_SECONDS = 0.3


def pytest_addoption(parser):
    parser.addoption(
        "--record-durations",
        action="store_true",
        help=f"write every test's duration to {DURATIONS.name} when the run ends "
        "(the order of the next runs: longest first)",
    )


def recorded() -> dict[str, float]:
    try:
        data = json.loads(DURATIONS.read_text())
    except (OSError, ValueError):
        return {}
    return {k: float(v) for k, v in data.get("tests", {}).items()}


def expected_seconds(item, known: dict[str, float]) -> float:
    if item.nodeid in known:
        return known[item.nodeid]
    for marker, seconds in DEFAULT_SECONDS.items():
        if item.get_closest_marker(marker):
            return seconds
    return PLAIN_SECONDS


def unit_of(item) -> str:
    group = item.get_closest_marker("xdist_group")
    if group:
        return "group:" + str(group.args[0] if group.args else group.kwargs.get("name"))
    return "module:" + item.nodeid.split("::", 1)[0]


def longest_first(items, known: dict[str, float]) -> list:
    units: dict[str, list] = defaultdict(list)
    for item in items:
        units[unit_of(item)].append(item)
    weight = {
        name: sum(expected_seconds(i, known) for i in members) for name, members in units.items()
    }
    # Sorted is stable: equal weights keep collection order.
    order = sorted(units, key=lambda name: -weight[name])
    return [item for name in order for item in units[name]]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    items[:] = longest_first(items, recorded())


class Recorder:
    """On the controller (or a run without xdist): every test's time, summed over its phases."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] += report.duration

    def pytest_sessionfinish(self, session):
        if not self.seconds:
            return
        tests = {k: round(v, 2) for k, v in sorted(self.seconds.items())}
        DURATIONS.write_text(
            json.dumps({"about": __doc__.split("\n")[0], "tests": tests}, indent=0) + "\n"
        )


def pytest_configure(config):
    if config.getoption("record_durations", False) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(), "hh-record-durations")
