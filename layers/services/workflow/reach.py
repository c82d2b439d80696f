"""Who may act on a hazard: the reach of a grid worker, the roles each step needs."""

from __future__ import annotations

from django.db.models import Q

from layers.domain import vocabularies as status
from layers.domain.roles import EDITOR, INSPECTOR, roles_of


def grid_cells_of(user):
    from layers.domain.models import GridCell

    cached = getattr(user, "_grid_cell_ids", None)
    if cached is None:
        cached = (
            frozenset(GridCell.objects.filter(worker=user).values_list("pk", flat=True))
            if user.is_authenticated
            else frozenset()
        )
        user._grid_cell_ids = cached
    return cached


def is_grid_worker(user) -> bool:
    return INSPECTOR in roles_of(user) and bool(grid_cells_of(user))


def reach_q(user) -> Q:
    """The hazards `user` may work on as an inspector (see the module docstring)."""
    roles = roles_of(user)
    if EDITOR in roles:
        return Q()
    if INSPECTOR in roles:
        cells = grid_cells_of(user)
        if not cells:
            return Q()
        return Q(grid_cell__in=cells) | Q(assignee=user)
    if user.is_authenticated:
        return Q(assignee=user)
    return Q(pk__in=[])


def reaches(user, hazard) -> bool:
    roles = roles_of(user)
    if EDITOR in roles:
        return True
    if hazard.assignee_id is not None and hazard.assignee_id == getattr(user, "pk", None):
        return True
    if INSPECTOR in roles:
        cells = grid_cells_of(user)
        return not cells or hazard.grid_cell_id in cells
    return False


def _leader(user, hazard) -> str | None:
    return None if EDITOR in roles_of(user) else "only a leader (editor) may do this"


def _inspector(user, hazard) -> str | None:
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR not in roles:
        return "only an inspector or a leader may do this"
    if not reaches(user, hazard):
        return "the hazard is outside your grid cells and not assigned to you"
    return None


def _assignee_or_inspector(user, hazard) -> str | None:
    if hazard.assignee_id is not None and hazard.assignee_id == user.pk:
        return None
    roles = roles_of(user)
    if INSPECTOR in roles and reaches(user, hazard):
        return None
    return "only the assignee or an inspector of this grid may do this"


def _assignee(user, hazard) -> str | None:
    """The assignee acts for the responsible unit (units have no accounts of their own)."""
    if hazard.assignee_id is not None and hazard.assignee_id == user.pk:
        return None
    return "only the assignee (for the responsible unit) may do this"


def _duplicate_marker(user, hazard) -> str | None:
    """Before dispatch an inspector of the grid marks a duplicate; after it, a leader."""
    if hazard.status in ("assigned", "rectifying", "reinspection"):
        refused = _leader(user, hazard)
        return refused and "after dispatch, marking a duplicate is a leader's decision"
    return _inspector(user, hazard)


def _reinspector(user, hazard) -> str | None:
    refused = _inspector(user, hazard)
    if refused:
        return refused
    if hazard.rectified_by_id is not None and hazard.rectified_by_id == user.pk:
        return "the re-inspection must be done by someone other than who recorded the rectification"
    return None


def may_create_at(user, hazard) -> str | None:
    """Why `user` may not report a hazard where `hazard` lies (derived grid cell), or None."""
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR not in roles:
        return "only inspectors and leaders report hazards"
    cells = grid_cells_of(user)
    if cells and hazard.grid_cell_id not in cells:
        return "the location is outside your grid cells"
    return None


def may_move_to(user, hazard) -> str | None:
    """Why `user` may not move the hazard to where it now lies (its derived grid cell), or
    None: a grid worker keeps hazards inside their own cells, as when reporting one (being
    its assignee does not widen that); leaders and inspectors without cells move anything."""
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    cells = grid_cells_of(user)
    if INSPECTOR in roles and not cells:
        return None
    if hazard.grid_cell_id is None or hazard.grid_cell_id not in cells:
        return "the new location is outside your grid cells; ask a leader to move it"
    return None


def may_edit(user, hazard) -> str | None:
    """Why `user` may not edit the hazard's plain fields (description, place, …), or None."""
    roles = roles_of(user)
    if EDITOR in roles:
        return None
    if INSPECTOR in roles and reaches(user, hazard):
        if hazard.status in status.HAZARD_CLOSED_STATUSES:
            return "a closed or rejected hazard is on the record; a leader may correct it"
        return None
    return "the hazard is outside your grid cells and not assigned to you"
