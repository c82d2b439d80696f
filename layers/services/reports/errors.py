"""What the reports service refuses, each with the HTTP status a channel answers."""

from __future__ import annotations


class ReportError(Exception):
    http_status = 400


class Invalid(ReportError):
    """Bad or missing input: `errors` maps each field to its messages (400)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


class NotFound(ReportError):
    """No report with this code or id (404); the same answer whether it never existed."""

    http_status = 404


class Forbidden(ReportError):
    """The caller's role or reach does not allow it (403)."""

    http_status = 403


class NotNow(ReportError):
    """Not possible in the report's present state, e.g. already decided, or the feedback
    window closed (409)."""

    http_status = 409
