"""Step types: what ``uses`` accepts, with the JSON schema of each step's ``with``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import require_api_key
from api.json_body import JsonRoute
from openruns.models import Page, StepTypeInfo
from openruns.pagination import DEFAULT_LIMIT, MAX_LIMIT
from openruns.services import step_types as service

router = APIRouter(
    route_class=JsonRoute, tags=["step-types"], dependencies=[Depends(require_api_key)]
)


@router.get("/step-types")
async def list_step_types(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    continuation_token: str | None = None,
) -> Page[StepTypeInfo]:
    """Every built-in and plugin step type, by name, with its argument schema."""
    return service.list_page(limit, continuation_token)
