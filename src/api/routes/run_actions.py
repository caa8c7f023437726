"""Bulk actions on selected runs: ``POST /v2/runs/actions``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from api.deps import ApiKeyDep, DatabaseDep, SettingsDep, TemporalDep
from api.json_body import JsonRoute
from openruns.run_actions import RunActionsRequest, RunActionsResponse
from openruns.services import run_actions as service

router = APIRouter(route_class=JsonRoute, tags=["runs"])


@router.post("/runs/actions")
async def run_actions(
    body: RunActionsRequest,
    temporal: TemporalDep,
    database: DatabaseDep,
    settings: SettingsDep,
    api_key: ApiKeyDep,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> RunActionsResponse:
    """Re-run, archive, unarchive, add as test case, or cancel up to 500 runs.

    Each run gets its own result (``ok``, ``error``, ``run``, ``test_case``); an unknown id or
    a run in the wrong state is that run's error and never fails the others. Archive,
    unarchive and add_test_case are idempotent; with an ``Idempotency-Key`` a repeated re-run
    answers with the runs the first call started."""
    results = await service.perform(
        temporal, database, settings, body, api_key, idempotency_key=idempotency_key
    )
    return RunActionsResponse(results=results)
