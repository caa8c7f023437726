"""Email trigger rows: per-process settings and addresses (one active, the rest retired)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.ids import random_token
from openruns.store.tables import EmailAddressRow, EmailTriggerRow, utcnow

SLUG_LENGTH = 30


def slugify(name: str) -> str:
    """``"Invoice Intake (EU)"`` → ``invoice-intake-eu``: ASCII, lower case, dashes."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_LENGTH].rstrip("-") or "process"


def new_address(process_name: str, domain: str) -> str:
    """``<slug>-<token>@<domain>`` with an 80-bit random token."""
    return f"{slugify(process_name)}-{random_token(80)}@{domain.lower()}"


async def create_trigger(
    session: AsyncSession, process_id: str, process_name: str, domain: str
) -> tuple[EmailTriggerRow, EmailAddressRow]:
    """Default settings (enabled, anyone, Published) and a fresh address for a new process."""
    trigger = EmailTriggerRow(
        process_id=process_id,
        enabled=True,
        permission="anyone",
        allowed_senders=[],
        stage="Published",
    )
    address = EmailAddressRow(address=new_address(process_name, domain), process_id=process_id)
    session.add_all([trigger, address])
    await session.flush()
    return trigger, address


async def active_addresses(session: AsyncSession, process_ids: Sequence[str]) -> dict[str, str]:
    """``{process_id: address}`` of the active addresses of ``process_ids``."""
    if not process_ids:
        return {}
    query = select(EmailAddressRow.process_id, EmailAddressRow.address).where(
        EmailAddressRow.process_id.in_(set(process_ids)), EmailAddressRow.retired_at.is_(None)
    )
    return {row.process_id: row.address for row in (await session.execute(query)).all()}


async def find_address(session: AsyncSession, address: str) -> EmailAddressRow | None:
    return await session.get(EmailAddressRow, address.lower())


async def rotate(
    session: AsyncSession, process_id: str, process_name: str, domain: str
) -> EmailAddressRow:
    """Retire the active address and issue a new one."""
    now = utcnow()
    query = select(EmailAddressRow).where(
        EmailAddressRow.process_id == process_id, EmailAddressRow.retired_at.is_(None)
    )
    for row in (await session.execute(query.with_for_update())).scalars():
        row.retired_at = now
    address = EmailAddressRow(address=new_address(process_name, domain), process_id=process_id)
    session.add(address)
    await session.flush()
    return address


async def delete_for_process(session: AsyncSession, process_id: str) -> None:
    """Remove every address and the settings: mail to them is refused from now on."""
    await session.execute(delete(EmailAddressRow).where(EmailAddressRow.process_id == process_id))
    await session.execute(delete(EmailTriggerRow).where(EmailTriggerRow.process_id == process_id))
