"""Process use cases: create, edit, publish and read processes and their revisions."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.definition import Definition, parse_definition
from openruns.errors import Conflict
from openruns.models import DraftSave, Process, ProcessCreate
from openruns.pagination import decode_token, encode_token
from openruns.services.calls import check_calls
from openruns.states import Stage
from openruns.store import processes as repo
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


def load_definition(revision: RevisionRow) -> Definition:
    """The model of a stored (already validated, immutable) revision; cached per revision."""
    raw = orjson.dumps(revision.definition).decode()
    return _cached_definition(revision.process_id, revision.revision, raw)


async def create(session: AsyncSession, body: ProcessCreate) -> Process:
    parsed = parse_definition(body.definition)
    await check_calls(session, None, parsed)
    definition = parsed.dump()
    process, revision = await repo.create_process(session, body.name, body.description, definition)
    await session.commit()
    return to_model(process, revision)


async def get(session: AsyncSession, process_id: str) -> Process:
    process = await repo.get_process(session, process_id)
    return to_model(process, await repo.get_revision(session, process_id, process.draft_revision))


async def list_page(
    session: AsyncSession, limit: int, token: str | None
) -> tuple[list[Process], str | None]:
    after = None
    if token:
        state = decode_token(token)
        after = (datetime.fromisoformat(state["c"]), state["i"])
    rows = await repo.list_processes(session, limit + 1, after)
    page = rows[:limit]
    items = [to_model(p, await repo.get_revision(session, p.id, p.draft_revision)) for p in page]
    next_token = None
    if len(rows) > limit:
        last = page[-1]
        next_token = encode_token({"c": last.created_at.isoformat(), "i": last.id})
    return items, next_token


async def save_draft(session: AsyncSession, process_id: str, body: DraftSave) -> Process:
    parsed = parse_definition(body.definition)
    await check_calls(session, process_id, parsed)
    definition = parsed.dump()
    process, revision = await repo.save_draft(session, process_id, definition, body.base_revision)
    await session.commit()
    return to_model(process, revision)


async def publish(session: AsyncSession, process_id: str) -> Process:
    process = await repo.publish(session, process_id)
    draft = await repo.get_revision(session, process_id, process.draft_revision)
    await session.commit()
    return to_model(process, draft)


async def delete(session: AsyncSession, process_id: str) -> None:
    await repo.delete_process(session, process_id)
    await session.commit()


async def revision_for_stage(session: AsyncSession, process_id: str, stage: Stage) -> RevisionRow:
    """The revision a run of ``stage`` executes now: the draft, or the published one."""
    process = await repo.get_process(session, process_id)
    if stage == Stage.DRAFT:
        number = process.draft_revision
    elif process.published_revision is None:
        raise Conflict(
            f"process {process_id!r} has no published revision; publish it or run the Draft",
            [{"path": "stage", "message": "no published revision"}],
        )
    else:
        number = process.published_revision
    return await repo.get_revision(session, process_id, number)
