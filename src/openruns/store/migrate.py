"""Alembic migrations, run programmatically (``openruns setup`` and component start-up)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from openruns.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def migrate(database: Database) -> None:
    """Bring the schema to the newest revision (a no-op when it is there already)."""
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade)
