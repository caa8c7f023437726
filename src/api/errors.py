"""Every error becomes ``{"message": ..., "details": [...]}`` with its status, in one place."""

from __future__ import annotations

import logging
from collections.abc import Sequence
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
    response = error_response(exc.status_code, exc.message, exc.details)
    if exc.status_code == 503:
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
    return response


# What a field that takes one of several shapes expects, said for people: pydantic reports
# one error per shape it tried, each named by its type (``inputs.dict[str,any]``).
_EXPECTED = {
    "inputs": 'expected an object or a list of {"name", "value"}',
    "definition": "expected an object, or YAML or JSON text",
}
_TYPE_NAMES = {
    "dict": "an object",
    "list": "a list",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "none": "null",
}


def _body_path(loc: tuple[Any, ...], body: Any, missing: bool) -> tuple[list[str | int], list[str]]:
    """The fields of ``body`` that ``loc`` names, and the union members pydantic tried on the
    way (the parts that name no field of the body)."""
    path: list[str | int] = []
    members: list[str] = []
    value = body
    for index, part in enumerate(loc):
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            path.append(part)
            value = value[part]
        elif isinstance(value, list) and type(part) is int and 0 <= part < len(value):
            path.append(part)
            value = value[part]
        elif missing and index == len(loc) - 1:  # the field that is not there
            path.append(part)
        else:  # one of a union's members, tried on the same value
            members.append(str(part))
    return path, members


def _expected(path: list[str | int], members: list[str]) -> str:
    field = next((part for part in reversed(path) if isinstance(part, str)), "")
    if field in _EXPECTED:
        return _EXPECTED[field]
    names = [_TYPE_NAMES.get(member.split("[")[0].lower(), member) for member in members]
    return "expected " + " or ".join(dict.fromkeys(names))


def validation_details(errors: Sequence[Any], body: Any) -> list[dict[str, str]]:
    """pydantic's errors as ``{"path", "message"}`` naming only the request's own fields, in
    the style of every other error (``inputs``, ``inputs[1].name``, ``file_ids[0]``;
    ``query.limit`` for a query parameter); a value that is none of the shapes a field takes
    is one error saying what the field expects."""
    details: list[dict[str, str]] = []
    unions: dict[str, tuple[list[str | int], list[str], dict[str, str]]] = {}
    for err in errors:
        loc = tuple(err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if not loc or loc[0] != "body":
            path = format_path(loc)
            if loc and loc[0] == "query" and isinstance(err.get("input"), str):
                message += f" (got {err['input']!r})"  # which of a repeated parameter's values
        else:
            parts, members = _body_path(loc[1:], body, err["type"] == "missing")
            path = format_path(parts) or "body"
            if members and loc[1:] == (*parts, *members):  # the value fits no member
                if path not in unions:
                    unions[path] = (parts, [], {"path": path, "message": ""})
                    details.append(unions[path][2])
                unions[path][1].extend(members)
                continue
            if not parts and err["type"] in ("model_type", "model_attributes_type", "dict_type"):
                message = "expected a JSON object"
            elif not parts and err["type"] == "missing":
                message = "a JSON body is required"
        detail = {"path": path, "message": message}
        if detail not in details:
            details.append(detail)
    for parts, members, union_detail in unions.values():
        union_detail["message"] = _expected(parts, members)
    return details


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors(), exc.body)
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
