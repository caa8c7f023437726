"""Email trigger use cases: read and change a process's settings, rotate its address, and
decide whether a sender may start runs of it (SPEC §6)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.definition.validate import format_path
from openruns.errors import InvalidInput
from openruns.models import EmailPermission, EmailTrigger, EmailTriggerUpdate
from openruns.states import Stage
from openruns.store import email as repo
from openruns.store import processes as process_repo
from openruns.store.tables import EmailTriggerRow

# An address (local@domain) or "@domain" for every address of a domain.
_SENDER = re.compile(r"^([^@\s]+)?@[^@\s]+\.[^@\s]+$")


def to_model(trigger: EmailTriggerRow, address: str) -> EmailTrigger:
    return EmailTrigger(
        process_id=trigger.process_id,
        address=address,
        enabled=trigger.enabled,
        permission=EmailPermission(trigger.permission),
        allowed_senders=list(trigger.allowed_senders or []),
        stage=Stage(trigger.stage),
        updated_at=trigger.updated_at,
    )


async def _load(session: AsyncSession, process_id: str, domain: str) -> tuple[EmailTriggerRow, str]:
    """The trigger and its active address; created for a process that predates them."""
    process = await process_repo.get_process(session, process_id)
    trigger = await session.get(EmailTriggerRow, process_id)
    address = (await repo.active_addresses(session, [process_id])).get(process_id)
    if trigger is None or address is None:
        await repo.delete_for_process(session, process_id)
        trigger, row = await repo.create_trigger(session, process_id, process.name, domain)
        address = row.address
        await session.commit()
    return trigger, address


async def get(session: AsyncSession, process_id: str, domain: str) -> EmailTrigger:
    return to_model(*await _load(session, process_id, domain))


def normalize_senders(senders: Sequence[str]) -> list[str]:
    """Lower-cased, de-duplicated sender patterns; 422 naming ``allowed_senders[i]``."""
    errors, out = [], []
    for index, sender in enumerate(senders):
        value = sender.strip().lower()
        if not _SENDER.match(value):
            errors.append(
                {
                    "path": format_path(("allowed_senders", index)),
                    "message": "expected an address (name@example.com) or @example.com",
                }
            )
        elif value not in out:
            out.append(value)
    if errors:
        raise InvalidInput("allowed_senders is not valid", errors)
    return out


async def update(
    session: AsyncSession, process_id: str, body: EmailTriggerUpdate, domain: str
) -> EmailTrigger:
    """Change the given fields; the others keep their values."""
    trigger, address = await _load(session, process_id, domain)
    if body.allowed_senders is not None:
        trigger.allowed_senders = normalize_senders(body.allowed_senders)
    if body.enabled is not None:
        trigger.enabled = body.enabled
    if body.permission is not None:
        trigger.permission = body.permission.value
    if body.stage is not None:
        trigger.stage = body.stage.value
    await session.flush()
    model = to_model(trigger, address)
    await session.commit()
    return model


async def rotate(session: AsyncSession, process_id: str, domain: str) -> EmailTrigger:
    """Issue a new address; the old one is retired (mail to it is refused with 550)."""
    trigger, _ = await _load(session, process_id, domain)
    process = await process_repo.get_process(session, process_id, lock=True)
    address = await repo.rotate(session, process_id, process.name, domain)
    model = to_model(trigger, address.address)
    await session.commit()
    return model


def sender_permitted(
    trigger: EmailTriggerRow | Row[Any], sender: str | None, member_domains: Sequence[str]
) -> bool:
    """May ``sender`` (the envelope sender) start runs through ``trigger`` (a trigger row, or a
    row with its ``permission`` and ``allowed_senders``)?"""
    permission = EmailPermission(trigger.permission)
    if permission == EmailPermission.ANYONE:
        return True
    sender = (sender or "").strip().lower()
    if "@" not in sender:
        return False  # the null sender (bounces) is never a member or on a list
    domain = sender.rsplit("@", 1)[1]
    if permission == EmailPermission.MEMBERS:
        return domain in {d.strip().lower() for d in member_domains}
    allowed = set(trigger.allowed_senders or [])
    return sender in allowed or f"@{domain}" in allowed
