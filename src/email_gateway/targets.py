"""Which process a recipient address starts runs of: the one query RCPT makes (and DATA again
when RCPT's read is stale), and the targets RCPT accepted, kept on the envelope for DATA."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.ext.asyncio import AsyncSession

from email_gateway import replies
from openruns.models import EmailPermission
from openruns.services.email_triggers import sender_permitted
from openruns.services.processes import CurrentRevision
from openruns.states import Stage
from openruns.store.db import read
from openruns.store.tables import EmailAddressRow, EmailTriggerRow, ProcessRow, RevisionRow


def envelope_targets(envelope: Any) -> dict[str, Target]:
    """The targets RCPT accepted for this envelope, by address."""
    if not hasattr(envelope, "openruns_targets"):
        envelope.openruns_targets = {}
    targets: dict[str, Target] = envelope.openruns_targets
    return targets


@dataclass(frozen=True)
class Target:
    """A process that a recipient address starts runs of, and the revision its runs execute
    (read at RCPT: DATA, milliseconds later in the same transaction, starts that revision; a
    DATA more than ``handler.RECHECK_AFTER_SECONDS`` later reads it again)."""

    current: CurrentRevision
    stage: Stage
    check_from: bool  # members/restricted: the From header must be the envelope sender alone
    read_at: float  # time.monotonic() of the read

    @property
    def process_id(self) -> str:
        return self.current.process_id


# The revision a trigger's runs execute: the draft, or the published one.
_STAGE_REVISION = case(
    (EmailTriggerRow.stage == Stage.DRAFT.value, ProcessRow.draft_revision),
    else_=ProcessRow.published_revision,
)


async def find_target(
    session: AsyncSession, address: str, sender: str | None, member_domains: list[str]
) -> Target | str:
    """The ``Target`` of ``address``, or the reply refusing it (one query: the address, its
    trigger, its process and the revision a run would execute)."""
    rows = await read(
        session,
        select(
            EmailTriggerRow.enabled,
            EmailTriggerRow.permission,
            EmailTriggerRow.allowed_senders,
            EmailTriggerRow.stage,
            ProcessRow.id.label("process_id"),
            ProcessRow.name.label("process_name"),
            RevisionRow.revision,
            RevisionRow.definition,
        )
        .join(EmailAddressRow, EmailAddressRow.process_id == EmailTriggerRow.process_id)
        .join(ProcessRow, ProcessRow.id == EmailTriggerRow.process_id)
        .outerjoin(
            RevisionRow,
            and_(
                RevisionRow.process_id == ProcessRow.id,
                RevisionRow.revision == _STAGE_REVISION,
            ),
        )
        .where(
            EmailAddressRow.address == address.lower(),
            EmailAddressRow.retired_at.is_(None),
        ),
    )
    found = rows[0] if rows else None
    if found is None or not found.enabled:
        return replies.UNKNOWN_RECIPIENT
    if not sender_permitted(found, sender, member_domains):
        return replies.SENDER_NOT_PERMITTED
    if found.revision is None:  # only a Published trigger's process can lack its revision
        return replies.NOT_PUBLISHED
    return Target(
        CurrentRevision(found.process_id, found.process_name, found.revision, found.definition),
        Stage(found.stage),
        found.permission != EmailPermission.ANYONE,
        time.monotonic(),
    )
