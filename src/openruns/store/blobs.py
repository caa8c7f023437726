"""Content-addressed file bytes: under ``<data_dir>/files/<aa>/<sha256>``, or in an S3 bucket
(``OPENRUNS_S3_BUCKET``, ``openruns.store.s3``) under ``<prefix><aa>/<sha256>``.

Blocking I/O: async callers run these methods in a thread (``asyncio.to_thread``). Bytes are
spooled to a temporary file while they are hashed, then published under their SHA-256: renamed
into place on disk (fsynced first), uploaded to the bucket. A reader never sees half a file,
and the same bytes are stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from openruns.settings import Settings

CHUNK = 1024 * 1024


class BlobWriter:
    """Streams bytes into a temporary file in ``spool``, hashing them; ``commit`` hands the
    file and its SHA-256 to ``publish``, which stores it (or finds those bytes stored)."""

    def __init__(self, spool: Path, publish: Callable[[Path, str], None]) -> None:
        self._publish = publish
        spool.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=spool, prefix=".upload-")
        self._file = os.fdopen(fd, "wb")
        self._temp = Path(name)
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> str:
        """Make the bytes durable under their SHA-256 and return it."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        sha256 = self._hash.hexdigest()
        try:
            self._publish(self._temp, sha256)
        finally:
            self._temp.unlink(missing_ok=True)  # published by renaming, or copied elsewhere
        return sha256

    def abort(self) -> None:
        self._file.close()
        self._temp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


class BlobStore(ABC):
    """The bytes of stored files, addressed by their SHA-256 (``LocalBlobStore`` or
    ``S3BlobStore``, as the settings say)."""

    @staticmethod
    def from_settings(settings: Settings) -> BlobStore:
        if settings.s3_bucket:
            from openruns.store.s3 import S3BlobStore  # boto3 is imported only when used

            return S3BlobStore.from_settings(settings)
        return LocalBlobStore(settings.data_dir.resolve() / "files")

    @abstractmethod
    def check(self) -> None:
        """Fail with ``Unavailable`` unless the store can be reached."""

    @abstractmethod
    def writer(self) -> BlobWriter: ...

    def put(self, data: bytes | Iterable[bytes]) -> tuple[str, int]:
        """Store ``data`` (bytes or chunks); returns ``(sha256, size)``."""
        writer = self.writer()
        try:
            for chunk in [data] if isinstance(data, bytes) else data:
                writer.write(chunk)
            return writer.commit(), writer.size
        except BaseException:
            writer.abort()
            raise

    def read(self, sha256: str) -> bytes:
        return b"".join(self.chunks(sha256))

    @abstractmethod
    def chunks(self, sha256: str) -> Iterator[bytes]:
        """The bytes in pieces of up to ``CHUNK``. The call opens them (a missing or
        unreachable file fails here, before the first piece); each ``next`` may block."""

    def local_path(self, sha256: str) -> Path | None:
        """Where the bytes are on this machine's disk, if they are (a download sends them
        from there)."""
        return None


class LocalBlobStore(BlobStore):
    """Files under a directory shared by every replica (``<data_dir>/files``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def check(self) -> None:
        pass  # a directory: what could fail shows at the first write, as an OSError

    def writer(self) -> BlobWriter:
        return BlobWriter(self.root, self._publish)

    def _publish(self, temp: Path, sha256: str) -> None:
        target = blob_path(self.root, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():  # the same bytes are stored once
            os.replace(temp, target)
            _fsync_dir(target.parent)

    def local_path(self, sha256: str) -> Path:
        return blob_path(self.root, sha256)

    def read(self, sha256: str) -> bytes:
        return self.local_path(sha256).read_bytes()

    def chunks(self, sha256: str) -> Iterator[bytes]:
        return _pieces(self.local_path(sha256).open("rb"))


def _pieces(file: BinaryIO) -> Iterator[bytes]:
    with file:
        while chunk := file.read(CHUNK):
            yield chunk
