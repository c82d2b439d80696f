"""Maintenance job kinds: re-derive every geometry-derived link as a background job, and
rebuild the generalized buildings of the low zooms.

`refresh_derived` is what `manage.py refresh_derived` does, run by a worker for an editor:
every write in one transaction (a worker killed halfway leaves the links as they were), with
its progress per layer and the changes per layer and link in its report.
"""

from __future__ import annotations

from layers.domain import registry, roles
from layers.domain.models import Job
from layers.jobs import engine as jobs
from layers.query.params import ParamError
from layers.services import derived, generalize


def _editors_only(params: dict, user) -> dict:
    if not roles.can_run_maintenance(user):
        raise ParamError("kind", "only editors may re-derive the links")
    if params:
        raise ParamError("params", f"takes no parameters, got {sorted(params)}")
    return {}


@jobs.register("refresh_derived", validate=_editors_only, title=("重新推导关联", "Re-derive links"))
def refresh_derived_job(job, params, progress):
    def step(done, total, name):
        spec = registry.for_model(derived.layer_model(name))
        progress(done=done, total=total, message=spec.slug, force=True)

    report = derived.refresh_all(on_step=step)
    names = derived.dependents()
    progress(done=len(names), total=len(names), force=True)
    out = {}
    for name in names:
        spec = registry.for_model(derived.layer_model(name))
        out[spec.slug] = {
            "checked": report.checked[name],
            "changed": report.changed(name),
            "by_link": report.by_column(name),
        }
    return out, None


GENERALIZE = "generalize_buildings"


def _editors_may_rebuild(params: dict, user) -> dict:
    if not roles.can_run_maintenance(user):
        raise ParamError("kind", "only editors may rebuild the generalized buildings")
    if params:
        raise ParamError("params", f"takes no parameters, got {sorted(params)}")
    return {}


@jobs.register(
    GENERALIZE,
    validate=_editors_may_rebuild,
    title=("重建低缩放级别建筑", "Rebuild the low-zoom buildings"),
)
def generalize_buildings_job(job, params, progress):
    """The generalized buildings of z12-z15 (layers/services/generalize.py), rebuilt."""
    progress(done=0, total=1, message="buildings", force=True)
    report = generalize.refresh()
    progress(done=1, total=1, written=sum(report.blocks.values()), force=True)
    return {
        "source_generation": report.source_generation,
        "buildings": report.buildings,
        "blocks": {f"z{level}": n for level, n in sorted(report.blocks.items())},
    }, None


def generalize_when_stale() -> Job | None:
    """What the queued rebuild runs (layers/jobs/tasks.py): a job of the service's own, shown
    to editors like any other, unless the blocks are already built from the buildings as they
    are (an earlier rebuild caught the later edits too)."""
    if generalize.is_current():
        return None
    job = Job.objects.create(kind=GENERALIZE, params={}, user=None)
    jobs.execute(job.pk)
    job.refresh_from_db()
    return job
