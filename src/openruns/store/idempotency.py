"""Idempotency keys: the same key (per API key) always names the same run."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.errors import Conflict
from openruns.store.tables import IdempotencyKeyRow


async def claim(
    session: AsyncSession, scope: str, key: str, run_id: str, fingerprint: str
) -> tuple[str, bool]:
    """Claim ``key`` for ``run_id``; returns the run id the key names and whether it is new.

    Safe under concurrency and across API replicas: the insert is ``ON CONFLICT DO NOTHING``
    on the primary key, so exactly one request wins. A claim is never released: if starting
    the run failed (or only its answer was lost), a retry starts the very same run id, and
    Temporal's workflow-id conflict policy turns a second start into the existing run.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(IdempotencyKeyRow)
        .values(scope=scope, key=key, run_id=run_id, fingerprint=fingerprint)
        .on_conflict_do_nothing()
    )
    result = await session.execute(statement)
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return run_id, True
    row = await session.scalar(
        select(IdempotencyKeyRow).where(
            IdempotencyKeyRow.scope == scope, IdempotencyKeyRow.key == key
        )
    )
    assert row is not None
    if row.fingerprint != fingerprint:
        raise Conflict(
            "this Idempotency-Key was already used for a different request",
            [{"path": "Idempotency-Key", "message": f"already names run {row.run_id}"}],
        )
    return row.run_id, False
