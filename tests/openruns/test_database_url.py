"""PostgreSQL URLs as providers hand them out: libpq's parameters (``?sslmode=require``,
``sslrootcert``, ``application_name``) reach the connection instead of failing every
component with "connect() got an unexpected keyword argument 'sslmode'"."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from openruns.settings import Settings
from openruns.store import Database
from openruns.store.migrate import migrate
from tests.helpers.databases import PG_ADMIN_DSN, postgres_database
from tests.helpers.stack import OPENRUNS

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    async with postgres_database() as url:
        yield url


async def _server_has_ssl() -> bool:
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        return bool(await admin.fetchval("SHOW ssl") == "on")
    finally:
        await admin.close()


@pytest.mark.parametrize("query", ["?sslmode=disable", "?sslmode=prefer"])
async def test_libpq_parameters_reach_the_connection(pg_url: str, query: str) -> None:
    database = Database.from_settings(
        Settings(database_url=f"{pg_url}{query}&application_name=openruns-worker")
    )
    try:
        await migrate(database)
        async with database.session() as session:
            name = await session.scalar(text("SELECT current_setting('application_name')"))
            encrypted = await session.scalar(
                text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            )
    finally:
        await database.dispose()
    assert name == "openruns-worker"
    if query == "?sslmode=disable":
        assert encrypted is False


async def test_sslmode_require_without_ssl_on_the_server_is_one_line(
    pg_url: str, tmp_path: Path
) -> None:
    if await _server_has_ssl():
        pytest.skip("the local server offers SSL: sslmode=require just works")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENRUNS_")}
    result = subprocess.run(
        [OPENRUNS, "apikey", "list"],
        env={**clean, "OPENRUNS_DATA_DIR": str(tmp_path),
             "OPENRUNS_DATABASE_URL": f"{pg_url}?sslmode=require"},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    shown = make_url(f"{pg_url}?sslmode=require").render_as_string(hide_password=True)
    assert result.stderr.startswith(f"error: the metadata store cannot be used ({shown}): ")
    assert result.stderr.endswith(" rejected SSL upgrade\n") and result.stderr.count("\n") == 1
