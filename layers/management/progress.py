"""A progress bar on the terminal for commands that wait for a job (`--wait`)."""

from __future__ import annotations

import sys

from layers.jobs import engine as jobs
from layers.domain.models import Job

BAR_WIDTH = 30


def line(job: Job) -> str:
    """One status line: [#####-----]  40%  3/5  rows 120 read 118 written 2 refused  step."""
    percent = job.percent
    filled = 0 if percent is None else round(BAR_WIDTH * percent / 100)
    bar = "#" * filled + "-" * (BAR_WIDTH - filled)
    parts = [f"[{bar}]", f"{percent:3d}%" if percent is not None else " ...", job.status]
    if job.total:
        parts.append(f"{job.done}/{job.total}")
    if job.rows_read or job.rows_written or job.rows_refused:
        parts.append(
            f"rows {job.rows_read} read {job.rows_written} written {job.rows_refused} refused"
        )
    if job.message:
        parts.append(job.message)
    return "  ".join(parts)


def wait_with_bar(job: Job, stream, *, poll: float = 0.5) -> Job:
    """Wait for the job; on a TTY redraw one bar line, elsewhere print each change once."""
    tty = getattr(stream, "isatty", lambda: False)() or (
        getattr(stream, "_out", None) is sys.stdout and sys.stdout.isatty()
    )
    last = [""]

    def show(current: Job):
        text = line(current)
        if text == last[0]:
            return
        last[0] = text
        if tty:
            stream.write("\r" + text.ljust(100), ending="")
            stream.flush()
        else:
            stream.write(text)

    job = jobs.wait(job, poll=poll, on_update=show)
    if tty:
        stream.write("")
    return job
