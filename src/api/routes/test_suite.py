"""Test cases and test runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.deps import DatabaseDep, SettingsDep, TemporalDep, require_api_key
from api.json_body import JsonRoute
from openruns.models import Page
from openruns.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openruns.services import test_cases, test_runs
from openruns.suite import TestCase, TestRun, TestRunCreate

router = APIRouter(
    route_class=JsonRoute, tags=["test suite"], dependencies=[Depends(require_api_key)]
)


@router.get("/processes/{process_id}/test-cases")
async def list_test_cases(
    process_id: str,
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[TestCase]:
    """A process's test cases, oldest first."""
    return await test_cases.list_page(database, process_id, limit, continuation_token)


@router.get("/test-cases/{test_case_id}")
async def get_test_case(test_case_id: str, database: DatabaseDep) -> TestCase:
    return await test_cases.get(database, test_case_id)


@router.delete("/test-cases/{test_case_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_test_case(test_case_id: str, database: DatabaseDep) -> Response:
    await test_cases.delete(database, test_case_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/test-runs", status_code=status.HTTP_201_CREATED)
async def start_test_run(
    body: TestRunCreate, temporal: TemporalDep, database: DatabaseDep, settings: SettingsDep
) -> TestRun:
    """Run every test case of ``process_ids`` against their current Draft or Published
    revision (as runs with ``trigger: test``) and compare the outputs."""
    return await test_runs.start_test_run(temporal, database, settings, body)


@router.get("/test-runs/{test_run_id}")
async def get_test_run(test_run_id: str, temporal: TemporalDep, settings: SettingsDep) -> TestRun:
    """Results per test case (passed, failed with a diff, error) and totals; while the test
    run is going, the cases finished so far."""
    return await test_runs.get_test_run(temporal, settings, test_run_id)
