"""The sample-data generator (fixtures/gen/): repeatable, byte-identical to the committed
fixtures, and its checks follow the layer registry."""

from __future__ import annotations

import random

import pytest

from fixtures.gen import FOLDER, SEED, build, checks, output


def _dataset():
    return build.build(random.Random(SEED))


def test_the_generator_reproduces_the_committed_fixtures_byte_for_byte(tmp_path):
    dataset = _dataset()
    checks.run(dataset)
    output.write(dataset, tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    from layers.domain import registry

    # a GeoJSON per layer, users.json, a photo per viewpoint
    assert len(written) == len(registry.LAYERS) + 1 + len(dataset.wgs["viewpoints"])
    for name in written:
        assert (tmp_path / name).read_bytes() == (FOLDER / name).read_bytes(), name


def test_building_twice_in_one_process_gives_the_same_data():
    first, second = _dataset(), _dataset()
    assert first.wgs == second.wgs
    assert first.users == second.users


@pytest.mark.parametrize(
    ("slug", "key", "value", "message"),
    [
        ("buildings", "community", "HHC-01", "unknown properties"),  # derived: not loadable
        ("buildings", "status", "collapsed", "not in building_status"),
        ("hazards", "level", "urgent", "not in hazard_level"),
    ],
)
def test_a_row_the_registry_would_refuse_fails_the_checks(slug, key, value, message):
    dataset = _dataset()
    dataset.wgs[slug][0][1][key] = value
    with pytest.raises(SystemExit, match=f"CHECK FAILED: .*{message}"):
        checks.run(dataset)
