"""An S3-compatible server on localhost for the bucket tests: moto's standalone server, the S3
REST API over real HTTP (boto3 signs, sends and parses as it would against AWS or MinIO)."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import boto3
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from openruns.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"


@contextmanager
def s3_server() -> Iterator[str]:
    """A server on a free port; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def unreachable_endpoint() -> str:
    """An endpoint URL on a local port nothing listens on (a bucket out of reach)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def s3_client(endpoint: str) -> S3Client:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def new_bucket(endpoint: str) -> str:
    name = f"openruns-{uuid.uuid4().hex[:12]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


def with_bucket(settings: Settings, endpoint: str, bucket: str) -> Settings:
    """``settings`` storing files in ``bucket`` at ``endpoint``."""
    return settings.model_copy(
        update={
            "s3_bucket": bucket,
            "s3_endpoint_url": endpoint,
            "s3_region": REGION,
            "s3_access_key_id": "test",
            "s3_secret_access_key": SecretStr("test"),
        }
    )


def object_keys(endpoint: str, bucket: str) -> list[str]:
    listed = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", []))
