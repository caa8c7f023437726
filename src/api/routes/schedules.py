"""Schedules: recurring runs of a published process, each one Temporal Schedule (SPEC §7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import SessionDep, SettingsDep, TemporalDep, require_api_key
from api.json_body import JsonRoute
from openruns.models import Page
from openruns.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openruns.schedules.models import Schedule, ScheduleCreate, SchedulePatch, ScheduleTrigger
from openruns.services import schedules as service

router = APIRouter(
    route_class=JsonRoute, tags=["schedules"], dependencies=[Depends(require_api_key)]
)


@router.post("/processes/{process_id}/schedules", status_code=status.HTTP_201_CREATED)
async def create_schedule(
    process_id: str,
    body: ScheduleCreate,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Schedule:
    """Schedule runs of the process's Published revision: `cron` or `interval_seconds`."""
    return await service.create(temporal, session, settings, process_id, body)


@router.get("/processes/{process_id}/schedules")
async def list_schedules(
    process_id: str,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[Schedule]:
    """The process's schedules, read from Temporal."""
    return await service.list_page(
        temporal, session, settings, process_id, limit, continuation_token
    )


@router.get("/schedules/{schedule_id}")
async def get_schedule(schedule_id: str, temporal: TemporalDep, settings: SettingsDep) -> Schedule:
    """One schedule with `next_run_times` and `recent_runs`."""
    return await service.get(temporal, settings, schedule_id)


@router.patch("/schedules/{schedule_id}")
async def update_schedule(
    schedule_id: str,
    body: SchedulePatch,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Schedule:
    """Pause (`paused: true`), resume (`paused: false`) or edit; only given fields change."""
    return await service.update(temporal, session, settings, schedule_id, body)


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_schedule(schedule_id: str, temporal: TemporalDep) -> Response:
    """Delete the schedule (the runs it started stay in Temporal)."""
    await service.delete(temporal, schedule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/schedules/{schedule_id}/trigger", status_code=status.HTTP_202_ACCEPTED)
async def trigger_schedule(
    schedule_id: str,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: ScheduleTrigger | None = None,
) -> Schedule:
    """Fire now, even while paused (the overlap policy still applies unless overridden)."""
    return await service.trigger(temporal, settings, schedule_id, body or ScheduleTrigger())
