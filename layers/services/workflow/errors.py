"""What the lifecycle answers when a step cannot be taken (mapped to HTTP by the channels)."""

from __future__ import annotations


class WorkflowError(Exception):
    http_status = 400


class IllegalTransition(WorkflowError):
    """The action does not start from the hazard's status (409, naming what is allowed)."""

    http_status = 409

    def __init__(self, action: str, current: str, allowed: list[str]):
        self.action, self.current, self.allowed = action, current, allowed
        names = ", ".join(allowed) or "none (the hazard is finished)"
        super().__init__(
            f"'{action}' is not possible from status '{current}'; allowed from here: {names}"
        )


class NotPermitted(WorkflowError):
    http_status = 403


class InvalidInput(WorkflowError):
    """Bad or missing inputs: errors maps each field to its messages (400)."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
