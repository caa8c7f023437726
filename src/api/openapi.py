"""The error responses every API operation documents, in the one shape they all have.

FastAPI documents only the success response and its own 422 schema (``{"detail": ...}``),
which is not what OpenRuns sends. Each router is included with these responses instead, so
``/openapi.json`` tells clients (and schemathesis) the truth about 400/401/404/409/413/422/503;
``document_errors`` adds 415 and 502 to the operations that can answer them.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from api.deps import get_temporal


class ErrorBody(BaseModel):
    """Every error: a message for people, details naming the offending fields."""

    message: str
    details: list[Any] = Field(default_factory=list)


def error_response_doc(description: str) -> dict[str, Any]:
    """An error response's OpenAPI entry: the error body and what it means."""
    return {"model": ErrorBody, "description": description}


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: error_response_doc("The body is not JSON"),
    401: error_response_doc("No API key, or not a valid one"),
    404: error_response_doc("The resource does not exist"),
    409: error_response_doc("The request conflicts with the resource's state"),
    413: error_response_doc("The request body is larger than OPENRUNS_MAX_REQUEST_BYTES"),
    422: error_response_doc("The request is not valid; `details` name the offending paths"),
    503: error_response_doc(
        "Temporal or the metadata store is unavailable; retry after Retry-After"
    ),
}
NOT_JSON = error_response_doc("The body was not sent as JSON (content-type: application/json)")
TEMPORAL_REFUSED = error_response_doc("Temporal refused the request; `message` gives its reason")


def _calls(dependant: Dependant, dependency: object) -> bool:
    return any(sub.call is dependency or _calls(sub, dependency) for sub in dependant.dependencies)


def document_errors(router: APIRouter) -> None:
    """Document the statuses only some of ``router``'s operations answer, on those: 415 where
    the body is JSON (``api.json_body``), 502 where the operation calls Temporal."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            continue
        body = route.body_field
        if body is not None and not isinstance(body.field_info, params.Form):
            route.responses.setdefault(415, NOT_JSON)
        if _calls(route.dependant, get_temporal):
            route.responses.setdefault(502, TEMPORAL_REFUSED)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the API serves at ``path`` (Starlette's 405 names only the first route's).

    The most specific paths win: ``/v2/runs/actions`` is that path, not a run called
    "actions" (``/v2/runs/{run_id}``).
    """
    routes: list[tuple[re.Pattern[str], int, list[str]]] | None = getattr(app.state, "allow", None)
    if routes is None:
        routes = [
            (
                re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"),
                template.count("{"),
                sorted(method.upper() for method in operations),
            )
            for template, operations in app.openapi()["paths"].items()
        ]
        app.state.allow = routes
    matching = [(params, methods) for pattern, params, methods in routes if pattern.match(path)]
    fewest = min((params for params, _ in matching), default=0)
    return sorted({m for params, methods in matching if params == fewest for m in methods})
