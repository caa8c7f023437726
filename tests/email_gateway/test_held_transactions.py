"""A transaction held open between RCPT and DATA (a client can send NOOPs for minutes):
DATA starts what RCPT read only while that read is recent, else it reads the recipients
again and refuses as a new RCPT would."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Awaitable, Callable

import httpx
import pytest
from temporalio.client import Client

from email_gateway.server import Gateway
from tests.helpers.api import create_process, runs_of, wait_for_state
from tests.helpers.smtp import as_bytes, make_message

SIMPLE = {"outputs": {"subject": "{{ inputs.email.subject }}"}}


class Held:
    """An SMTP transaction sent up to RCPT, each step in a thread (the gateway under test
    runs on this event loop)."""

    def __init__(self, smtp: smtplib.SMTP) -> None:
        self.smtp = smtp

    @classmethod
    async def open(cls, port: int, sender: str, recipients: list[str]) -> Held:
        def start() -> smtplib.SMTP:
            smtp = smtplib.SMTP("127.0.0.1", port, timeout=60)
            smtp.ehlo("sender.test")
            assert smtp.mail(sender)[0] == 250
            for recipient in recipients:
                assert smtp.rcpt(recipient)[0] == 250
            return smtp

        return cls(await asyncio.to_thread(start))

    async def noop(self) -> int:
        return (await asyncio.to_thread(self.smtp.noop))[0]

    async def data(self, recipients: list[str], subject: str) -> tuple[int, str]:
        message = make_message("a@sender.test", ", ".join(recipients), subject=subject)

        def finish() -> tuple[int, str]:
            try:
                code, reply = self.smtp.data(as_bytes(message))
                return code, reply.decode()
            finally:
                self.smtp.close()

        return await asyncio.to_thread(finish)


async def _delete(api: httpx.AsyncClient, process_id: str) -> int:
    return (await api.delete(f"/v2/processes/{process_id}")).status_code


async def _disable(api: httpx.AsyncClient, process_id: str) -> int:
    body = {"enabled": False}
    return (await api.put(f"/v2/processes/{process_id}/email-trigger", json=body)).status_code


async def _rotate(api: httpx.AsyncClient, process_id: str) -> int:
    return (await api.post(f"/v2/processes/{process_id}/email-trigger/rotate")).status_code


async def _restrict(api: httpx.AsyncClient, process_id: str) -> int:
    body = {"permission": "restricted", "allowed_senders": ["boss@corp.test"]}
    return (await api.put(f"/v2/processes/{process_id}/email-trigger", json=body)).status_code


CHANGES: dict[str, tuple[Callable[[httpx.AsyncClient, str], Awaitable[int]], str]] = {
    "process deleted": (_delete, "550 5.1.1"),
    "trigger disabled": (_disable, "550 5.1.1"),
    "address rotated": (_rotate, "550 5.1.1"),
    "sender no longer permitted": (_restrict, "550 5.7.1"),
}


@pytest.mark.parametrize("change", CHANGES)
async def test_a_recipient_changed_before_a_late_data_gets_the_reply_rcpt_would_get(
    api: httpx.AsyncClient, worker: object, client: Client, gateway: Gateway, change: str
) -> None:
    """One of two recipients changed: the message is refused (nothing starts, as for every
    refusal at DATA), with the reply a new RCPT to it would get now."""
    gateway.handler.recheck_after = 0  # every DATA is "late": no waiting in the test
    changed = await create_process(api, SIMPLE, publish=True)
    other = await create_process(api, SIMPLE, publish=True)
    to = [changed["email_address"], other["email_address"]]
    held = await Held.open(gateway.port, "a@sender.test", to)
    act, reply = CHANGES[change]
    assert await act(api, changed["id"]) in (200, 204)
    assert await held.noop() == 250

    code, text = await held.data(to, f"after: {change}")
    assert f"{code} {text}".startswith(reply), (code, text)
    # A deleted process's runs are not listed by the API any more: Temporal is asked itself.
    assert (await client.count_workflows(f"ProcessId = '{changed['id']}'")).count == 0
    assert (await client.count_workflows(f"ProcessId = '{other['id']}'")).count == 0
    if change != "process deleted":
        assert await runs_of(api, changed["id"]) == []
    assert await runs_of(api, other["id"]) == []


async def test_data_starts_the_revision_rcpt_read_only_while_that_read_is_recent(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    """Within the bound DATA queries nothing (the fast path); after it, a revision published
    in between is the one that runs."""
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    revisions = {}
    for bound in (3600.0, 0.0):
        gateway.handler.recheck_after = bound
        held = await Held.open(gateway.port, "a@sender.test", [address])
        edited = {"outputs": {"subject": f"revised: {{{{ inputs.email.subject }}}} {bound}"}}
        draft = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": edited})
        assert draft.status_code == 200, draft.text
        published = await api.post(f"/v2/processes/{process['id']}/publish")
        assert published.status_code == 200, published.text
        code, text = await held.data([address], f"bound {bound}")
        assert code == 250, text
        run = await wait_for_state(api, text.split()[-1])
        assert run["state"] == "Succeeded", run
        revisions[bound] = (run["revision"], published.json()["published_revision"])
    assert revisions[3600.0] == (1, 2)  # RCPT read revision 1, a moment before the publish
    assert revisions[0.0] == (3, 3)  # read again at DATA: the revision published in between
