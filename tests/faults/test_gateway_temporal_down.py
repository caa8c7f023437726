"""The gateway as a real process while the Temporal dev server is SIGKILLed: every message
of a burst gets 451 (never 250); once Temporal is back, each message — retried twice, as a
sending server may — starts exactly one run. The gateway's log is JSON and holds no key."""

from __future__ import annotations

import asyncio
import json
import uuid
from email.message import EmailMessage

import pytest

from tests.faults.helpers import count
from tests.helpers import assert_eventually
from tests.helpers.smtp import send
from tests.helpers.stack import ProcessStack


def _message(address: str, i: int) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ops@sender.test", address, f"alert {i}"
    if i % 2:  # half without a Message-ID: deduplicated by the hash of their bytes
        message["Message-ID"] = f"<{uuid.uuid4()}@sender.test>"
    message.set_content(f"alert number {i}")
    return message


@pytest.mark.parametrize("messages", [pytest.param(8), pytest.param(60, marks=pytest.mark.faults)])
@pytest.mark.timeout(600)
async def test_gateway_while_temporal_is_down(stack: ProcessStack, messages: int) -> None:
    assert stack.client is not None
    if not stack.running("smtp"):
        await stack.start_gateway()
    port = stack.settings.smtp_port
    async with stack.http() as http:
        response = await http.post(
            "/v2/processes",
            json={
                "name": f"alerts-{uuid.uuid4().hex[:6]}",
                "definition": {"outputs": {"subject": "{{ inputs.email.subject }}"}},
            },
        )
        process = response.json()
        assert (await http.post(f"/v2/processes/{process['id']}/publish")).status_code == 200
    address = process["email_address"]
    burst = [_message(address, i) for i in range(messages)]
    warm_up = await send(port, "ops@sender.test", address, _message(address, -1))
    assert warm_up.code == 250, warm_up

    stack.kill("temporal")
    down = await asyncio.gather(*(send(port, "ops@sender.test", address, m) for m in burst))
    assert [d.code for d in down] == [451] * messages, [d.text for d in down]

    await stack.start_temporal()
    for _ in range(2):
        up = await asyncio.gather(*(send(port, "ops@sender.test", address, m) for m in burst))
        assert [d.code for d in up] == [250] * messages, [d.text for d in up]
    await assert_eventually(
        lambda: count(stack.client, process["id"]),  # type: ignore[arg-type]
        lambda n: n >= messages + 1,
        timeout=60,
    )
    assert await count(stack.client, process["id"]) == messages + 1  # exactly one each

    log = stack.logs("smtp")
    assert stack.api_key not in log
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any("451" in json.dumps(r) or "cannot start" in json.dumps(r) for r in records)
    print(f"\n{messages} messages while Temporal was down: {messages} × 451, then 1 run each")
