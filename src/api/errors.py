"""Every error becomes ``{"message": ..., "details": [...]}`` with its status, in one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from temporalio.service import RPCError

from api.openapi import allowed_methods
from openruns.definition.validate import format_path
from openruns.errors import OpenRunsError
from openruns.temporal import is_unavailable

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "5"
# PostgreSQL SQLSTATEs that mean "cannot reach the database right now": connection exceptions,
# insufficient resources, operator intervention (shutdown), authorization, a database that
# does not exist (dropped) or does not accept connections (ALLOW_CONNECTIONS false).
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "28", "3D000", "55000")


def error_response(status: int, message: str, details: list[Any] | None = None) -> JSONResponse:
    return JSONResponse({"message": message, "details": details or []}, status_code=status)


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenRunsError)
    return error_response(exc.status_code, exc.message, exc.details)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "path": format_path([p for p in err["loc"] if p != "body"]) or "body",
            "message": err["msg"],
        }
        for err in exc.errors()
    ]
    return error_response(422, "the request is not valid", details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    response = error_response(exc.status_code, str(exc.detail))
    response.headers.update(exc.headers or {})
    if exc.status_code == 405:
        methods = allowed_methods(request.app, request.url.path)
        response.headers["Allow"] = ", ".join(methods) or response.headers.get("Allow", "")
    return response


async def _temporal(_: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        log.warning("Temporal unavailable: %s", exc)
        response = error_response(503, f"Temporal is unavailable, try again later: {exc}")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    log.exception("Temporal call failed", exc_info=exc)
    return error_response(502, f"Temporal refused the request: {exc}")


def store_unavailable(exc: BaseException) -> bool:
    """True when a database error means the store cannot be used right now (→ 503)."""
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout | OSError):
        return True
    if isinstance(exc, DBAPIError):
        state = getattr(exc.orig, "sqlstate", None)
        return exc.connection_invalidated or (
            isinstance(state, str) and state.startswith(_UNAVAILABLE_SQLSTATES)
        )
    return False


def unstorable_value(exc: BaseException) -> bool:
    """True when the database refused a value itself (SQLSTATE class 22, "data exception"):
    e.g. a NUL character, which PostgreSQL cannot store in text. asyncpg's adapter reports
    some of these as a plain DBAPIError, so the SQLSTATE decides, not the class."""
    if isinstance(exc, DataError):
        return True
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and isinstance(state, str) and state.startswith("22")


async def _database(request: Request, exc: Exception) -> JSONResponse:
    if unstorable_value(exc):
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return error_response(422, "a value in the request cannot be stored", [reason])
    if not store_unavailable(exc):
        return await _unexpected(request, exc)
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
    log.warning("metadata store unavailable: %s", reason)
    response = error_response(503, f"the metadata store is unavailable, try again later ({reason})")
    response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    if is_unavailable(exc):
        return await _temporal(_, exc)
    if isinstance(exc, OSError):
        return await _database(_, exc)
    log.exception("unexpected error", exc_info=exc)
    return error_response(500, "internal error")


def install_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OpenRunsError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RPCError, _temporal)
    for db_error in (DBAPIError, PoolTimeout):
        app.add_exception_handler(db_error, _database)
    # A lazy Temporal client that cannot connect raises RuntimeError; a refused socket, OSError.
    # They get handlers of their own: the catch-all Exception handler re-raises after answering.
    app.add_exception_handler(RuntimeError, _unexpected)
    app.add_exception_handler(OSError, _unexpected)
    app.add_exception_handler(Exception, _unexpected)
