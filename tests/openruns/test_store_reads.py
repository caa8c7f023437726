"""``store.db.read``: SQLite reads on the event loop, with the session's way as the fallback."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from openruns.services.processes import process_and_revision
from openruns.states import Stage
from openruns.store import Database, archives
from openruns.store import processes as repo
from openruns.store.db import read
from openruns.store.tables import ProcessRow
from tests.helpers.databases import migrated_database

DEFINITION: dict[str, Any] = {"steps": [], "outputs": {}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def _queries_through_the_engine(database: Database) -> list[str]:
    """The statements the async engine runs from now on."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def test_a_read_sees_every_commit_at_once(store: Database) -> None:
    """What a run starts with: a publish takes effect on the very next read."""
    async with store.session() as session:
        process, _ = await repo.create_process(session, "p", None, DEFINITION)
        await repo.publish(session, process.id)
    async with store.sessions() as session:
        assert (await process_and_revision(session, process.id, Stage.PUBLISHED)).revision == 1
    async with store.session() as session:
        await repo.save_draft(session, process.id, {"steps": [], "outputs": {"v": 2}}, None)
        await repo.publish(session, process.id)
    async with store.sessions() as session:
        current = await process_and_revision(session, process.id, Stage.PUBLISHED)
    assert (current.revision, current.definition["outputs"]) == (2, {"v": 2})


async def test_a_session_that_has_written_reads_its_own_writes(store: Database) -> None:
    async with store.session() as session:
        process, _ = await repo.create_process(session, "uncommitted", None, DEFINITION)
        rows = await read(session, select(ProcessRow.name).where(ProcessRow.id == process.id))
        assert [row.name for row in rows] == ["uncommitted"]


async def test_sqlite_reads_skip_the_async_driver(tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path) as database:
        async with database.session() as session:
            process, _ = await repo.create_process(session, "p", None, DEFINITION)
        through_engine = _queries_through_the_engine(database)
        async with database.sessions() as session:
            current = await process_and_revision(session, process.id, Stage.DRAFT)
            # The other reads of the busiest paths: a run's archive flag, lists' archive check.
            assert await archives.archived_among(session, ["run_x"]) == {}
            assert not await archives.any_archived(session, archives.Scope())
            await session.commit()
        assert current.process_name == "p"
        assert through_engine == []
        # A session that has begun work reads through itself.
        async with database.session() as session:
            await session.get(ProcessRow, process.id)
            await process_and_revision(session, process.id, Stage.DRAFT)
        assert len(through_engine) == 2


async def test_a_locked_sqlite_file_is_read_without_blocking_the_event_loop(
    tmp_path: Path,
) -> None:
    """Another connection holding the file exclusively: the read waits on the driver's
    thread (the session's way), and the event loop goes on meanwhile."""
    async with migrated_database("sqlite", tmp_path) as database:
        async with database.session() as session:
            process, _ = await repo.create_process(session, "p", None, DEFINITION)
        await database.dispose()  # close every pooled connection: the holder must be alone
        holder = sqlite3.connect(tmp_path / "openruns.db", check_same_thread=False)
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE processes SET name = 'renamed' WHERE id = ?", (process.id,))
        through_engine = _queries_through_the_engine(database)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        async def release() -> None:
            await asyncio.sleep(0.3)
            holder.commit()
            holder.close()

        ticker, releaser = asyncio.create_task(tick()), asyncio.create_task(release())
        try:
            async with database.sessions() as session:
                current = await process_and_revision(session, process.id, Stage.DRAFT)
        finally:
            ticker.cancel()
            await releaser
        assert current.process_name == "renamed"  # read after the lock was released
        assert ticks >= 10  # the loop ran while the read waited
        assert len(through_engine) == 1  # the session's way
