"""A process's email trigger: address, enabled, permission, allowed senders, stage; rotate."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.deps import SessionDep, SettingsDep, require_api_key
from api.json_body import JsonRoute
from openruns.models import EmailTrigger, EmailTriggerUpdate
from openruns.services import email_triggers as service

router = APIRouter(
    route_class=JsonRoute, tags=["email trigger"], dependencies=[Depends(require_api_key)]
)


@router.get("/processes/{process_id}/email-trigger")
async def get_email_trigger(
    process_id: str, session: SessionDep, settings: SettingsDep
) -> EmailTrigger:
    """The process's address and who may start runs of it by email."""
    return await service.get(session, process_id, settings.email_domain)


@router.put("/processes/{process_id}/email-trigger")
async def update_email_trigger(
    process_id: str, body: EmailTriggerUpdate, session: SessionDep, settings: SettingsDep
) -> EmailTrigger:
    """Change `enabled`, `permission`, `allowed_senders` or `stage` (others are kept)."""
    return await service.update(session, process_id, body, settings.email_domain)


@router.post("/processes/{process_id}/email-trigger/rotate")
async def rotate_email_address(
    process_id: str, session: SessionDep, settings: SettingsDep
) -> EmailTrigger:
    """Issue a new address; the old one is retired and mail to it is refused (550)."""
    return await service.rotate(session, process_id, settings.email_domain)
