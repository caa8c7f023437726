"""Processes and their immutable revisions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.errors import Conflict, NotFound
from openruns.ids import new_id
from openruns.store.db import read
from openruns.store.tables import ProcessRow, RevisionRow, utcnow


async def create_process(
    session: AsyncSession, name: str, description: str | None, definition: dict[str, Any]
) -> tuple[ProcessRow, RevisionRow]:
    """A new process whose draft is revision 1."""
    process = ProcessRow(id=new_id("proc"), name=name, description=description, draft_revision=1)
    revision = RevisionRow(process_id=process.id, revision=1, definition=definition)
    session.add(process)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"a process named {name!r} already exists") from None
    session.add(revision)
    await session.flush()
    return process, revision


async def get_process(session: AsyncSession, process_id: str, *, lock: bool = False) -> ProcessRow:
    query = select(ProcessRow).where(ProcessRow.id == process_id)
    if lock:
        query = query.with_for_update()
    process = (await session.execute(query)).scalar_one_or_none()
    if process is None:
        raise NotFound(f"process {process_id!r} not found")
    return process


async def get_revision(session: AsyncSession, process_id: str, revision: int) -> RevisionRow:
    row = await session.get(RevisionRow, (process_id, revision))
    if row is None:
        raise NotFound(f"revision {revision} of process {process_id!r} not found")
    return row


async def list_processes(
    session: AsyncSession, limit: int, after: tuple[datetime, str] | None
) -> list[ProcessRow]:
    """Newest first; ``after`` is the (created_at, id) of the last process already seen."""
    query = select(ProcessRow).order_by(ProcessRow.created_at.desc(), ProcessRow.id.desc())
    if after is not None:
        query = query.where(tuple_(ProcessRow.created_at, ProcessRow.id) < tuple_(*after))
    return list((await session.execute(query.limit(limit))).scalars())


_NAMES = select(ProcessRow.id, ProcessRow.name).where(
    ProcessRow.id.in_(bindparam("ids", expanding=True))
)


async def names(session: AsyncSession, process_ids: Iterable[str]) -> dict[str, str]:
    """The names of those of ``process_ids`` that still exist, in one query."""
    ids = list(dict.fromkeys(process_ids))
    if not ids:
        return {}
    return {row.id: row.name for row in await read(session, _NAMES, {"ids": ids})}


async def save_draft(
    session: AsyncSession, process_id: str, definition: dict[str, Any], base_revision: int | None
) -> tuple[ProcessRow, RevisionRow]:
    """Store ``definition`` as a new immutable revision and make it the draft."""
    process = await get_process(session, process_id, lock=True)
    if base_revision is not None and base_revision != process.draft_revision:
        raise Conflict(
            f"the draft is at revision {process.draft_revision}, not {base_revision}: "
            "reload it and apply your change again"
        )
    latest = await session.scalar(
        select(func.max(RevisionRow.revision)).where(RevisionRow.process_id == process_id)
    )
    revision = RevisionRow(process_id=process_id, revision=(latest or 0) + 1, definition=definition)
    session.add(revision)
    process.draft_revision = revision.revision
    process.updated_at = utcnow()
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict("the draft was saved concurrently; try again") from None
    return process, revision


async def publish(session: AsyncSession, process_id: str) -> ProcessRow:
    """Mark the current draft revision as the published one."""
    process = await get_process(session, process_id, lock=True)
    process.published_revision = process.draft_revision
    process.updated_at = utcnow()
    await session.flush()
    return process


async def delete_process(session: AsyncSession, process_id: str) -> None:
    await get_process(session, process_id)
    await session.execute(delete(RevisionRow).where(RevisionRow.process_id == process_id))
    await session.execute(delete(ProcessRow).where(ProcessRow.id == process_id))
