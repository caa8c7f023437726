"""Metadata rows of stored files."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from openruns.errors import NotFound
from openruns.ids import new_id
from openruns.store.tables import FileRow


async def add_file(
    session: AsyncSession,
    *,
    sha256: str,
    size: int,
    filename: str,
    content_type: str,
    file_id: str | None = None,
) -> FileRow:
    """A new file row; with a deterministic ``file_id`` an existing row is reused."""
    if file_id is not None:
        existing = await session.get(FileRow, file_id)
        if existing is not None:
            return existing
    row = FileRow(
        id=file_id or new_id("file"),
        sha256=sha256,
        size=size,
        filename=filename[:255],
        content_type=content_type[:255],
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another gateway stored the same attachment just now
        if file_id is None:
            raise
        return await get_file(session, file_id)
    return row


async def get_file(session: AsyncSession, file_id: str) -> FileRow:
    row = await session.get(FileRow, file_id)
    if row is None:
        raise NotFound(f"file {file_id!r} not found")
    return row


async def existing_ids(session: AsyncSession, file_ids: Sequence[str]) -> set[str]:
    if not file_ids:
        return set()
    query = select(FileRow.id).where(FileRow.id.in_(set(file_ids)))
    return set((await session.execute(query)).scalars())
