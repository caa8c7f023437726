"""Awkward mail never crashes the gateway: each message gets 250 with a run, or a 5xx."""

from __future__ import annotations

import httpx

from email_gateway.server import Gateway
from tests.email_gateway.corpus import corpus
from tests.helpers.api import create_process, wait_for_state
from tests.helpers.smtp import make_message, send

ECHO = {
    "outputs": {
        "subject": "{{ inputs.email.subject }}",
        "sender": "{{ inputs.email.sender }}",
        "attachments": "{{ inputs.email.attachments | length }}",
        "text": "{{ inputs.email.text | length }}",
    }
}


async def test_awkward_messages_get_a_run_or_a_5xx_and_the_gateway_keeps_serving(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    process = await create_process(api, ECHO, publish=True)
    address = process["email_address"]
    cases = corpus(address)
    assert len(cases) >= 30

    outcomes = {}
    for name, raw, _ in cases:
        delivery = await send(gateway.port, "a@sender.test", address, raw)
        outcomes[name] = delivery
    assert {name: d.code for name, d in outcomes.items()} == {
        name: expected for name, _, expected in cases
    }, outcomes
    for name, delivery in outcomes.items():
        if delivery.code == 250:
            run = await wait_for_state(api, delivery.text.split()[-1])
            assert run["state"] == "Succeeded", (name, run)

    forwarded = await wait_for_state(api, outcomes["forwarded message"].text.split()[-1])
    assert forwarded["outputs"]["attachments"] == 1  # the inner message is one .eml file
    many = await wait_for_state(api, outcomes["150 attachments"].text.split()[-1])
    assert many["outputs"]["attachments"] == 150
    traversal = await wait_for_state(api, outcomes["path traversal filename"].text.split()[-1])
    [attachment] = traversal["inputs"]["email"]["attachments"]
    assert "/" not in attachment["filename"]

    after = await send(gateway.port, "a@sender.test", address, make_message("a@b.test", address))
    assert after.code == 250, after
