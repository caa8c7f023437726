"""The aiosmtpd handler: RCPT rejects early, DATA parses, stores attachments, starts the runs.

Deduplication: the run id is ``stable_id("run", process_id, key)`` where ``key`` is the
Message-ID, or ``sha256:<hash of the raw message>`` for a message without one. Temporal's
workflow-id policies make a second start of that id a no-op, so a redelivery, or the same
message reaching two gateways, starts one run.

Which process an address starts is looked up in ``targets``; a message's attachments and the
requests of the runs it starts are built in ``run_requests``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from email_gateway import replies
from email_gateway.dkim_check import DnsFunc, aligned_signature
from email_gateway.headers import NotQuick, TooComplex
from email_gateway.message import ParsedEmail, parse_message
from email_gateway.run_requests import start_request, store_attachments
from email_gateway.targets import Target, envelope_targets, find_target
from openruns.errors import OpenRunsError, PayloadTooLarge
from openruns.models import TEMPORAL_BLOB_LIMIT
from openruns.services.run_start import input_for, input_size, launch
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.blobs import BlobStore
from openruns.temporal import is_unavailable

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50
INLINE_PARSE_BYTES = 64 * 1024
MAX_ATTACHMENTS = 200
# DATA starts what RCPT read if it read it less than this long ago; else it reads it again. A
# process deleted or a trigger changed within it is indistinguishable from mail that came first.
RECHECK_AFTER_SECONDS = 2.0


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

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return replies.TOO_MANY_RECIPIENTS
        try:
            async with self.database.sessions() as db:
                target = await find_target(
                    db, address, envelope.mail_from, self.settings.email_member_domains
                )
        except Exception as exc:
            return self._failure(exc)
        if isinstance(target, str):
            return target
        envelope.rcpt_tos.append(address)
        # DATA starts the runs RCPT accepted: the address and its settings are checked here, once.
        envelope_targets(envelope)[address] = target
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
            accepted = await self._recheck(envelope.mail_from, envelope_targets(envelope))
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
                target = await find_target(db, address, sender, self.settings.email_member_domains)
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
        attachments = await store_attachments(self.database, self.blobs, parsed, key)
        requests = {
            target.process_id: start_request(target, parsed, sender, key, attachments)
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
