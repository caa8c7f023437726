"""The metadata store unavailable → 503 with a clear message, and no partial writes.

SQLite: another process holds the database's write lock (``BEGIN EXCLUSIVE``). PostgreSQL:
the test's own database stops accepting connections (``ALLOW_CONNECTIONS false`` and its
sessions terminated) and comes back; and a URL whose port has nothing behind it. The machine's
PostgreSQL server itself is never stopped.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from temporalio.client import Client

from openruns.settings import Settings
from openruns.store import Database
from openruns.store.tables import IdempotencyKeyRow, ProcessRow, RevisionRow
from tests.helpers import free_port
from tests.helpers.api import create_process
from tests.helpers.apps import api_client
from tests.helpers.databases import PG_ADMIN_DSN, postgres_database

LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin
"""
SIMPLE = {"steps": [{"id": "a", "uses": "set", "with": {"x": 1}}], "outputs": {"x": "{{ 1 }}"}}


@contextmanager
def sqlite_locked(path: Path) -> Iterator[None]:
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline() == b"locked\n"
        yield
    finally:
        assert locker.stdin is not None
        locker.stdin.close()
        locker.wait(timeout=10)


async def _counts(settings: Settings) -> tuple[int, int, int]:
    database = Database.from_settings(settings)
    try:
        async with database.sessions() as session:
            return (
                await session.scalar(select(func.count()).select_from(ProcessRow)) or 0,
                await session.scalar(select(func.count()).select_from(RevisionRow)) or 0,
                await session.scalar(select(func.count()).select_from(IdempotencyKeyRow)) or 0,
            )
    finally:
        await database.dispose()


def _assert_store_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["message"].startswith("the metadata store is unavailable")
    assert response.headers["Retry-After"]


async def _writes_refused(api: httpx.AsyncClient, process_id: str) -> None:
    """Each write the API does while the store is down: 503, never a 500."""
    created = await api.post("/v2/processes", json={"name": "while-down", "definition": SIMPLE})
    _assert_store_unavailable(created)
    started = await api.post(
        "/v2/runs",
        json={"process_id": process_id, "stage": "Draft"},
        headers={"Idempotency-Key": "during-outage"},
    )
    _assert_store_unavailable(started)


async def test_sqlite_write_locked_by_another_process(
    client: Client, tmp_path: Path, worker: object, settings: Settings
) -> None:
    settings = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'lock.db'}"})
    async with api_client(settings) as api:
        process = await create_process(api, SIMPLE)
        with sqlite_locked(tmp_path / "lock.db"):
            await _writes_refused(api, process["id"])
        assert await _counts(settings) == (1, 1, 0)  # nothing half-written
        # Recovered: the same key now starts exactly one run.
        for _ in range(2):
            again = await api.post(
                "/v2/runs",
                json={"process_id": process["id"], "stage": "Draft"},
                headers={"Idempotency-Key": "during-outage"},
            )
            assert again.status_code == 201, again.text
        count = await client.count_workflows(f"ProcessId = '{process['id']}'")
        assert count.count == 1


@pytest.mark.postgres
async def test_postgres_database_stops_accepting_connections(
    client: Client, tmp_path: Path, settings: Settings
) -> None:
    async with postgres_database() as url:
        name = url.rsplit("/", 1)[1]
        settings = settings.model_copy(update={"database_url": url})
        async with api_client(settings) as api:
            process = await create_process(api, SIMPLE)
            admin = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                    name,
                )
                await _writes_refused(api, process["id"])
                listed = await api.get("/v2/processes")
                assert listed.status_code in (200, 503), listed.text  # a cached key may still read
            finally:
                await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
                await admin.close()
            assert (await api.get("/v2/processes")).json()["items"][0]["id"] == process["id"]
        assert await _counts(settings) == (1, 1, 0)


@pytest.mark.postgres
async def test_postgres_port_with_nothing_behind_it(tmp_path: Path, settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "database_url": f"postgresql://openruns:s3cret-pw@127.0.0.1:{free_port()}/x",
            "auto_setup": False,
        }
    )
    async with api_client(settings, key=f"ork_{uuid.uuid4().hex}") as api:
        response = await api.get("/v2/processes")
        _assert_store_unavailable(response)
        assert "s3cret-pw" not in response.text
        assert (await api.get("/v2/health")).status_code == 503
