"""API keys: random secrets of which only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.errors import Conflict, NotFound
from openruns.ids import new_id
from openruns.store.tables import ApiKeyRow, utcnow

KEY_PREFIX = "ork_"


class RevokedKey(Conflict):
    """A key given to ``create_key`` was revoked: it cannot be made to work again."""

    def __init__(self, row: ApiKeyRow) -> None:
        super().__init__(f"API key {row.id} ({row.prefix}…) was revoked; choose another key")
        self.key_id = row.id


def hash_key(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is as strong as a slow one here.
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    session: AsyncSession, name: str, key: str | None = None
) -> tuple[ApiKeyRow, str]:
    """Create a key (random unless ``key`` is given); returns the row and the plain key. A
    given key that exists is returned as it is, unless it was revoked (RevokedKey)."""
    plain = key or KEY_PREFIX + secrets.token_urlsafe(32)
    digest = hash_key(plain)
    existing = await session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
    if existing is not None:
        if existing.revoked_at is not None:
            raise RevokedKey(existing)
        return existing, plain
    row = ApiKeyRow(id=new_id("key"), name=name, prefix=plain[:8], key_hash=digest)
    try:
        async with session.begin_nested():  # replicas may create the same configured key at once
            session.add(row)
    except IntegrityError:
        row = (
            await session.execute(select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
        ).scalar_one()
    return row, plain


async def verify_key(session: AsyncSession, key: str) -> ApiKeyRow | None:
    """The active key row matching ``key``, or None."""
    digest = hash_key(key)
    row = await session.scalar(
        select(ApiKeyRow).where(ApiKeyRow.key_hash == digest, ApiKeyRow.revoked_at.is_(None))
    )
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKeyRow:
    row = await session.get(ApiKeyRow, key_id)
    if row is None:
        raise NotFound(f"API key {key_id!r} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


async def list_keys(session: AsyncSession) -> list[ApiKeyRow]:
    return list((await session.execute(select(ApiKeyRow).order_by(ApiKeyRow.created_at))).scalars())
