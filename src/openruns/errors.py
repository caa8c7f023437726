"""Domain errors. Each carries the HTTP status it maps to; the API maps them in one place."""

from __future__ import annotations

from typing import Any


class OpenRunsError(Exception):
    """Base of every error a user can cause or see."""

    status_code = 400

    def __init__(self, message: str, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotFound(OpenRunsError):
    status_code = 404


class Conflict(OpenRunsError):
    status_code = 409


class InvalidInput(OpenRunsError):
    """Input that does not validate; ``details`` name the offending paths."""

    status_code = 422


class Unauthorized(OpenRunsError):
    status_code = 401


class Forbidden(OpenRunsError):
    status_code = 403


class PayloadTooLarge(OpenRunsError):
    status_code = 413


class Unavailable(OpenRunsError):
    """Temporal or the metadata store cannot be reached right now; retry later."""

    status_code = 503


class WorkerFailed(OpenRunsError):
    """A worker answered, but with a failure (e.g. it could not replay a run)."""

    status_code = 502


def error_detail(path: list[str | int] | tuple[str | int, ...], message: str) -> dict[str, Any]:
    """One entry of an error's ``details``: where and what; ``("inputs", 1, "name")`` is
    ``inputs[1].name``, as every path in an error is written (``definition.steps[0].uses``)."""
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return {"path": text.removeprefix("."), "message": message}
