"""From an accepted message to the runs it starts: its attachments stored as files (before any
run starts), and the ``StartRequest`` of each process its recipients start."""

from __future__ import annotations

import asyncio
from typing import Any

from email_gateway.message import ParsedEmail
from email_gateway.targets import Target
from openruns.ids import stable_id
from openruns.models import EmailInfo
from openruns.services.run_start import StartRequest
from openruns.states import Trigger
from openruns.store import Database
from openruns.store import files as file_repo
from openruns.store.blobs import BlobStore


async def store_attachments(
    database: Database, blobs: BlobStore, parsed: ParsedEmail, key: str
) -> list[dict[str, Any]]:
    """Store every attachment (bytes, then metadata) before any run starts."""
    stored: list[dict[str, Any]] = []
    if not parsed.attachments:
        return stored
    async with database.sessions() as db:
        for index, attachment in enumerate(parsed.attachments):
            sha256, size = await asyncio.to_thread(blobs.put, attachment.data)
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


def start_request(
    target: Target,
    parsed: ParsedEmail,
    sender: str | None,
    key: str,
    attachments: list[dict[str, Any]],
) -> StartRequest:
    """The request to start ``target``'s run for the message ``key``: the email as its input,
    the stored ``attachments`` as its files, and a run id that deduplicates redeliveries."""
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
