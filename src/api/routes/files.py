"""Files: upload (multipart), metadata, download."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import ApiKeyDep, SessionDep, SettingsDep
from api.json_body import JsonRoute
from openruns.errors import InvalidInput, PayloadTooLarge
from openruns.models import StoredFile
from openruns.services import files as service
from openruns.settings import Settings
from openruns.store.blobs import BlobStore

router = APIRouter(route_class=JsonRoute, tags=["files"])

MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file itself
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "additionalProperties": False,
                }
            }
        },
    }
}


@router.post("/files", status_code=status.HTTP_201_CREATED, openapi_extra=UPLOAD_BODY)
async def upload_file(
    request: Request, session: SessionDep, settings: SettingsDep, _: ApiKeyDep
) -> StoredFile:
    """Store the multipart field ``file``; identical bytes are stored once on disk."""
    # The body is parsed here, after authentication, and refused early when it says it is
    # too large; chunked uploads are cut off while streaming into the store.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_file_bytes + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(
            f"the file is larger than the limit of {settings.max_file_bytes} bytes "
            "(OPENRUNS_MAX_FILE_BYTES)",
            [{"path": "file", "message": f"larger than {settings.max_file_bytes} bytes"}],
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except (AssertionError, ValueError) as exc:  # not multipart, or a broken body
        raise InvalidInput(
            "expected a multipart/form-data body with a file field 'file'",
            [{"path": "file", "message": str(exc) or "not a multipart body"}],
        ) from None
    try:
        upload = form.get("file")
        problems = [] if isinstance(upload, UploadFile) else [("file", "field required (a file)")]
        # Other fields are refused, as unknown fields of JSON bodies are, not ignored.
        problems += [(name, "unexpected field") for name in sorted(set(form)) if name != "file"]
        if problems or not isinstance(upload, UploadFile):
            raise InvalidInput(
                "expected a multipart/form-data body with one field: the file, named 'file'",
                [{"path": path, "message": message} for path, message in problems],
            )
        return await service.upload_with_settings(
            session, settings, upload.read, upload.filename, upload.content_type
        )
    finally:
        await form.close()


@router.get("/files/{file_id}")
async def get_file(file_id: str, session: SessionDep, _: ApiKeyDep) -> StoredFile:
    """A file's metadata: name, content type, size, SHA-256."""
    return await service.get(session, file_id)


@router.get("/files/{file_id}/content", response_class=FileResponse)
async def download_file(
    file_id: str, session: SessionDep, settings: SettingsDep, _: ApiKeyDep
) -> Response:
    """The file's bytes, with its content type and name."""
    return await file_download(session, settings, file_id)


async def file_download(session: AsyncSession, settings: Settings, file_id: str) -> Response:
    """A stored file as an attachment download (the API's and the web UI's): sent from disk,
    or streamed from the bucket (opened first, so a missing object is a 404, not a cut-off
    response)."""
    stored = await service.get(session, file_id)
    blobs = BlobStore.from_settings(settings)
    path = blobs.local_path(stored.sha256)
    if path is not None:
        return FileResponse(
            path,
            media_type=stored.content_type,
            filename=stored.filename,
            content_disposition_type="attachment",
            headers=UNTRUSTED_CONTENT,
        )
    pieces = await asyncio.to_thread(blobs.chunks, stored.sha256)
    return StreamingResponse(
        iterate_in_threadpool(pieces),
        media_type=stored.content_type,
        headers={
            "content-disposition": _attachment(stored.filename),
            "content-length": str(stored.size),
            **UNTRUSTED_CONTENT,
        },
    )


# Whoever uploads or mails a file chooses its bytes and content type (text/html, image/svg+xml),
# and it is served from the web UI's own origin: besides the attachment disposition, a browser
# must neither sniff it into something else nor run anything in it if it is ever rendered.
UNTRUSTED_CONTENT = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; sandbox",
}


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for ``filename``, as Starlette's ``FileResponse`` writes it."""
    quoted = quote(filename)
    if quoted != filename:
        return f"attachment; filename*=utf-8''{quoted}"
    return f'attachment; filename="{filename}"'
