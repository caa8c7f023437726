"""``make bench``'s SMTP load generator (bench/smtp.py) against the real gateway: it must count
only what the gateway accepted, and deliver every message intact, or the email figure lies."""

from __future__ import annotations

import uuid

import httpx
import pytest

from bench.smtp import SmtpError, build_messages, send_all
from email_gateway.server import Gateway
from tests.helpers.api import create_process, wait_for_state

ECHO = {"outputs": {"subject": "{{ inputs.email.subject }}", "text": "{{ inputs.email.text }}"}}
# Lines starting with a dot are dot-stuffed on the wire (RFC 5321 §4.5.2) and must arrive as sent.
TEXT = ".{i} starts with a dot\n..and this with two\n."


async def test_every_message_is_accepted_and_arrives_intact(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    process = await create_process(api, ECHO, publish=True)
    tag = uuid.uuid4().hex[:8]
    messages = build_messages(process["email_address"], range(3), tag, text=TEXT)

    assert await send_all(gateway.port, process["email_address"], messages) == 3

    listed = await api.get("/v2/runs", params={"process_id": process["id"]})
    runs = listed.json()["items"]
    assert len(runs) == 3
    for run in runs:
        done = await wait_for_state(api, run["id"])
        assert done["state"] == "Succeeded", done
        i = int(done["outputs"]["subject"].rsplit(" ", 1)[1])
        assert done["outputs"]["subject"] == f"bench {tag} {i}"
        assert done["outputs"]["text"].rstrip("\n") == TEXT.format(i=i)


async def test_a_refused_recipient_is_an_error_not_a_count(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    nobody = "nobody-0000000000000000@" + gateway.settings.email_domain
    with pytest.raises(SmtpError, match="expected 250"):
        await send_all(gateway.port, nobody, build_messages(nobody, range(1), "x"))
