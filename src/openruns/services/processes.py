"""Process use cases: create, edit, publish and read processes and their revisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from openruns.definition import Definition, parse_definition
from openruns.errors import Conflict, InvalidInput, NotFound, error_detail
from openruns.models import DraftSave, Process, ProcessCreate, ProcessRevision
from openruns.pagination import decode_keyset, decode_token, encode_keyset, encode_token
from openruns.services.calls import check_calls
from openruns.settings import Settings
from openruns.states import Stage
from openruns.store import email as email_repo
from openruns.store import processes as repo
from openruns.store.db import read
from openruns.store.tables import ProcessRow, RevisionRow


def to_model(process: ProcessRow, draft: RevisionRow, email_address: str | None = None) -> Process:
    return Process(
        id=process.id,
        name=process.name,
        description=process.description,
        stage=Stage.PUBLISHED if process.published_revision else Stage.DRAFT,
        draft_revision=process.draft_revision,
        published_revision=process.published_revision,
        email_address=email_address,
        definition=draft.definition,
        created_at=process.created_at,
        updated_at=process.updated_at,
    )


@lru_cache(maxsize=1024)
def _cached_definition(process_id: str, revision: int, raw: str) -> Definition:
    return Definition.model_validate_json(raw)


def load_definition(revision: RevisionRow | CurrentRevision) -> Definition:
    """The model of a stored (already validated, immutable) revision; cached per revision."""
    raw = orjson.dumps(revision.definition).decode()
    return _cached_definition(revision.process_id, revision.revision, raw)


async def _email_address(session: AsyncSession, process_id: str) -> str | None:
    return (await email_repo.active_addresses(session, [process_id])).get(process_id)


async def create(session: AsyncSession, body: ProcessCreate, *, email_domain: str) -> Process:
    """A new process with its draft revision 1 and its email address on ``email_domain``."""
    parsed = parse_definition(body.definition)
    await check_calls(session, None, parsed)
    definition = parsed.dump()
    process, revision = await repo.create_process(session, body.name, body.description, definition)
    _, address = await email_repo.create_trigger(session, process.id, process.name, email_domain)
    await session.commit()
    return to_model(process, revision, address.address)


async def get(session: AsyncSession, process_id: str) -> Process:
    process = await repo.get_process(session, process_id)
    draft = await repo.get_revision(session, process_id, process.draft_revision)
    return to_model(process, draft, await _email_address(session, process_id))


async def list_page(
    session: AsyncSession, limit: int, token: str | None
) -> tuple[list[Process], str | None]:
    after = decode_keyset(token) if token else None
    rows = await repo.list_processes(session, limit + 1, after)
    page = rows[:limit]
    addresses = await email_repo.active_addresses(session, [p.id for p in page])
    items = [
        to_model(p, await repo.get_revision(session, p.id, p.draft_revision), addresses.get(p.id))
        for p in page
    ]
    next_token = None
    if len(rows) > limit:
        last = page[-1]
        next_token = encode_keyset(last.created_at, last.id)
    return items, next_token


def _revision(
    process: ProcessRow,
    number: int,
    created_at: datetime,
    definition: dict[str, Any] | None = None,
) -> ProcessRevision:
    return ProcessRevision(
        process_id=process.id,
        revision=number,
        draft=number == process.draft_revision,
        published=number == process.published_revision,
        definition=definition,
        created_at=created_at,
    )


async def get_revision(session: AsyncSession, process_id: str, revision: int) -> ProcessRevision:
    """One revision with its definition; 404 for a process or revision that does not exist."""
    process = await repo.get_process(session, process_id)
    row = await repo.get_revision(session, process_id, revision)
    return _revision(process, row.revision, row.created_at, row.definition)


# Revision numbers are a 32-bit integer column (PostgreSQL's ``integer``).
MAX_REVISION = 2**31 - 1


def _decode_revision_token(token: str) -> int:
    after = decode_token(token).get("rev")
    # a token of another list, or tampered with
    if not isinstance(after, int) or isinstance(after, bool) or not 1 <= after <= MAX_REVISION:
        raise InvalidInput(
            "invalid continuation_token",
            [error_detail(("continuation_token",), "not a token of this list")],
        )
    return after


async def list_revisions(
    session: AsyncSession, process_id: str, limit: int, token: str | None
) -> tuple[list[ProcessRevision], str | None]:
    """The process's revisions, newest (highest number) first, without their definitions."""
    process = await repo.get_process(session, process_id)
    query = (
        select(RevisionRow.revision, RevisionRow.created_at)
        .where(RevisionRow.process_id == process_id)
        .order_by(RevisionRow.revision.desc())
        .limit(limit + 1)
    )
    if token:
        query = query.where(RevisionRow.revision < _decode_revision_token(token))
    rows = (await session.execute(query)).all()
    items = [_revision(process, row.revision, row.created_at) for row in rows[:limit]]
    next_token = encode_token({"rev": items[-1].revision}) if len(rows) > limit else None
    return items, next_token


async def save_draft(session: AsyncSession, process_id: str, body: DraftSave) -> Process:
    parsed = parse_definition(body.definition)
    await check_calls(session, process_id, parsed)
    definition = parsed.dump()
    process, revision = await repo.save_draft(session, process_id, definition, body.base_revision)
    address = await _email_address(session, process_id)
    await session.commit()
    return to_model(process, revision, address)


async def publish(
    session: AsyncSession,
    process_id: str,
    client: Client | None = None,
    settings: Settings | None = None,
) -> Process:
    """Publish the draft revision; with a Temporal client, also refresh the process's schedules
    (their runs' execution timeout is fixed in the schedule, so it follows the new revision)."""
    process = await repo.publish(session, process_id)
    draft = await repo.get_revision(session, process_id, process.draft_revision)
    address = await _email_address(session, process_id)
    await session.commit()
    if client is not None and settings is not None:
        from openruns.services import schedules

        await schedules.on_publish(client, session, settings, process_id)
    return to_model(process, draft, address)


async def delete(session: AsyncSession, process_id: str, client: Client | None = None) -> None:
    """Delete the process and its email addresses; with a Temporal client, its schedules first
    (so none fires on)."""
    await repo.get_process(session, process_id)
    if client is not None:
        from openruns.services import schedules

        await session.commit()
        await schedules.on_delete(client, process_id)
    await email_repo.delete_for_process(session, process_id)
    await repo.delete_process(session, process_id)
    await session.commit()


@dataclass(frozen=True)
class CurrentRevision:
    """The process a run starts and the revision it pins (what ``load_definition`` needs)."""

    process_id: str
    process_name: str
    revision: int
    definition: dict[str, Any]


_PROCESSES, _REVISIONS = ProcessRow.__table__, RevisionRow.__table__


def _current_revision_query(number: ColumnElement[Any]) -> Select[Any]:
    return (
        select(_PROCESSES.c.id, _PROCESSES.c.name, _REVISIONS.c.revision, _REVISIONS.c.definition)
        .select_from(
            _PROCESSES.outerjoin(
                _REVISIONS,
                and_(_REVISIONS.c.process_id == _PROCESSES.c.id, _REVISIONS.c.revision == number),
            )
        )
        .where(_PROCESSES.c.id == bindparam("process_id"))
    )


# Every run start reads one of these: plain Core statements (no ORM entities to build, about
# 0.3 ms of CPU less per start than the ORM query), built once.
_CURRENT_REVISION = {
    Stage.DRAFT: _current_revision_query(_PROCESSES.c.draft_revision),
    Stage.PUBLISHED: _current_revision_query(_PROCESSES.c.published_revision),
}


async def process_and_revision(
    session: AsyncSession, process_id: str, stage: Stage
) -> CurrentRevision:
    """The process and the revision a run of ``stage`` executes now, in one query."""
    rows = await read(session, _CURRENT_REVISION[stage], {"process_id": process_id})
    row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"process {process_id!r} not found")
    if row.revision is None:
        raise _no_published(process_id)
    return CurrentRevision(row.id, row.name, row.revision, row.definition)


def _no_published(process_id: str) -> Conflict:
    return Conflict(
        f"process {process_id!r} has no published revision; publish it or run the Draft",
        [{"path": "stage", "message": "no published revision"}],
    )


async def revision_for_stage(session: AsyncSession, process_id: str, stage: Stage) -> RevisionRow:
    """The revision a run of ``stage`` executes now: the draft, or the published one."""
    process = await repo.get_process(session, process_id)
    if stage == Stage.DRAFT:
        number = process.draft_revision
    elif process.published_revision is None:
        raise _no_published(process_id)
    else:
        number = process.published_revision
    return await repo.get_revision(session, process_id, number)
