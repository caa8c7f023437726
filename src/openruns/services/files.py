"""File use cases: upload (streamed, size-limited), read, and check references from runs."""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import Awaitable, Callable, Sequence
from pathlib import PurePath

from sqlalchemy.ext.asyncio import AsyncSession

from openruns.definition.validate import format_path
from openruns.errors import InvalidInput, PayloadTooLarge
from openruns.ids import stable_id
from openruns.models import StoredFile
from openruns.settings import Settings
from openruns.store import files as repo
from openruns.store.blobs import BlobStore
from openruns.store.tables import FileRow

CHUNK = 1024 * 1024
DEFAULT_TYPE = "application/octet-stream"


def to_model(row: FileRow) -> StoredFile:
    return StoredFile(
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        created_at=row.created_at,
    )


def clean_filename(name: str | None) -> str:
    """The last path component, without control characters; ``file`` when nothing is left."""
    base = PurePath((name or "").replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "file"


def content_type_for(filename: str, declared: str | None) -> str:
    """The declared type unless it says nothing; else a guess from the extension."""
    declared = (declared or "").split(";")[0].strip().lower()
    if declared and declared != DEFAULT_TYPE:
        return declared
    return mimetypes.guess_type(filename)[0] or DEFAULT_TYPE


async def upload(
    session: AsyncSession,
    blobs: BlobStore,
    read: Callable[[int], Awaitable[bytes]],
    filename: str | None,
    content_type: str | None,
    max_bytes: int,
    id_parts: tuple[str, ...] = (),
) -> StoredFile:
    """Stream ``read`` into the blob store; over ``max_bytes`` → 413 and nothing is kept.

    ``id_parts`` (e.g. a form's idempotency key): the file's id is derived from them and the
    content, so the same upload again is the same file, not a new record."""
    writer = await asyncio.to_thread(blobs.writer)
    try:
        while chunk := await read(CHUNK):
            if writer.size + len(chunk) > max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than the limit of {max_bytes} bytes "
                    "(OPENRUNS_MAX_FILE_BYTES)",
                    [{"path": "file", "message": f"larger than {max_bytes} bytes"}],
                )
            await asyncio.to_thread(writer.write, chunk)
        sha256 = await asyncio.to_thread(writer.commit)
    except BaseException:
        await asyncio.to_thread(writer.abort)
        raise
    name = clean_filename(filename)
    row = await repo.add_file(
        session,
        sha256=sha256,
        size=writer.size,
        filename=name,
        content_type=content_type_for(name, content_type),
        file_id=stable_id("file", *id_parts, name, sha256) if id_parts else None,
    )
    await session.commit()
    return to_model(row)


async def upload_with_settings(
    session: AsyncSession,
    settings: Settings,
    read: Callable[[int], Awaitable[bytes]],
    filename: str | None,
    content_type: str | None,
    id_parts: tuple[str, ...] = (),
) -> StoredFile:
    """``upload`` into the configured blob store with the configured size limit."""
    return await upload(
        session,
        BlobStore.from_settings(settings),
        read,
        filename,
        content_type,
        settings.max_file_bytes,
        id_parts,
    )


async def get(session: AsyncSession, file_id: str) -> StoredFile:
    return to_model(await repo.get_file(session, file_id))


async def check_file_ids(
    session: AsyncSession, file_ids: Sequence[str], file_inputs: dict[str, str] | None = None
) -> None:
    """422 naming ``file_ids[i]`` (or ``inputs.<name>``, for ``file_inputs``: the values of
    inputs of type ``file``) for every id that is not a stored file; one query for both."""
    file_inputs = file_inputs or {}
    found = await repo.existing_ids(session, [*file_ids, *file_inputs.values()])
    errors = [
        {"path": format_path(("file_ids", index)), "message": f"no file with id {file_id!r}"}
        for index, file_id in enumerate(file_ids)
        if file_id not in found
    ] + [
        {"path": format_path(("inputs", name)), "message": f"no file with id {file_id!r}"}
        for name, file_id in file_inputs.items()
        if file_id not in found
    ]
    if errors:
        raise InvalidInput("unknown file ids", errors)
