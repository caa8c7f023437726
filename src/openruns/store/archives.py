"""Archive flags of runs, and the reads run lists use to leave archived runs out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, bindparam, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.store.db import read
from openruns.store.tables import RunArchiveRow, utcnow

TEST_TRIGGER = "test"
_Query = TypeVar("_Query", bound=Select)


@dataclass
class ArchiveTarget:
    """What Temporal says about a run when it is (un)archived."""

    run_id: str
    process_id: str | None
    stage: str | None
    trigger: str | None
    state: str | None  # final state, None while it runs
    closed_at: datetime | None


@dataclass
class Scope:
    """The list filters the store can evaluate. A superset of matches is always safe: excluding
    an id that the Temporal query would not return anyway changes nothing."""

    process_id: str | None = None
    stages: tuple[str, ...] = ()  # any of these (none: any stage)
    triggers: tuple[str, ...] = ()  # none: every trigger except test (as the default list)
    states: tuple[str, ...] = ()  # final states; rows of closed runs only


def _scoped(query: _Query, scope: Scope) -> _Query:
    query = query.where(RunArchiveRow.archived.is_(True))
    if scope.process_id:
        query = query.where(RunArchiveRow.process_id == scope.process_id)
    if scope.stages:
        query = query.where(RunArchiveRow.stage.in_(scope.stages))
    if scope.triggers:
        query = query.where(RunArchiveRow.trigger.in_(scope.triggers))
    else:
        query = query.where(
            or_(RunArchiveRow.trigger.is_(None), RunArchiveRow.trigger != TEST_TRIGGER)
        )
    if scope.states:
        query = query.where(RunArchiveRow.state.in_(scope.states))
    return query


async def rows_for(session: AsyncSession, run_ids: Iterable[str]) -> dict[str, RunArchiveRow]:
    """The rows of these runs (archived or once archived)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    rows = await session.scalars(select(RunArchiveRow).where(RunArchiveRow.run_id.in_(ids)))
    return {row.run_id: row for row in rows}


_FLAGS = select(
    RunArchiveRow.run_id, RunArchiveRow.archived, RunArchiveRow.archived_at, RunArchiveRow.closed_at
)
# Built once with an expanding parameter: a statement built per call with the ids in it is
# a new cache key and a new compilation for every page.
_ARCHIVED_AMONG = _FLAGS.where(
    RunArchiveRow.run_id.in_(bindparam("ids", expanding=True)), RunArchiveRow.archived.is_(True)
)


async def archived_among(session: AsyncSession, run_ids: Iterable[str]) -> dict[str, Row[Any]]:
    """The archived runs among ``run_ids``: their ``run_id``, ``archived``, ``archived_at``
    and ``closed_at`` (a read, so on SQLite it skips the async driver: see ``db.read``)."""
    ids = list(dict.fromkeys(run_ids))
    if not ids:
        return {}
    return {row.run_id: row for row in await read(session, _ARCHIVED_AMONG, {"ids": ids})}


async def set_archived(
    session: AsyncSession,
    targets: Sequence[ArchiveTarget],
    archived: bool,
    who: tuple[str, str] | None = None,
) -> list[RunArchiveRow]:
    """Set the flag (idempotent: archiving an archived run keeps its ``archived_at``).

    Every change bumps ``version``. Rows are created with ``ON CONFLICT DO NOTHING`` and then
    locked, so concurrent requests for the same runs serialise instead of failing.
    """
    if not targets:
        return []
    if archived:
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(RunArchiveRow)
            .values(
                [
                    {"run_id": t.run_id, "archived": False, "version": 0, "updated_at": utcnow()}
                    for t in targets
                ]
            )
            .on_conflict_do_nothing()
        )
    ids = [t.run_id for t in targets]
    rows = {
        row.run_id: row
        for row in await session.scalars(
            select(RunArchiveRow).where(RunArchiveRow.run_id.in_(ids)).with_for_update()
        )
    }
    now = utcnow()
    for target in targets:
        row = rows.get(target.run_id)
        if row is None:
            continue  # unarchiving a run that was never archived: nothing to do
        row.process_id = row.process_id or target.process_id
        row.stage, row.trigger = row.stage or target.stage, row.trigger or target.trigger
        if target.closed_at is not None:
            row.state, row.closed_at = target.state, target.closed_at
        if row.archived != archived:
            row.archived, row.version = archived, row.version + 1
            row.archived_at = now if archived else None
            row.archived_by, row.archived_by_name = who if archived and who else (None, None)
    await session.flush()
    return [rows[i] for i in ids if i in rows]


async def closed_window(
    session: AsyncSession, scope: Scope, before: datetime | None, limit: int
) -> list[tuple[str, datetime]]:
    """Archived closed runs that closed before ``before``, newest first: ``(run_id, closed_at)``."""
    query = _scoped(select(RunArchiveRow.run_id, RunArchiveRow.closed_at), scope).where(
        RunArchiveRow.closed_at.is_not(None)
    )
    if before is not None:
        query = query.where(RunArchiveRow.closed_at < before)
    query = query.order_by(RunArchiveRow.closed_at.desc(), RunArchiveRow.run_id).limit(limit)
    return [(run_id, closed_at) for run_id, closed_at in await session.execute(query) if closed_at]


async def closed_at_exactly(session: AsyncSession, scope: Scope, at: datetime) -> list[str]:
    query = _scoped(select(RunArchiveRow.run_id), scope).where(RunArchiveRow.closed_at == at)
    return list(await session.scalars(query))


async def any_archived(session: AsyncSession, scope: Scope) -> bool:
    return bool(await read(session, _scoped(select(RunArchiveRow.run_id), scope).limit(1)))


async def record_closed(session: AsyncSession, closes: dict[str, tuple[str, datetime]]) -> None:
    """Store the final state and close time of runs that were archived while running."""
    for row in (await rows_for(session, closes)).values():
        row.state, row.closed_at = closes[row.run_id]
    await session.flush()


async def archived_page(
    session: AsyncSession,
    scope: Scope,
    after: tuple[datetime, str] | None,
    limit: int,
    *,
    closed: bool,
) -> list[RunArchiveRow]:
    """A page of archived runs. Closed ones newest close first (``after``: the last
    (closed_at, run_id)); the others most recently archived first (the last (archived_at,
    run_id))."""
    query = _scoped(select(RunArchiveRow), scope)
    key = RunArchiveRow.closed_at if closed else RunArchiveRow.archived_at
    query = query.where(
        RunArchiveRow.closed_at.is_not(None) if closed else RunArchiveRow.closed_at.is_(None)
    )
    if after is not None:
        query = query.where(tuple_(key, RunArchiveRow.run_id) < tuple_(*after))
    query = query.order_by(key.desc(), RunArchiveRow.run_id.desc())
    return list(await session.scalars(query.limit(limit)))
