"""Fixtures: one real Temporal dev server per session; per test its own task queue, database,
worker and API app (called over ASGI, lifespan included)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from openruns import search_attributes
from openruns.devstack import temporal_binary
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.migrate import migrate
from tests.helpers.apps import api_client
from tests.helpers.databases import database_url
from tests.helpers.http_server import LocalHttpServer
from tests.helpers.s3 import s3_server
from worker import worker_for

# OPENRUNS_TEST_DATABASE=postgres runs the whole suite on the local PostgreSQL server.
DEFAULT_BACKEND = os.environ.get("OPENRUNS_TEST_DATABASE", "sqlite")


@pytest.fixture(autouse=True)
def _logging_left_as_found() -> Iterator[None]:
    """A command run in-process (``CliRunner``) configures logging onto its own captured
    stream, closed when the command returns; take that handler away after the test, or every
    later log line in the session fails with "I/O operation on closed file"."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    # The SDK gives the dev server 5 s to answer; on two busy shared cores it once did not.
    for attempt in range(3):
        try:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=temporal_binary(),
                data_converter=pydantic_data_converter,
                search_attributes=search_attributes.ALL,
                dev_server_log_level="error",
            )
            break
        except RuntimeError as exc:
            if attempt == 2 or "did not start" not in str(exc):
                raise
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def backend() -> str:
    return DEFAULT_BACKEND


@pytest.fixture
async def db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with database_url(backend, tmp_path) as url:
        yield url


@pytest.fixture
def settings(client: Client, tmp_path: Path, db_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=db_url,
        temporal_address=client.service_client.config.target_host,
        task_queue=f"tq-{uuid.uuid4()}",
        api_key=f"ork_test_{uuid.uuid4().hex}",
        http_allow=["127.0.0.1"],
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    await migrate(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def worker(client: Client, settings: Settings, database: Database) -> AsyncIterator[Worker]:
    async with worker_for(client, settings, database) as running:
        yield running


@pytest.fixture
async def api(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The API app over ASGI, authenticated with the test's API key."""
    assert settings.api_key is not None
    async with api_client(settings) as http:
        yield http


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server (moto's) for the session; each test makes its own bucket."""
    with s3_server() as endpoint:
        yield endpoint
