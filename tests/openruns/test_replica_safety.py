"""Deterministic run ids make duplicate starts harmless across replicas: two email gateways
taking the same redelivered message (same process, same Message-ID) start one run, whether
they race or the second delivery comes after the run has finished."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import Client
from temporalio.worker import Worker

from openruns.ids import stable_id
from openruns.models import ProcessCreate
from openruns.services import processes
from openruns.services.run_start import Started, StartRequest, start_run
from openruns.settings import Settings
from openruns.states import RunState, Stage, Trigger
from openruns.store import Database
from openruns.temporal import connect

HELLO = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}


async def test_the_same_deterministic_run_id_from_two_replicas_is_one_run(
    client: Client, settings: Settings, database: Database, worker: Worker
) -> None:
    async with database.session() as session:
        process = await processes.create(
            session,
            ProcessCreate(name=f"mail-{uuid.uuid4().hex[:8]}", definition=HELLO),
            email_domain=settings.email_domain,
        )
    run_id = stable_id("run", process.id, f"<{uuid.uuid4()}@mail.example>")
    # Two replicas: each its own Temporal connection and its own database pool.
    replicas = [(await connect(settings), Database.from_settings(settings)) for _ in range(2)]

    async def deliver(replica: int) -> Started:
        temporal, replica_db = replicas[replica]
        async with replica_db.sessions() as session:
            request = StartRequest(
                process_id=process.id,
                stage=Stage.DRAFT,
                trigger=Trigger.API,
                inputs={"who": "mail"},
                run_id=run_id,
            )
            return await start_run(temporal, session, settings, request)

    try:
        raced = await asyncio.gather(deliver(0), deliver(1))
        assert [s.run.id for s in raced] == [run_id, run_id]
        handle = client.get_workflow_handle(run_id)
        assert (await handle.result())["outputs"] == {"greeting": "hello mail"}
        execution = (await handle.describe()).run_id

        late = await deliver(1)  # redelivered after the run has finished
        assert late.run.id == run_id and late.run.state == RunState.SUCCEEDED
        assert (await handle.describe()).run_id == execution, "a second execution started"
    finally:
        for _, replica_db in replicas:
            await replica_db.dispose()
