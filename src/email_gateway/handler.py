"""The aiosmtpd handler: RCPT rejects early, DATA parses, stores attachments, starts the runs.

Deduplication: the run id is ``stable_id("run", process_id, key)`` where ``key`` is the
Message-ID, or ``sha256:<hash of the raw message>`` for a message without one. Temporal's
workflow-id policies make a second start of that id a no-op, so a redelivery, or the same
message reaching two gateways, starts one run.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from email_gateway import replies
from email_gateway.dkim_check import DnsFunc, aligned_signature
from email_gateway.headers import NotQuick, TooComplex
from email_gateway.message import ParsedEmail, parse_message
from openruns.errors import OpenRunsError, PayloadTooLarge
from openruns.ids import stable_id
from openruns.models import TEMPORAL_BLOB_LIMIT, EmailInfo, EmailPermission
from openruns.services.email_triggers import sender_permitted
from openruns.services.processes import CurrentRevision
from openruns.services.runs import (
    StartRequest,
    input_for,
    input_size,
    launch,
)
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from openruns.store import files as file_repo
from openruns.store.blobs import BlobStore
from openruns.store.db import read
from openruns.store.tables import EmailAddressRow, EmailTriggerRow, ProcessRow, RevisionRow
from openruns.temporal import is_unavailable

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50
INLINE_PARSE_BYTES = 64 * 1024
MAX_ATTACHMENTS = 200
# DATA starts what RCPT read if it read it less than this long ago; else it reads it again. A
# process deleted or a trigger changed within it is indistinguishable from mail that came first.
RECHECK_AFTER_SECONDS = 2.0


def _targets(envelope: Any) -> dict[str, Target]:
    """The targets RCPT accepted for this envelope, by address."""
    if not hasattr(envelope, "openruns_targets"):
        envelope.openruns_targets = {}
    targets: dict[str, Target] = envelope.openruns_targets
    return targets


@dataclass(frozen=True)
class Target:
    """A process that a recipient address starts runs of, and the revision its runs execute
    (read at RCPT: DATA, milliseconds later in the same transaction, starts that revision; a
    DATA more than ``RECHECK_AFTER_SECONDS`` later reads it again)."""

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


class GatewayHandler:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        client: Client,
        blobs: BlobStore,
        dkim_dnsfunc: DnsFunc | None = None,
    ) -> None:
        self.settings, self.database, self.client, self.blobs = settings, database, client, blobs
        self.dkim_dnsfunc = dkim_dnsfunc
        self.recheck_after = RECHECK_AFTER_SECONDS

    async def _target(
        self, session: AsyncSession, address: str, sender: str | None
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
        if not sender_permitted(found, sender, self.settings.email_member_domains):
            return replies.SENDER_NOT_PERMITTED
        if found.revision is None:  # only a Published trigger's process can lack its revision
            return replies.NOT_PUBLISHED
        return Target(
            CurrentRevision(found.process_id, found.process_name, found.revision, found.definition),
            Stage(found.stage),
            found.permission != EmailPermission.ANYONE,
            time.monotonic(),
        )

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RECIPIENTS
        try:
            async with self.database.sessions() as db:
                target = await self._target(db, address, envelope.mail_from)
        except Exception as exc:
            return self._failure(exc)
        if isinstance(target, str):
            return target
        envelope.rcpt_tos.append(address)
        # DATA starts the runs RCPT accepted: the address and its settings are checked here, once.
        _targets(envelope)[address] = target
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or b""
        if len(raw) > self.settings.email_max_bytes:
            return replies.TOO_BIG
        try:
            parsed = await _parse(raw)
        except TooComplex as exc:
            log.info("message from %r refused: %s", envelope.mail_from, exc)
            return replies.TOO_COMPLEX
        except Exception as exc:  # a bug in the parser (a RecursionError's trace is 1,000 frames)
            log.warning(
                "unparseable message from %r: %r",
                envelope.mail_from,
                exc,
                exc_info=not isinstance(exc, RecursionError),
            )
            return replies.MALFORMED
        try:
            accepted = await self._recheck(envelope.mail_from, _targets(envelope))
            if isinstance(accepted, str):
                return accepted
            return await self._deliver(envelope.mail_from, accepted, raw, parsed)
        except Exception as exc:
            return self._failure(exc)

    async def _recheck(
        self, sender: str | None, accepted: dict[str, Target]
    ) -> dict[str, Target] | str:
        """RCPT's targets, each read again if RCPT read it more than ``recheck_after`` seconds
        ago (a transaction can be held open): the reply a new RCPT would get if one is now
        refused (nothing starts, as for any refusal at DATA), else the current targets."""
        now = time.monotonic()
        stale = [a for a, t in accepted.items() if now - t.read_at > self.recheck_after]
        if not stale:
            return accepted
        current = dict(accepted)
        async with self.database.sessions() as db:
            for address in stale:
                target = await self._target(db, address, sender)
                if isinstance(target, str):
                    log.info("recipient %r refused at DATA: %s", address, target)
                    return target
                current[address] = target
        return current

    async def _deliver(
        self, sender: str | None, accepted: dict[str, Target], raw: bytes, parsed: ParsedEmail
    ) -> str:
        targets = {target.process_id: target for target in accepted.values()}
        if any(t.check_from for t in targets.values()):
            # The run records the From address as its sender: it must be the one checked.
            if len(parsed.from_addresses) > 1 or parsed.from_headers > 1:
                return replies.FROM_NOT_ALONE
            if parsed.from_addresses != [(sender or "").lower()]:
                return replies.FROM_MISMATCH
            if self.settings.email_verify_dkim and not await asyncio.to_thread(
                aligned_signature, raw, (sender or "").rsplit("@", 1)[-1], self.dkim_dnsfunc
            ):
                return replies.NO_ALIGNED_DKIM
        if len(parsed.attachments) > MAX_ATTACHMENTS:
            return replies.TOO_MANY_ATTACHMENTS
        # A redelivery comes from the same envelope sender; two senders are two messages, even
        # with identical bytes (no Message-ID) or a Message-ID one of them copied.
        message_key = parsed.message_id or f"sha256:{hashlib.sha256(raw).hexdigest()}"
        key = f"{(sender or '').lower()}\x1f{message_key}"
        attachments = await self._store_attachments(parsed, key)
        requests = {
            target.process_id: self._request(target, parsed, sender, key, attachments)
            for target in targets.values()
        }
        # Validate every run before starting any. No query: RCPT read each target's revision,
        # and the attachments' file ids are the rows stored just above.
        run_inputs = [input_for(targets[pid].current, req) for pid, req in requests.items()]
        if len(run_inputs) > 1:  # one start refused for its size would leave the others run
            for run_input in run_inputs:
                if await input_size(self.client, run_input) > TEMPORAL_BLOB_LIMIT:
                    return replies.TOO_BIG_TO_RUN
        run_ids = [request.run_id or "" for request in requests.values()]
        for run_id, run_input in zip(run_ids, run_inputs, strict=True):
            await launch(self.client, self.settings, run_id, run_input)
        log.info("message %s from %r started %s", key, sender, run_ids)
        runs = " ".join(run_ids)
        return replies.ACCEPTED.format(runs=runs if len(runs) < 400 else f"{len(run_ids)} runs")

    async def _store_attachments(self, parsed: ParsedEmail, key: str) -> list[dict[str, Any]]:
        """Store every attachment (bytes, then metadata) before any run starts."""
        stored: list[dict[str, Any]] = []
        if not parsed.attachments:
            return stored
        async with self.database.sessions() as db:
            for index, attachment in enumerate(parsed.attachments):
                sha256, size = await asyncio.to_thread(self.blobs.put, attachment.data)
                row = await file_repo.add_file(
                    db,
                    sha256=sha256,
                    size=size,
                    filename=attachment.filename,
                    content_type=attachment.content_type,
                    file_id=stable_id("file", key, str(index), sha256),
                )
                stored.append(
                    {
                        "file_id": row.id,
                        "filename": row.filename,
                        "content_type": row.content_type,
                        "size": row.size,
                    }
                )
            await db.commit()
        return stored

    def _request(
        self,
        target: Target,
        parsed: ParsedEmail,
        sender: str | None,
        key: str,
        attachments: list[dict[str, Any]],
    ) -> StartRequest:
        email: dict[str, Any] = {
            "subject": parsed.subject,
            "sender": parsed.sender or sender or None,
            "to": parsed.to,
            "cc": parsed.cc,
            "date": parsed.date,
            "message_id": parsed.message_id,
            "text": parsed.text,
            "html": parsed.html,
            "attachments": attachments,
        }
        if parsed.truncated:
            email["truncated"] = True
        return StartRequest(
            process_id=target.process_id,
            stage=target.stage,
            trigger=Trigger.EMAIL,
            inputs={"email": email},
            name=parsed.subject[:200] or None,
            file_ids=[a["file_id"] for a in attachments],
            email=EmailInfo(
                sender=email["sender"], subject=parsed.subject, message_id=parsed.message_id
            ),
            run_id=stable_id("run", target.process_id, key),
        )

    @staticmethod
    def _failure(exc: Exception) -> str:
        """The reply for an error: 451 when it may pass, 5xx when it never will."""
        if isinstance(exc, PayloadTooLarge):  # Temporal refused the run's input for its size
            return replies.TOO_BIG_TO_RUN
        if isinstance(exc, OpenRunsError):
            if exc.status_code == 503:
                log.warning("cannot start runs now (%s): answering 451", exc.message)
                return replies.UNAVAILABLE
            detail = "; ".join(f"{d.get('path')}: {d.get('message')}" for d in exc.details[:3])
            reason = f"{exc.message} ({detail})" if detail else exc.message
            return replies.CANNOT_START.format(reason=replies.one_line(reason))
        if isinstance(exc, RPCError) and exc.status == RPCStatusCode.INVALID_ARGUMENT:
            log.warning("Temporal refused the start: %s", exc)
            return replies.CANNOT_START.format(reason=replies.one_line(str(exc)))
        if is_unavailable(exc) or isinstance(
            exc, OperationalError | InterfaceError | PoolTimeout | OSError
        ):
            log.warning("cannot start runs now (%s): answering 451", exc)
        else:  # a bug: keep the message in the sender's queue and say so in the log
            log.exception("unexpected error handling a message", exc_info=exc)
        return replies.UNAVAILABLE


async def _parse(raw: bytes) -> ParsedEmail:
    """Parse on the event loop while that is cheap: ordinary mail without attachments parses
    in about a millisecond, and a thread hop (and the GIL hand-over) costs more than it saves.
    Larger mail, or mail whose headers or parts would take longer, parses in a thread."""
    if len(raw) <= INLINE_PARSE_BYTES:
        try:
            return parse_message(raw, quick=True)
        except NotQuick:
            pass
    return await asyncio.to_thread(parse_message, raw)
