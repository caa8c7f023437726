"""The metadata store on SQLite and on the local PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from openruns.errors import Conflict, NotFound
from openruns.store import Database, apikeys, idempotency
from openruns.store import processes as repo
from openruns.store.migrate import migrate
from tests.helpers.databases import migrated_database

DEFINITION: dict[str, Any] = {"steps": [], "outputs": {}}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        await migrate(database)  # a second time: idempotent
        yield database


async def test_revisions_are_immutable_and_numbered(store: Database) -> None:
    async with store.session() as session:
        process, first = await repo.create_process(session, "p", None, DEFINITION)
    async with store.session() as session:
        await repo.save_draft(session, process.id, {"steps": [], "outputs": {"v": 2}}, None)
        updated, third = await repo.save_draft(session, process.id, {"outputs": {"v": 3}}, 2)
    assert (first.revision, third.revision, updated.draft_revision) == (1, 3, 3)
    async with store.session() as session:
        assert (await repo.get_revision(session, process.id, 1)).definition == DEFINITION
        published = await repo.publish(session, process.id)
        assert published.published_revision == 3
    with pytest.raises(Conflict):
        async with store.session() as session:
            await repo.save_draft(session, process.id, DEFINITION, base_revision=1)
    async with store.session() as session:
        await repo.delete_process(session, process.id)
    with pytest.raises(NotFound):
        async with store.session() as session:
            await repo.get_revision(session, process.id, 1)


async def test_process_names_are_unique(store: Database) -> None:
    async with store.session() as session:
        await repo.create_process(session, "same", None, DEFINITION)
    with pytest.raises(Conflict):
        async with store.session() as session:
            await repo.create_process(session, "same", None, DEFINITION)


async def test_api_keys_are_hashed_and_revocable(store: Database) -> None:
    async with store.session() as session:
        row, plain = await apikeys.create_key(session, "ci")
    assert plain.startswith("ork_") and plain not in row.key_hash
    async with store.session() as session:
        assert (await apikeys.verify_key(session, plain)) is not None
        assert (await apikeys.verify_key(session, plain + "x")) is None
        await apikeys.revoke_key(session, row.id)
    async with store.session() as session:
        assert (await apikeys.verify_key(session, plain)) is None


async def test_a_revoked_key_cannot_be_created_again(store: Database) -> None:
    async with store.session() as session:
        row, plain = await apikeys.create_key(session, "ci", "ork_configured_key_0123456789")
        assert (await apikeys.create_key(session, "ci", plain))[0].id == row.id  # idempotent
        await apikeys.revoke_key(session, row.id)
    with pytest.raises(apikeys.RevokedKey, match=f"API key {row.id} .* was revoked"):
        async with store.session() as session:
            await apikeys.create_key(session, "ci", plain)
    async with store.session() as session:
        assert (await apikeys.verify_key(session, plain)) is None


async def test_concurrent_idempotency_claims_have_one_winner(store: Database) -> None:
    async def claim(run_id: str) -> tuple[str, bool]:
        async with store.session() as session:
            return await idempotency.claim(session, "scope", "key-1", run_id, "fp")

    results = await asyncio.gather(*(claim(f"run-{i}") for i in range(8)))
    assert len({run_id for run_id, _ in results}) == 1
    assert sum(1 for _, new in results if new) == 1
    with pytest.raises(Conflict):
        async with store.session() as session:
            await idempotency.claim(session, "scope", "key-1", "run-x", "other-fingerprint")
