"""Maintenance job kinds: re-derive every geometry-derived link as a background job.

`refresh_derived` is what `manage.py refresh_derived` does, run by a worker for an editor:
every write in one transaction (a worker killed halfway leaves the links as they were), with
its progress per layer and the changes per layer and link in its report.
"""

from __future__ import annotations

from layers.domain import registry, roles
from layers.jobs import engine as jobs
from layers.query.params import ParamError
from layers.services import derived


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
