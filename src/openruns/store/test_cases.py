"""Test cases: baselines taken from Succeeded runs, one per source run."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.errors import NotFound
from openruns.ids import new_id
from openruns.store.tables import TestCaseRow, utcnow


async def add(
    session: AsyncSession,
    *,
    process_id: str,
    source_run_id: str,
    name: str | None,
    inputs: dict[str, Any],
    file_ids: list[str],
    expected_outputs: dict[str, Any],
    compare: list[str] | None,
    created_by: str | None,
) -> TestCaseRow:
    """The test case of ``source_run_id``, created if needed (idempotent, race-free).

    Adding the same run again returns the same test case; a given ``compare`` replaces the
    stored one.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(TestCaseRow)
        .values(
            id=new_id("tc"),
            process_id=process_id,
            source_run_id=source_run_id,
            name=name,
            inputs=inputs,
            file_ids=file_ids,
            expected_outputs=expected_outputs,
            compare=compare,
            created_at=utcnow(),
            created_by=created_by,
        )
        .on_conflict_do_nothing()
    )
    row = await session.scalar(
        select(TestCaseRow).where(TestCaseRow.source_run_id == source_run_id)
    )
    assert row is not None
    if compare is not None and row.compare != compare:
        row.compare = compare
        await session.flush()
    return row


async def get(session: AsyncSession, test_case_id: str) -> TestCaseRow:
    row = await session.get(TestCaseRow, test_case_id)
    if row is None:
        raise NotFound(f"test case {test_case_id!r} not found")
    return row


async def page(
    session: AsyncSession, process_id: str, after: tuple[datetime, str] | None, limit: int
) -> list[TestCaseRow]:
    """A process's test cases, oldest first; ``after`` is the last (created_at, id) seen."""
    query = select(TestCaseRow).where(TestCaseRow.process_id == process_id)
    if after is not None:
        query = query.where(tuple_(TestCaseRow.created_at, TestCaseRow.id) > tuple_(*after))
    query = query.order_by(TestCaseRow.created_at, TestCaseRow.id).limit(limit)
    return list(await session.scalars(query))


async def counts(session: AsyncSession) -> dict[str, int]:
    """How many test cases each process that has any has."""
    query = select(TestCaseRow.process_id, func.count()).group_by(TestCaseRow.process_id)
    return {row[0]: row[1] for row in (await session.execute(query)).all()}


async def first_of_each(
    session: AsyncSession, process_ids: Sequence[str], limit: int
) -> list[TestCaseRow]:
    """The oldest ``limit`` test cases of each process, in one query."""
    rank = (
        func.row_number()
        .over(
            partition_by=TestCaseRow.process_id,
            order_by=(TestCaseRow.created_at, TestCaseRow.id),
        )
        .label("rank")
    )
    ranked = select(TestCaseRow.id, rank).where(TestCaseRow.process_id.in_(process_ids)).subquery()
    query = (
        select(TestCaseRow)
        .join(ranked, ranked.c.id == TestCaseRow.id)
        .where(ranked.c.rank <= limit)
        .order_by(TestCaseRow.created_at, TestCaseRow.id)
    )
    return list(await session.scalars(query))


async def for_processes(session: AsyncSession, process_ids: Sequence[str]) -> list[TestCaseRow]:
    query = (
        select(TestCaseRow)
        .where(TestCaseRow.process_id.in_(process_ids))
        .order_by(TestCaseRow.created_at, TestCaseRow.id)
    )
    return list(await session.scalars(query))


async def remove(session: AsyncSession, test_case_id: str) -> None:
    await get(session, test_case_id)
    await session.execute(delete(TestCaseRow).where(TestCaseRow.id == test_case_id))
