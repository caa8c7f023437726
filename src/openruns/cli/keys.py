"""API key commands."""

from __future__ import annotations

from openruns.settings import Settings
from openruns.store import Database, apikeys
from openruns.store.migrate import migrate


async def create(settings: Settings, name: str) -> str:
    database = Database.from_settings(settings)
    try:
        await migrate(database)
        async with database.session() as session:
            _, plain = await apikeys.create_key(session, name)
        return plain
    finally:
        await database.dispose()


async def list_all(settings: Settings) -> list[str]:
    database = Database.from_settings(settings)
    try:
        await migrate(database)  # a fresh data directory has no keys yet, not no table
        async with database.session() as session:
            rows = await apikeys.list_keys(session)
        return [
            f"{r.id}\t{r.name}\t{r.prefix}…\t{r.created_at:%Y-%m-%d %H:%M}\t"
            f"{'revoked ' + f'{r.revoked_at:%Y-%m-%d %H:%M}' if r.revoked_at else 'active'}"
            for r in rows
        ]
    finally:
        await database.dispose()


async def revoke(settings: Settings, key_id: str) -> None:
    database = Database.from_settings(settings)
    try:
        await migrate(database)
        async with database.session() as session:
            await apikeys.revoke_key(session, key_id)
    finally:
        await database.dispose()
