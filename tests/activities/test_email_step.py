"""The ``email`` step against a real SMTP relay (an aiosmtpd sink on a free port)."""

from __future__ import annotations

import email
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pydantic import SecretStr
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers import assert_eventually, free_port
from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.smtp import make_message, send
from worker import worker_for


class Sink:
    """Collects what the relay receives; refuses recipients at refused.test for good, and
    those at later.test once, for now (451)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.deferred: set[str] = set()
        self.refused: list[str] = []  # each RCPT refused for good, one entry per attempt

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, _: Any):
        if address.endswith("@refused.test"):
            self.refused.append(address)
            return "550 5.1.1 no such user"
        if address.endswith("@later.test") and address not in self.deferred:
            self.deferred.add(address)
            return "451 4.3.0 try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler, port = Sink(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def relay_worker(
    client: Client, settings: Settings, database: Database, sink: tuple[Sink, int]
) -> AsyncIterator[None]:
    settings.smtp_relay = f"127.0.0.1:{sink[1]}"
    async with worker_for(client, settings, database):
        yield


SEND: dict[str, Any] = {
    "inputs": {"to": {"type": "string", "required": True}},
    "steps": [
        {"id": "notify", "uses": "email", "retry": {"max_attempts": 2, "initial_interval": 0.1},
         "with": {"to": "{{ inputs.to }}", "cc": ["cc@example.test"], "subject": "Invoice ready",
                  "text": "Hello {{ inputs.to }}", "html": "<p>Hello</p>",
                  "reply_to": "billing@example.test", "in_reply_to": "<orig@example.test>"}},
    ],
    "outputs": {"message_id": "{{ steps.notify.message_id }}"},
}  # fmt: skip


async def test_email_step_sends_through_the_relay(
    api: httpx.AsyncClient, relay_worker: None, sink: tuple[Sink, int]
) -> None:
    handler, _ = sink
    process = await create_process(api, SEND)
    run = await start_run(api, process["id"], inputs={"to": "Ann <ann@example.test>"})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert done["outputs"]["message_id"] == f"<{run['id']}.notify@openruns.localhost>"
    [message] = handler.messages
    assert handler.envelopes == [
        ("noreply@openruns.localhost", ["ann@example.test", "cc@example.test"])
    ]
    assert message["Message-ID"] == done["outputs"]["message_id"]
    assert (message["To"], message["Cc"], message["Subject"]) == (
        "Ann <ann@example.test>",
        "cc@example.test",
        "Invoice ready",
    )
    assert message["Reply-To"] == "billing@example.test"
    # RFC 5322 requires a Date; relays refuse or spam-score mail without one.
    sent_at = message["Date"].datetime
    assert sent_at.tzinfo is not None
    assert abs(datetime.now(UTC) - sent_at) < timedelta(minutes=1)
    assert message["In-Reply-To"] == message["References"] == "<orig@example.test>"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content().strip() == "Hello Ann <ann@example.test>"
    assert html.get_content().strip() == "<p>Hello</p>"


async def _send_to(api: httpx.AsyncClient, to: str) -> dict[str, Any]:
    """A run of a process whose one step mails ``to`` (no cc: the relay sees ``to`` alone)."""
    only_to = {**SEND["steps"][0], "with": {"to": "{{ inputs.to }}", "subject": "x", "text": "y"}}
    process = await create_process(api, {**SEND, "steps": [only_to]})
    return await start_run(api, process["id"], inputs={"to": to})


async def test_refused_recipient_fails_the_step_without_retrying(
    api: httpx.AsyncClient, relay_worker: None, sink: tuple[Sink, int]
) -> None:
    run = await _send_to(api, "nobody@refused.test")
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert done["error"]["step"] == "notify"
    assert "refused every recipient" in done["error"]["message"]
    assert sink[0].messages == []
    assert sink[0].refused == ["nobody@refused.test"]  # one attempt of the two allowed


async def test_a_recipient_refused_for_now_is_retried(
    api: httpx.AsyncClient, relay_worker: None, sink: tuple[Sink, int]
) -> None:
    """README: a relay's 4xx is retried (per the step's retry), 5xx fails for good."""
    run = await _send_to(api, "soon@later.test")
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Succeeded", done
    assert sink[0].envelopes == [("noreply@openruns.localhost", ["soon@later.test"])]


async def test_without_a_relay_the_step_fails_clearly(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, SEND)
    run = await start_run(api, process["id"], inputs={"to": "a@example.test"})
    done = await wait_for_state(api, run["id"])
    assert done["state"] == "Failed"
    assert "OPENRUNS_SMTP_RELAY" in done["error"]["message"]


async def test_a_process_answers_the_sender_of_an_email(
    api: httpx.AsyncClient, relay_worker: None, sink: tuple[Sink, int], settings: Settings,
    database: Database, client: Client,
) -> None:  # fmt: skip
    answer = {
        "steps": [
            {"id": "reply", "uses": "email",
             "with": {"to": "{{ inputs.email.sender }}", "subject": "Re: {{ inputs.email.subject }}",
                      "text": "Got {{ inputs.email.attachments | length }} file(s).",
                      "in_reply_to": "{{ inputs.email.message_id }}"}},
        ],
    }  # fmt: skip
    process = await create_process(api, answer, publish=True)
    address, message_id = process["email_address"], f"<{uuid.uuid4()}@customer.test>"
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:
        message = make_message("bob@customer.test", address, "Order 7", message_id=message_id)
        delivery = await send(gateway.port, "bob@customer.test", address, message)
        assert delivery.code == 250, delivery
    await assert_eventually(lambda: _count(sink[0]), lambda n: n == 1)
    [reply] = sink[0].messages
    assert reply["To"] == "bob@customer.test" and reply["Subject"] == "Re: Order 7"
    assert reply["In-Reply-To"] == message_id


async def _count(sink: Sink) -> int:
    return len(sink.messages)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # a test sink
async def test_relay_login(
    api: httpx.AsyncClient, client: Client, settings: Settings, database: Database
) -> None:
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        logins.append((data.login, data.password))
        return AuthResult(success=data.password == b"s3cret")

    handler, port = Sink(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
        auth_require_tls=False, auth_required=True,
    )  # fmt: skip
    controller.start()
    settings.smtp_relay = f"127.0.0.1:{port}"
    settings.smtp_relay_user, settings.smtp_relay_password = "robot", SecretStr("s3cret")
    try:
        async with worker_for(client, settings, database):
            process = await create_process(api, SEND)
            run = await start_run(api, process["id"], inputs={"to": "a@example.test"})
            done = await wait_for_state(api, run["id"])
    finally:
        controller.stop()
    assert done["state"] == "Succeeded", done
    assert logins == [(b"robot", b"s3cret")]
    assert len(handler.messages) == 1
