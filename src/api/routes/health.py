"""``GET /v2/health``: OK when the API, the metadata store, Temporal and (when files are kept
in one) the S3 bucket all answer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from api.deps import DatabaseDep, SettingsDep, TemporalDep
from api.json_body import JsonRoute
from openruns.store.blobs import BlobStore

router = APIRouter(route_class=JsonRoute, tags=["health"])


@router.get("/health", responses={503: {"description": "Temporal or the store is down"}})
async def health(
    database: DatabaseDep, temporal: TemporalDep, settings: SettingsDep
) -> JSONResponse:
    """``{"status": "OK"}`` when everything answers, 503 with what is down otherwise."""
    problems = []
    try:
        await temporal.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=2)
        )
    except Exception as exc:
        problems.append(f"temporal: {exc}")
    try:
        async with asyncio.timeout(2), database.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        problems.append(f"database: {type(exc).__name__}")
    if settings.s3_bucket:
        try:
            async with asyncio.timeout(5):
                await asyncio.to_thread(BlobStore.from_settings(settings).check)
        except Exception as exc:
            problems.append(f"file store: {exc}")
    if problems:
        return JSONResponse(
            {"status": "UNAVAILABLE", "message": "; ".join(problems), "details": problems},
            status_code=503,
        )
    return JSONResponse({"status": "OK"})
