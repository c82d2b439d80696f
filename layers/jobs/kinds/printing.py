"""The "render_map" job kind: the maps' print action and `render_map --job`
(layers/io/printing.py)."""

from __future__ import annotations

from layers.io.printing import clean_params, render
from layers.jobs import engine as jobs


@jobs.register("render_map", validate=clean_params, title=("打印地图", "Print map"))
def render_job(job, params, progress):
    out = jobs.workdir(job) / f"map.{params['format']}"
    report = render(params, out, progress)
    return report, out
