"""Web UI sessions ended by logging out.

A session cookie is signed and carries its own expiry, so deleting it in the browser does not
end a copy of it. Logging out records the session (the SHA-256 of its CSRF token, which is
random per login) until the time it would have expired; a session is live only while its API
key is not revoked and it is not recorded here, and both are read in one query.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.store.tables import ApiKeyRow, UiLogoutRow


def _hash(csrf: str) -> str:
    return hashlib.sha256(csrf.encode()).hexdigest()


async def live_session_key(session: AsyncSession, key_id: str, csrf: str) -> ApiKeyRow | None:
    """The API key of a session that neither logged out nor had its key revoked."""
    ended = exists().where(UiLogoutRow.session_hash == _hash(csrf))
    found = (await session.execute(select(ApiKeyRow, ended).where(ApiKeyRow.id == key_id))).first()
    if found is None:
        return None
    key, logged_out = found
    return None if logged_out or key.revoked_at is not None else key


async def end_session(session: AsyncSession, csrf: str, expires_at: datetime) -> None:
    """Record the session as ended (idempotent); forget sessions that have expired anyway."""
    await session.execute(delete(UiLogoutRow).where(UiLogoutRow.expires_at < datetime.now(UTC)))
    try:
        async with session.begin_nested():
            session.add(UiLogoutRow(session_hash=_hash(csrf), expires_at=expires_at))
    except IntegrityError:  # logged out twice (two tabs): it is ended already
        pass
    await session.commit()
