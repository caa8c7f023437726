"""``openruns setup`` (or ``OPENRUNS_AUTO_SETUP``) on every replica at once is safe."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from openruns import search_attributes
from openruns.store.apikeys import hash_key
from tests.helpers.databases import postgres_database
from tests.helpers.replicas import OPENRUNS, component_env

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


async def test_setup_runs_safely_on_every_replica_at_once(client: Client, tmp_path: Path) -> None:
    """Three replicas starting together on a fresh database and a fresh namespace: all three
    succeed, the schema and search attributes exist once, the configured key exists once."""
    namespace = f"ns-{uuid.uuid4().hex[:10]}"
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=namespace, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    key = f"ork_same_{uuid.uuid4().hex}"
    async with postgres_database() as url:
        env = component_env(
            OPENRUNS_DATABASE_URL=url,
            OPENRUNS_TEMPORAL_ADDRESS=client.service_client.config.target_host,
            OPENRUNS_NAMESPACE=namespace,
            OPENRUNS_DATA_DIR=str(tmp_path),
            OPENRUNS_API_KEY=key,
        )
        processes = [
            await asyncio.create_subprocess_exec(
                OPENRUNS, "setup", env=env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(3)
        ]  # fmt: skip
        outcomes = await asyncio.gather(*(p.communicate() for p in processes))
        for process, (_, stderr) in zip(processes, outcomes, strict=True):
            assert process.returncode == 0, stderr.decode()[-2000:]
        connection = await asyncpg.connect(url)
        try:
            keys = await connection.fetchval(
                "SELECT count(*) FROM api_keys WHERE key_hash = $1", hash_key(key)
            )
            versions = await connection.fetch("SELECT version_num FROM alembic_version")
        finally:
            await connection.close()
    assert keys == 1
    assert len(versions) == 1
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    assert {k.name for k in search_attributes.ALL} <= set(listed.custom_attributes)
