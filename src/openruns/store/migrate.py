"""Alembic migrations, run programmatically (``openruns setup`` and component start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from openruns.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key ("openruns" in ASCII): one migrator at a time per database.
MIGRATION_LOCK = 0x6F70656E72756E73


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def migrate(database: Database) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already).

    Replicas that start together on a fresh PostgreSQL database take turns: the first
    migrates while the others wait on an advisory lock, then find the schema current
    (without it, all but one crash on "duplicate key" creating the same tables).
    """
    async with database.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
            )
        await connection.run_sync(_upgrade)
