"""End-to-end fixtures: the replicated stack (``openruns setup``, then two ``openruns api`` and
two ``openruns worker`` processes on one fresh PostgreSQL database), started once for the
tests that ask for it."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client

from tests.helpers.databases import postgres_database
from tests.helpers.replicas import OPENRUNS, Replicas, Stack, component_env


@pytest.fixture(scope="package")
async def stack(client: Client, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    directory = tmp_path_factory.mktemp("replicas")
    key = f"ork_e2e_{uuid.uuid4().hex}"
    async with postgres_database() as url:
        env = component_env(
            OPENRUNS_DATABASE_URL=url,
            OPENRUNS_TEMPORAL_ADDRESS=client.service_client.config.target_host,
            OPENRUNS_NAMESPACE=client.namespace,
            OPENRUNS_TASK_QUEUE=f"tq-replicas-{uuid.uuid4()}",
            OPENRUNS_DATA_DIR=str(directory / "data"),
            OPENRUNS_HTTP_ALLOW="127.0.0.1",
            OPENRUNS_AUTO_SETUP="false",
        )
        setup = await asyncio.to_thread(
            subprocess.run,
            [OPENRUNS, "setup"],
            env={**env, "OPENRUNS_API_KEY": key},
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert setup.returncode == 0, setup.stderr
        replicas = Replicas(env, directory)
        try:
            for name in ("api-a", "api-b"):
                replicas.spawn_api(name)
            for name in ("worker-1", "worker-2"):
                replicas.spawn_worker(name)
            await asyncio.gather(
                *(replicas.api_ready(r) for r in replicas.apis),
                *(replicas.worker_ready(client, r) for r in replicas.workers),
            )
            a, b = (
                httpx.AsyncClient(base_url=r.url, headers={"x-api-key": key}, timeout=30)
                for r in replicas.apis
            )
            async with a, b:
                yield Stack(replicas, a, b)
        finally:
            await asyncio.to_thread(replicas.stop)
