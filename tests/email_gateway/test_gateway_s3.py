"""The gateway with files in an S3-compatible bucket: attachments are stored there before the
run starts, and a bucket out of reach is a 451 (the sender retries), with no run started."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage

import httpx
import pytest
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns.settings import Settings
from openruns.store import Database
from tests.email_gateway.test_gateway import ECHO, PNG
from tests.helpers.api import create_process, runs_of, wait_for_state
from tests.helpers.s3 import new_bucket, object_keys, unreachable_endpoint, with_bucket
from tests.helpers.smtp import make_message, send


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str) -> Settings:
    return with_bucket(settings, s3_endpoint, new_bucket(s3_endpoint))


def _message(to: str, csv_bytes: bytes) -> EmailMessage:
    message_id = f"<{uuid.uuid4()}@customer.test>"
    message = make_message("alice@customer.test", to, "Invoices", "Attached.", message_id)
    message.add_attachment(csv_bytes, maintype="text", subtype="csv", filename="invoices.csv")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="scan.png")
    return message


async def test_attachments_are_stored_in_the_bucket(
    api: httpx.AsyncClient, worker: object, gateway: Gateway, settings: Settings, s3_endpoint: str
) -> None:
    assert settings.s3_bucket is not None
    process = await create_process(api, ECHO, publish=True)
    csv_bytes = b"name,amount\nacme,100\n"
    message = _message(process["email_address"], csv_bytes)
    delivery = await send(gateway.port, "alice@customer.test", process["email_address"], message)
    assert delivery.code == 250, delivery

    run = await wait_for_state(api, delivery.text.split()[-1])
    assert run["state"] == "Succeeded", run
    assert run["outputs"]["rows"] == [{"name": "acme", "amount": "100"}]  # read from the bucket
    hashes = sorted(hashlib.sha256(b).hexdigest() for b in (csv_bytes, PNG))
    assert object_keys(s3_endpoint, settings.s3_bucket) == [
        f"openruns/files/{h[:2]}/{h}" for h in hashes
    ]
    assert not (settings.data_dir / "files").exists()


@pytest.fixture
async def gateway_without_bucket(
    settings: Settings, database: Database, client: Client
) -> AsyncIterator[Gateway]:
    down = unreachable_endpoint()
    unreachable = settings.model_copy(update={"s3_endpoint_url": down})
    async with Gateway(unreachable, database, client, host="127.0.0.1", port=0) as running:
        yield running


async def test_a_bucket_out_of_reach_is_451_and_starts_nothing(
    api: httpx.AsyncClient, gateway_without_bucket: Gateway
) -> None:
    process = await create_process(api, ECHO, publish=True)
    message = _message(process["email_address"], b"name,amount\nacme,100\n")
    delivery = await send(
        gateway_without_bucket.port, "alice@customer.test", process["email_address"], message
    )
    assert delivery.code == 451, delivery
    assert await runs_of(api, process["id"]) == []
