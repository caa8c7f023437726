"""The Alembic migrations build exactly the schema the ORM tables declare (columns, types,
nullability, indexes), on SQLite and on PostgreSQL: a table or index added to one and not
the other fails here rather than at a user's first upgrade."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from openruns.store import Database
from openruns.store.tables import Base


async def test_migrations_build_what_the_tables_declare(database: Database) -> None:
    def differences(connection: Connection) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
