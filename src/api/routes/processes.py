"""Processes: create, list, read, save a draft, publish, delete; read their revisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.deps import SessionDep, SettingsDep, TemporalDep, require_api_key
from api.json_body import JsonRoute
from openruns.models import DraftSave, Page, Process, ProcessCreate, ProcessRevision
from openruns.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openruns.services import processes as service

router = APIRouter(
    route_class=JsonRoute, tags=["processes"], dependencies=[Depends(require_api_key)]
)


@router.post("/processes", status_code=status.HTTP_201_CREATED)
async def create_process(
    body: ProcessCreate, session: SessionDep, settings: SettingsDep
) -> Process:
    """Create a process; its definition becomes draft revision 1. It gets an email address."""
    return await service.create(session, body, email_domain=settings.email_domain)


@router.get("/processes")
async def list_processes(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[Process]:
    """Processes, newest first."""
    items, token = await service.list_page(session, limit, continuation_token)
    return Page[Process](items=items, continuation_token=token)


@router.get("/processes/{process_id}")
async def get_process(process_id: str, session: SessionDep) -> Process:
    """The process; its `definition` is the draft revision's. Every revision's definition,
    the published one's too, is at `GET /v2/processes/{process_id}/revisions/{revision}`."""
    return await service.get(session, process_id)


@router.get("/processes/{process_id}/revisions")
async def list_revisions(
    process_id: str,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[ProcessRevision]:
    """The process's revisions, newest first, marked `draft` and `published` (without their
    definitions: read one revision for that)."""
    items, token = await service.list_revisions(session, process_id, limit, continuation_token)
    return Page[ProcessRevision](items=items, continuation_token=token)


@router.get("/processes/{process_id}/revisions/{revision}")
async def get_revision(
    process_id: str,
    revision: Annotated[int, Path(ge=1, le=service.MAX_REVISION)],
    session: SessionDep,
) -> ProcessRevision:
    """One revision with its definition (revisions never change once saved)."""
    return await service.get_revision(session, process_id, revision)


@router.put("/processes/{process_id}/draft")
async def save_draft(process_id: str, body: DraftSave, session: SessionDep) -> Process:
    """Save a new immutable revision and make it the draft."""
    return await service.save_draft(session, process_id, body)


@router.post("/processes/{process_id}/publish")
async def publish(
    process_id: str, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> Process:
    """Publish the current draft revision (its schedules run it from their next fire)."""
    return await service.publish(session, process_id, temporal, settings)


@router.delete("/processes/{process_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_process(process_id: str, session: SessionDep, temporal: TemporalDep) -> Response:
    """Delete the process, its schedules and its email addresses (its runs stay in Temporal)."""
    await service.delete(session, process_id, temporal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
