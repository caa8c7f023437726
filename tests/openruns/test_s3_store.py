"""Stored files in an S3-compatible bucket (``S3BlobStore``) against a real S3 HTTP server:
content addressing, one object per content, streaming reads, and clear failures."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest

from openruns.errors import NotFound, Unavailable
from openruns.settings import Settings
from openruns.store.blobs import CHUNK, BlobStore
from openruns.store.s3 import S3BlobStore
from tests.helpers.s3 import new_bucket, object_keys, unreachable_endpoint, with_bucket


def _store(endpoint: str, bucket: str, tmp_path: Path) -> BlobStore:
    return BlobStore.from_settings(with_bucket(Settings(data_dir=tmp_path), endpoint, bucket))


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The directory S3 writers spool to (the temporary directory), this test's own: the
    shared /tmp has other people's files in it."""
    directory = tmp_path / "spool"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


def _spooled(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.iterdir())


def test_bytes_are_stored_once_under_their_hash(
    s3_endpoint: str, tmp_path: Path, spool: Path
) -> None:
    bucket = new_bucket(s3_endpoint)
    store = _store(s3_endpoint, bucket, tmp_path)
    assert isinstance(store, S3BlobStore) and store.local_path("ab" * 32) is None
    store.check()
    data = bytes(range(256)) * (CHUNK * 5 // 2 // 256)  # 2.5 pieces
    sha256, size = store.put(data)
    assert sha256 == hashlib.sha256(data).hexdigest() and size == len(data)
    assert object_keys(s3_endpoint, bucket) == [f"openruns/files/{sha256[:2]}/{sha256}"]

    again, _ = store.put([data[:1000], data[1000:]])  # the same bytes, in other pieces
    assert again == sha256 and len(object_keys(s3_endpoint, bucket)) == 1
    assert store.read(sha256) == data
    pieces = list(store.chunks(sha256))
    assert len(pieces) == 3 and all(len(p) <= CHUNK for p in pieces)
    assert b"".join(pieces) == data
    assert not list((tmp_path / "files").glob("**/*"))  # nothing on local disk
    assert _spooled(spool) == []  # both spooled copies are gone, the new and the known bytes


def test_an_object_that_is_not_there_is_not_found(s3_endpoint: str, tmp_path: Path) -> None:
    store = _store(s3_endpoint, new_bucket(s3_endpoint), tmp_path)
    with pytest.raises(NotFound, match="not in the bucket"):
        store.chunks("00" * 32)


def test_a_bucket_that_does_not_exist_is_unavailable(s3_endpoint: str, tmp_path: Path) -> None:
    store = _store(s3_endpoint, "openruns-no-such-bucket", tmp_path)
    with pytest.raises(Unavailable, match="openruns-no-such-bucket"):
        store.check()
    with pytest.raises(Unavailable):
        store.put(b"lost?")


def test_an_unreachable_endpoint_is_unavailable_and_leaves_nothing(
    tmp_path: Path, spool: Path
) -> None:
    endpoint = unreachable_endpoint()
    store = _store(endpoint, "openruns-files", tmp_path)
    with pytest.raises(Unavailable, match="cannot be reached"):
        store.put(b"x" * 1000)
    assert _spooled(spool) == []  # the spooled copy is gone
    with pytest.raises(Unavailable):
        store.chunks("00" * 32)
