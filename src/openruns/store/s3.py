"""Stored files in an S3 or S3-compatible bucket (``OPENRUNS_S3_BUCKET``).

Objects are keyed ``<prefix><aa>/<sha256>`` like the files on disk, so the same bytes are one
object whoever stores them. A writer spools to a local temporary file while hashing (the key
is the hash), then uploads unless the object is already there. Every failure to reach the
bucket is ``Unavailable``: the API answers 503, the gateway 451 (the sender retries), and a
``file`` step's activity is retried.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from openruns.errors import NotFound, Unavailable
from openruns.settings import Settings
from openruns.store.blobs import CHUNK, BlobStore, BlobWriter

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

_MISSING = {"404", "NoSuchKey", "NotFound"}


@functools.lru_cache(maxsize=8)
def _client(
    endpoint_url: str | None,
    region: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> S3Client:
    """One client per configuration for the process (boto3 clients are thread-safe, and
    building one costs tens of milliseconds)."""
    config = Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"mode": "standard", "max_attempts": 3},
        # A custom endpoint (MinIO, R2, ...) rarely has a DNS name per bucket.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
    )
    client: S3Client = boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        config=config,
    )
    return client


def _unavailable(bucket: str, exc: Exception) -> Unavailable:
    return Unavailable(f"the file store (S3 bucket {bucket!r}) cannot be reached: {exc}")


class S3BlobStore(BlobStore):
    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3BlobStore:
        assert settings.s3_bucket
        secret = settings.s3_secret_access_key
        client = _client(
            settings.s3_endpoint_url,
            settings.s3_region,
            settings.s3_access_key_id,
            secret.get_secret_value() if secret else None,
        )
        return cls(client, settings.s3_bucket, settings.s3_prefix)

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def check(self) -> None:
        """Fail with ``Unavailable`` unless the bucket can be reached with these credentials."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(self.bucket, exc) from None

    def writer(self) -> BlobWriter:
        return BlobWriter(Path(tempfile.gettempdir()), self._publish)

    def _publish(self, temp: Path, sha256: str) -> None:
        key = self.key(sha256)
        try:
            try:
                self.client.head_object(Bucket=self.bucket, Key=key)
                return  # the same bytes are stored once
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in _MISSING:
                    raise
            self.client.upload_file(str(temp), self.bucket, key)
        except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
            raise _unavailable(self.bucket, exc) from None

    def chunks(self, sha256: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise NotFound(f"the bytes of file {sha256} are not in the bucket") from None
            raise _unavailable(self.bucket, exc) from None
        except BotoCoreError as exc:
            raise _unavailable(self.bucket, exc) from None
        return self._pieces(body)

    def _pieces(self, body: Any) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK)
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(self.bucket, exc) from None
        finally:
            body.close()
