"""Temporal or the store down: the gateway answers 451 and starts nothing; once Temporal is
back, the same message starts exactly one run."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from email_gateway.server import Gateway
from openruns.devstack import temporal_binary, wait_for_port, wait_for_temporal
from openruns.ids import stable_id
from openruns.models import EmailTriggerUpdate, ProcessCreate
from openruns.search_attributes import register_search_attributes
from openruns.services.email_triggers import get as get_trigger
from openruns.services.email_triggers import update as update_trigger
from openruns.services.processes import create as create_process
from openruns.settings import Settings
from openruns.states import Stage
from openruns.store import Database
from openruns.store.migrate import migrate
from openruns.temporal import connect
from tests.helpers import assert_eventually, free_port
from tests.helpers.smtp import make_message, send


class DevServer:
    """A Temporal dev server of this test's own, on a fixed SQLite file: stop and start it."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.db = directory / "temporal.db"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
             "--port", str(self.port), "--db-filename", str(self.db), "--log-level", "error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    server = DevServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _count(client: Client, process_id: str) -> int:
    return (await client.count_workflows(f"ProcessId = '{process_id}'")).count


async def _mailbox(
    tmp_path: Path, dev_server: DevServer, task_queue: str
) -> tuple[Settings, Database, str, str]:
    """Settings on the test's own dev server, a migrated store, and a process taking mail
    (Draft stage, so nothing needs publishing): its id and address."""
    settings = Settings(
        data_dir=tmp_path, temporal_address=f"127.0.0.1:{dev_server.port}", task_queue=task_queue
    )
    database = Database.from_settings(settings)
    await migrate(database)
    await wait_for_temporal(settings)  # the port opens before the frontend is healthy
    checker = await Client.connect(settings.temporal_target, data_converter=pydantic_data_converter)
    await register_search_attributes(checker, settings.namespace)
    async with database.sessions() as session:
        process = await create_process(
            session,
            ProcessCreate(
                name=f"mailbox-{task_queue}",
                definition={"outputs": {"s": "{{ inputs.email.subject }}"}},
            ),
            email_domain=settings.email_domain,
        )
    async with database.sessions() as session:
        await update_trigger(
            session, process.id, EmailTriggerUpdate(stage=Stage.DRAFT), settings.email_domain
        )
        address = (await get_trigger(session, process.id, settings.email_domain)).address
    return settings, database, process.id, address


async def test_temporal_down_is_451_then_the_same_message_starts_one_run(
    tmp_path: Path, dev_server: DevServer
) -> None:
    settings, database, process_id, address = await _mailbox(tmp_path, dev_server, "tq-451")
    message = make_message("a@b.test", address, message_id=f"<{uuid.uuid4()}@b.test>")

    client = await connect(settings, lazy=True)
    try:
        async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
            warm_up = make_message("a@b.test", address, subject="while Temporal is up")
            assert (await send(gateway.port, "a@b.test", address, warm_up)).code == 250
            dev_server.stop()  # the gateway's client is connected; now its server goes away
            down = await send(gateway.port, "a@b.test", address, message)
            assert down.code == 451 and down.text.startswith("4.3.0"), down

            dev_server.start()
            await wait_for_temporal(settings)  # the port opens before the frontend is healthy
            checker = await Client.connect(settings.temporal_target)
            refused_id = stable_id("run", process_id, "a@b.test", message["Message-ID"])
            with pytest.raises(RPCError) as missing:
                await checker.get_workflow_handle(refused_id).describe()
            assert missing.value.status == RPCStatusCode.NOT_FOUND
            await assert_eventually(lambda: _count(checker, process_id), lambda n: n == 1)

            up = await send(gateway.port, "a@b.test", address, message)
            assert up.code == 250, up
            again = await send(gateway.port, "a@b.test", address, message)
            assert again.code == 250 and again.text == up.text
            assert up.text.split()[-1] == refused_id
            await assert_eventually(lambda: _count(checker, process_id), lambda n: n >= 2)
            assert await _count(checker, process_id) == 2
    finally:
        await database.dispose()


async def test_a_burst_while_temporal_is_down_is_all_451_then_one_run_each(
    tmp_path: Path, dev_server: DevServer
) -> None:
    """Issue 8: every message of a burst gets 451 (never 250) while Temporal is down; each
    retried after recovery — twice, as a sending server may — starts exactly one run."""
    settings, database, process_id, address = await _mailbox(tmp_path, dev_server, "tq-burst")
    # Half with a Message-ID, half without (deduplicated by the hash of their bytes).
    burst = [
        make_message(
            "a@b.test",
            address,
            subject=f"burst {i}",
            message_id=f"<{uuid.uuid4()}@b.test>" if i % 2 else None,
        )
        for i in range(12)
    ]
    client = await connect(settings, lazy=True)
    try:
        async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
            warm_up = make_message("a@b.test", address, subject="while Temporal is up")
            assert (await send(gateway.port, "a@b.test", address, warm_up)).code == 250
            dev_server.stop()
            down = await asyncio.gather(
                *(send(gateway.port, "a@b.test", address, m) for m in burst)
            )
            assert [d.code for d in down] == [451] * len(burst), down

            dev_server.start()
            await wait_for_temporal(settings)  # the port opens before the frontend is healthy
            checker = await Client.connect(settings.temporal_target)
            assert await _count(checker, process_id) == 1  # only the warm-up
            for _ in range(2):
                up = await asyncio.gather(
                    *(send(gateway.port, "a@b.test", address, m) for m in burst)
                )
                assert [d.code for d in up] == [250] * len(burst), up
            await assert_eventually(
                lambda: _count(checker, process_id), lambda n: n >= 1 + len(burst)
            )
            assert await _count(checker, process_id) == 1 + len(burst)
    finally:
        await database.dispose()


async def test_store_down_is_451_at_rcpt(tmp_path: Path, client: Client) -> None:
    # Nothing listens on this port: every database call fails to connect.
    settings = Settings(
        data_dir=tmp_path, database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/openruns"
    )
    database = Database.from_settings(settings)
    try:
        async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
            to = f"anything-abc@{settings.email_domain}"
            delivery = await send(gateway.port, "a@b.test", to, make_message("a@b.test", to))
            assert delivery.code == 451 and delivery.text.startswith("4.3.0"), delivery
    finally:
        await database.dispose()
