"""The ``file`` step: read a stored file and parse it.

``format: auto`` picks by content type, then extension: ``text/csv`` / ``.csv`` → a list of
row objects keyed by the header row; ``application/json`` / ``*+json`` / ``.json`` → the JSON
value; anything else → the text (UTF-8, a BOM is dropped). Files above ``MAX_READ_BYTES`` are
refused: a step's output travels in the run's Temporal history.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from openruns.definition.io_steps import FileArgs
from openruns.errors import NotFound
from openruns.models import StepActivityInput
from openruns.store import Database
from openruns.store import files as repo
from openruns.store.blobs import BlobStore

MAX_READ_BYTES = 1024 * 1024
MAX_OUTPUT_BYTES = 1536 * 1024


def detect_format(filename: str, content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    name = filename.lower()
    if kind in ("text/csv", "application/csv") or name.endswith(".csv"):
        return "csv"
    if kind == "application/json" or kind.endswith("+json") or name.endswith(".json"):
        return "json"
    return "text"


def _text(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApplicationError(
            f"{filename} is not UTF-8 text; the file step reads CSV, JSON and text files",
            non_retryable=True,
        ) from None


def parse(data: bytes, filename: str, fmt: str) -> Any:
    """The content of a file as the ``file`` step outputs it."""
    text = _text(data, filename)
    if fmt == "json":
        try:
            return json.loads(text) if text.strip() else None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
            raise ApplicationError(
                f"{filename} is not valid JSON: {exc}", non_retryable=True
            ) from None
    if fmt == "csv":
        try:
            dialect: Any = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect, restkey="_extra")
        try:
            return [dict(row) for row in reader]
        except csv.Error as exc:
            raise ApplicationError(
                f"{filename} is not valid CSV: {exc}", non_retryable=True
            ) from None
    return text


class FileActivities:
    """Reads stored files: metadata from the store, bytes from the blob store."""

    def __init__(self, database: Database, blobs: BlobStore) -> None:
        self._database = database
        self._blobs = blobs

    @activity.defn(name="openruns.file")
    async def read_file(self, call: StepActivityInput) -> Any:
        """Parse the file (CSV → rows, JSON → value, text → string)."""
        args = FileArgs.model_validate(call.args)
        try:
            async with self._database.session() as session:
                row = await repo.get_file(session, args.file_id)
        except NotFound as exc:
            raise ApplicationError(exc.message, non_retryable=True) from None
        if row.size > MAX_READ_BYTES:
            raise ApplicationError(
                f"{row.filename} is {row.size} bytes; the file step reads files up to "
                f"{MAX_READ_BYTES} bytes",
                non_retryable=True,
            )
        fmt = (
            detect_format(row.filename, row.content_type) if args.format == "auto" else args.format
        )
        try:
            data = await asyncio.to_thread(self._blobs.read, row.sha256)
        except (NotFound, FileNotFoundError):  # the row is there, its bytes are not: for good
            raise ApplicationError(
                f"the bytes of {row.filename} ({args.file_id}) are missing from the file store",
                non_retryable=True,
            ) from None
        content = await asyncio.to_thread(parse, data, row.filename, fmt)
        if len(json.dumps(content)) > MAX_OUTPUT_BYTES:
            raise ApplicationError(
                f"the parsed content of {row.filename} is too large for a step output",
                non_retryable=True,
            )
        return content
