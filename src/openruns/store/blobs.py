"""Content-addressed file bytes under ``<data_dir>/files/<aa>/<sha256>``.

Blocking file I/O: async callers run these methods in a thread (``asyncio.to_thread``).
A blob is written to a temporary file in the same directory, fsynced and renamed into place,
so a reader never sees half a file and the same bytes are stored once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from openruns.settings import Settings


class BlobWriter:
    """Streams bytes into a temporary file, hashing them; ``commit`` moves it into place."""

    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=root, prefix=".upload-")
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
        target = blob_path(self._root, sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # the same bytes are stored once
            self._temp.unlink()
        else:
            os.replace(self._temp, target)
            _fsync_dir(target.parent)
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


class BlobStore:
    """The bytes of stored files, addressed by their SHA-256."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        return cls(settings.data_dir.resolve() / "files")

    def writer(self) -> BlobWriter:
        return BlobWriter(self.root)

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

    def path(self, sha256: str) -> Path:
        return blob_path(self.root, sha256)

    def read(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
