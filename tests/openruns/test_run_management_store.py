"""Archive flags and test cases in the metadata store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from openruns.store import Database, archives, test_cases
from openruns.store import processes as process_repo
from openruns.suite import DiffEntry, compare_outputs
from tests.helpers.databases import migrated_database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def _target(
    run_id: str, closed_at: datetime | None, trigger: str = "api"
) -> archives.ArchiveTarget:
    state = "Succeeded" if closed_at else None
    return archives.ArchiveTarget(run_id, "proc-a", "Draft", trigger, state, closed_at)


async def test_archive_flags_are_idempotent_and_versioned(store: Database) -> None:
    targets = [_target(f"run-{i}", T0 + timedelta(seconds=i)) for i in range(5)]

    async def archive() -> None:
        async with store.session() as session:
            await archives.set_archived(session, targets, True, ("key-1", "ci"))

    await asyncio.gather(archive(), archive(), archive())  # concurrent requests serialise
    async with store.session() as session:
        rows = await archives.rows_for(session, [t.run_id for t in targets])
        assert {row.version for row in rows.values()} == {1}
        assert {row.archived_by_name for row in rows.values()} == {"ci"}
        first_at = rows["run-0"].archived_at
        await archives.set_archived(session, targets[:1], False)
        await archives.set_archived(session, targets[:1], True, ("key-2", "other"))
    async with store.session() as session:
        row = (await archives.rows_for(session, ["run-0"]))["run-0"]
        assert (row.archived, row.version, row.archived_by) == (True, 3, "key-2")
        assert row.archived_at is not None and first_at is not None and row.archived_at >= first_at
        window = await archives.closed_window(
            session, archives.Scope(), T0 + timedelta(seconds=3), 10
        )
        assert [run_id for run_id, _ in window] == ["run-2", "run-1", "run-0"]
        assert (
            await archives.closed_window(session, archives.Scope(triggers=("email",)), None, 10)
            == []
        )


async def test_closes_of_runs_archived_while_running(store: Database) -> None:
    async with store.session() as session:
        await archives.set_archived(session, [_target("run-r", None)], True)
        page = await archives.archived_page(session, archives.Scope(), None, 10, closed=False)
        assert [row.run_id for row in page] == ["run-r"]
        await archives.record_closed(session, {"run-r": ("Failed", T0)})
    async with store.session() as session:
        assert await archives.archived_page(session, archives.Scope(), None, 10, closed=False) == []
        scope = archives.Scope(states=("Failed",))
        assert await archives.closed_window(session, scope, None, 10) == [("run-r", T0)]
        assert await archives.any_archived(session, archives.Scope(process_id="proc-a"))
        assert not await archives.any_archived(session, archives.Scope(process_id="proc-b"))


async def test_test_cases_are_one_per_run(store: Database) -> None:
    async with store.session() as session:
        process, _ = await process_repo.create_process(session, "p", None, {"steps": []})
        fields: dict[str, Any] = {
            "process_id": process.id, "source_run_id": "run-1", "name": None,
            "inputs": {"n": 1}, "file_ids": [], "expected_outputs": {"d": 2}, "created_by": None,
        }  # fmt: skip
        first = await test_cases.add(session, compare=None, **fields)
        again = await test_cases.add(session, compare=["d"], **fields)
        assert again.id == first.id and again.compare == ["d"]
    async with store.session() as session:
        await process_repo.delete_process(session, process.id)
    async with store.session() as session:
        assert await test_cases.for_processes(session, [process.id]) == []


@pytest.mark.parametrize(
    ("expected", "actual", "keys", "diff"),
    [
        ({"a": 1}, {"a": 1.0}, None, []),
        ({"a": True}, {"a": 1}, None, [DiffEntry(key="a", expected=True, actual=1)]),
        ({"a": "1"}, {"a": 1}, None, [DiffEntry(key="a", expected="1", actual=1)]),
        ({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}, None, []),
        ({"a": 1}, {"a": 1, "new": 0}, None, [DiffEntry(key="new", actual=0, missing="expected")]),
        ({"a": 1}, {}, None, [DiffEntry(key="a", expected=1, missing="actual")]),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, ["a"], []),
        ({"a": 1}, None, None, [DiffEntry(key="a", expected=1, missing="actual")]),
        # a real null is not a missing key
        ({"a": None}, {}, None, [DiffEntry(key="a", expected=None, missing="actual")]),
        ({"a": None}, {"a": 0}, None, [DiffEntry(key="a", expected=None, actual=0)]),
    ],
)
def test_compare_outputs(expected: dict, actual: object, keys: list | None, diff: list) -> None:
    assert compare_outputs(expected, actual, keys) == diff
