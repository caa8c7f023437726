"""Annotated dependencies: settings, database session, Temporal client, the caller's API key."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from openruns.errors import InvalidInput, Unauthorized, error_detail
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.apikeys import hash_key, verify_key
from openruns.store.tables import ApiKeyRow


# Dependencies are ``async def`` even where they only read app.state: FastAPI runs a plain
# ``def`` dependency in a worker thread, a thread hop per request for a dict lookup.
async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


async def get_session(
    database: Annotated[Database, Depends(get_database)],
) -> AsyncIterator[AsyncSession]:
    async with database.sessions() as session:
        yield session


async def single_query_values(request: Request) -> None:
    """A parameter given twice is ambiguous (which one counts?) and refused instead of
    silently using the last, unless the endpoint takes a list for it (``state`` of
    ``GET /v2/runs``); even then a value given twice is refused (a mistake, or a query built
    wrongly)."""
    seen: dict[str, set[str]] = {}
    for key, value in request.query_params.multi_items():
        values = seen.setdefault(key, set())
        if values and key not in _list_params(request.scope.get("route")):
            raise InvalidInput(
                f"query parameter {key!r} is given more than once",
                [error_detail((key,), "given more than once")],
            )
        if value in values:
            raise InvalidInput(
                f"query parameter {key!r} gives {value!r} more than once",
                [error_detail((key,), "given more than once")],
            )
        values.add(value)


def _list_params(route: Any) -> set[str]:
    """The query parameters ``route`` takes as a list (looked up only for a repeated one)."""
    dependant = getattr(route, "dependant", None)
    fields = dependant.query_params if dependant else []
    return {field.alias for field in fields if _is_list(field.field_info.annotation)}


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_list(member) for member in get_args(annotation))
    return get_origin(annotation) in (list, tuple, set, frozenset)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]

_api_key_header = APIKeyHeader(name="x-api-key", auto_error=False, description="An API key.")
_bearer = HTTPBearer(auto_error=False, description="An API key as a bearer token.")


class VerifiedKeys:
    """Keys this replica verified recently (by hash), so a burst of requests costs one lookup.

    Only positive answers are kept, for ``OPENRUNS_API_KEY_CACHE_SECONDS``: a revoked key stops
    working on every replica within that time; an unknown key is looked up every time.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, ApiKeyRow]] = {}

    def get(self, key: str) -> ApiKeyRow | None:
        entry = self._entries.get(hash_key(key))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, row: ApiKeyRow) -> None:
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[hash_key(key)] = (time.monotonic() + self.ttl, row)


async def require_api_key(
    request: Request,
    database: DatabaseDep,
    api_key: Annotated[str | None, Security(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
) -> ApiKeyRow:
    """The caller's API key, from ``x-api-key`` or ``Authorization: Bearer``; 401 otherwise."""
    key = api_key or (bearer.credentials if bearer else None)
    if not key:
        raise Unauthorized("an API key is required: send x-api-key or Authorization: Bearer")
    verified: VerifiedKeys = request.app.state.verified_keys
    row = verified.get(key)
    if row is None:
        async with database.sessions() as session:
            row = await verify_key(session, key)
        if row is None:
            raise Unauthorized("the API key is not valid")
        verified.put(key, row)
    return row


ApiKeyDep = Annotated[ApiKeyRow, Depends(require_api_key)]
