"""The registry is the single source: slugs, fields and vocabularies are consistent."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from layers.domain import registry
from layers.domain import vocabularies as status
from layers.domain.roles import ALL_ROLES


def test_slugs_are_the_public_contract():
    assert set(registry.slugs()) == {
        "renovation-sites",
        "viewpoints",
        "pocket-parks",
        "buildings",
        "hazards",
        "communities",
        "grid-cells",
        "service-points",
        "streets",
        "water",
        "landmarks",
    }


@pytest.mark.parametrize("spec", registry.LAYERS, ids=lambda s: s.slug)
def test_spec_names_real_fields_and_sane_zooms(spec):
    names = {f.name for f in spec.model._meta.get_fields()}
    computed = set(spec.computed_properties()) if spec.computed_properties else set()
    # Computed properties are declared with their labels and type, and never shadow a field.
    assert computed == set(spec.computed_labels) and not computed & names
    for name in computed:
        assert spec.computed_labels[name][2] in {"boolean", "integer", "number", "string"}
    names |= computed
    for field in (
        *spec.popup_fields,
        *spec.public_fields,
        *spec.filter_fields,
        *spec.search_fields,
    ):
        assert field in names, f"{spec.slug}: no field {field}"
    for field, vocabulary in spec.vocabularies().items():
        choices = {value for value, _ in spec.model._meta.get_field(field).choices}
        assert choices == set(vocabulary.values), f"{spec.slug}.{field}"
    assert 0 <= spec.min_zoom <= spec.max_zoom <= 22
    assert set(spec.edit_roles) <= set(ALL_ROLES)
    assert spec.is_public == bool(spec.public_fields)
    field = spec.model._meta.get_field("geom")
    assert field.srid == 4326 and field.spatial_index


def test_public_layers_are_exactly_the_tour_layers_and_the_reference_layers():
    from layers.domain.pages import HOME, TOUR

    public = {s.slug for s in registry.LAYERS if s.is_public and not s.reference}
    assert public == {"viewpoints", "pocket-parks", "service-points"}
    assert {layer.slug for layer in TOUR.layers} == public
    assert {layer.slug for layer in HOME.layers} == public
    # The reference layers are public too: every map draws them as its basemap.
    reference = {s.slug for s in registry.LAYERS if s.reference}
    assert reference == {"streets", "water", "landmarks"}
    assert all(registry.get(slug).is_public for slug in reference)


@pytest.mark.django_db
def test_layers_command_prints_each_layer_with_its_count():
    out = StringIO()
    call_command("layers", stdout=out)
    lines = out.getvalue().splitlines()
    for spec in registry.LAYERS:
        line = next(line for line in lines if line.startswith(spec.slug + " "))
        assert f" {spec.model.objects.count()} " in line
        assert spec.geometry_type in line


@pytest.mark.django_db
def test_roles_exist_with_permissions_from_edit_roles():
    for role in ALL_ROLES:
        group = Group.objects.get(name=role)
        codenames = set(group.permissions.values_list("codename", flat=True))
        for spec in registry.LAYERS:
            model_name = spec.model._meta.model_name
            assert f"view_{model_name}" in codenames
            assert (f"change_{model_name}" in codenames) == (role in spec.edit_roles)


def test_every_vocabulary_has_labels_colours_and_valid_transitions():
    """Each term has its own colour: a #rrggbb that is not Term's default grey (which every term
    without a colour gets, so "starts with #" proved nothing), and no two terms of a vocabulary
    share one (a legend could not tell them apart)."""
    default = status.Term("x", "x", "x").color
    for vocabulary in status.ALL_VOCABULARIES:
        colours = [term.color for term in vocabulary.terms]
        for term in vocabulary.terms:
            assert term.zh and term.en
            assert re.fullmatch(r"#[0-9a-f]{6}", term.color), (vocabulary.name, term.value)
            assert term.color != default, f"{vocabulary.name}.{term.value} has the default grey"
        assert len(set(colours)) == len(colours), f"{vocabulary.name}: terms share a colour"
    assert status.HAZARD_STATUS.can_move("reinspection", "rectifying")
    assert not status.HAZARD_STATUS.can_move("found", "assigned")  # reported first
    assert not status.HAZARD_STATUS.can_move("closed", "rectifying")  # only to re-inspection
    assert status.HAZARD_STATUS.can_move("closed", "reinspection")  # a resident: not fixed
    with pytest.raises(ValueError):
        status.Vocabulary("x", "x", "x", (status.Term("a", "甲", "A"),), {"a": ("b",)})
