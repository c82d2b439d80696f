"""The order xdist hands tests out (tests/scheduling.py): longest unit first, units whole."""

from __future__ import annotations

import pytest

from tests import scheduling


class Item:
    def __init__(self, nodeid, *markers, group=None):
        self.nodeid = nodeid
        self.markers = {m: getattr(pytest.mark, m).mark for m in markers}
        if group:
            self.markers["xdist_group"] = pytest.mark.xdist_group(group).mark

    def get_closest_marker(self, name):
        return self.markers.get(name)

    def __repr__(self):
        return self.nodeid


def test_longest_unit_first_and_each_unit_kept_together():
    items = [
        Item("tests/test_a.py::one"),
        Item("tests/test_a.py::two"),
        Item("tests/browser/test_b.py::x", "browser"),
        Item("tests/test_c.py::long"),
        Item("tests/test_a.py::three"),
        Item("tests/test_d.py::g1", group="drill"),
        Item("tests/test_e.py::g2", group="drill"),
    ]
    known = {"tests/test_c.py::long": 30.0, "tests/test_d.py::g1": 5, "tests/test_e.py::g2": 6}
    ordered = [i.nodeid for i in scheduling.longest_first(items, known)]
    assert ordered == [
        "tests/test_c.py::long",  # 30 s recorded
        "tests/test_d.py::g1",  # the group: 11 s, its two modules together
        "tests/test_e.py::g2",
        "tests/browser/test_b.py::x",  # not recorded: 8 s as a browser test
        "tests/test_a.py::one",  # 3 plain tests, 0.9 s, in their own order
        "tests/test_a.py::two",
        "tests/test_a.py::three",
    ]


def test_the_order_is_a_permutation_of_what_was_collected(request):
    """This very session's items: the plugin is loaded (pyproject's addopts) and dropped nothing."""
    session_items = list(request.session.items)
    assert request.config.pluginmanager.has_plugin("tests.scheduling")
    collected = sorted(i.nodeid for i in request.session.items)
    assert collected == sorted(i.nodeid for i in scheduling.longest_first(session_items, {}))
    again = scheduling.longest_first(list(session_items), scheduling.recorded())
    assert again == list(session_items)  # stable: ordering twice changes nothing
