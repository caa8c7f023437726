"""Throw-away databases: a SQLite file, or a fresh PostgreSQL database on the local server."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from openruns.store import Database
from openruns.store.migrate import migrate
from tests.helpers.local_postgres import DEFAULT_DSN

# make test's wrapper (tests/helpers/local_postgres.py) points this at a throw-away server
# when nothing answers at the default.
PG_ADMIN_DSN = os.environ.get("OPENRUNS_TEST_PG_DSN", DEFAULT_DSN)


def _pg_url(name: str) -> str:
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, dropped afterwards; yields its URL."""
    name = f"openruns_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _pg_url(name)
    finally:
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "postgres":
        async with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'openruns.db'}"


@asynccontextmanager
async def migrated_database(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A throw-away store of ``backend`` ("sqlite" or "postgres"), migrated, disposed after."""
    async with database_url(backend, tmp_path) as raw_url:
        url = raw_url.replace("sqlite://", "sqlite+aiosqlite://").replace(
            "postgresql://", "postgresql+asyncpg://"
        )
        database = Database(url)
        await migrate(database)
        try:
            yield database
        finally:
            await database.dispose()
