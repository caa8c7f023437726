"""Mail in over a real SMTP socket → runs in the real Temporal dev server (SPEC §6)."""

from __future__ import annotations

import asyncio
import functools
import shutil
import smtplib
import subprocess
import uuid
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run, runs_of, set_trigger, wait_for_state
from tests.helpers.smtp import make_message, send

ECHO = {
    "steps": [
        {"id": "rows", "uses": "file",
         "with": {"file_id": "{{ inputs.email.attachments[0].file_id }}"}},
    ],
    "outputs": {
        "subject": "{{ inputs.email.subject }}",
        "sender": "{{ inputs.email.sender }}",
        "text": "{{ inputs.email.text }}",
        "html": "{{ inputs.email.html }}",
        "attachments": "{{ inputs.email.attachments }}",
        "rows": "{{ steps.rows }}",
        "trigger": "{{ run.trigger }}",
    },
}  # fmt: skip
SIMPLE = {"outputs": {"subject": "{{ inputs.email.subject }}"}}
PNG = bytes(range(256)) * 40  # binary, every byte value


def declare_size(port: int, size: int) -> tuple[int, bytes]:
    """MAIL FROM with a SIZE parameter (RFC 1870): refused before any data is sent."""
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.ehlo()
        return smtp.mail("a@b.test", options=[f"SIZE={size}"])


async def test_mail_with_bodies_and_attachments_starts_a_run_that_sees_them(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    process = await create_process(api, ECHO, publish=True)
    csv_bytes = b"name,amount\nacme,100\nglobex,250\n"
    message = EmailMessage()
    message["From"] = "Alice Example <alice@customer.test>"
    message["To"] = process["email_address"]
    message["Subject"] = "Invoices for März"
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.test>"
    message.set_content("Two files attached.")
    message.add_alternative("<p>Two <b>files</b> attached.</p>", subtype="html")
    message.add_attachment(csv_bytes, maintype="text", subtype="csv", filename="invoices.csv")
    message.add_attachment(PNG, maintype="image", subtype="png", filename="scan.png")

    delivery = await send(gateway.port, "alice@customer.test", process["email_address"], message)
    assert delivery.code == 250, delivery
    run_id = delivery.text.split()[-1]

    run = await wait_for_state(api, run_id)
    assert run["state"] == "Succeeded", run
    assert run["trigger"] == "email" and run["stage"] == "Published"
    assert run["name"] == "Invoices for März"
    assert run["email"] == {
        "sender": "alice@customer.test",
        "subject": "Invoices for März",
        "message_id": message["Message-ID"],
    }
    outputs = run["outputs"]
    assert outputs["subject"] == "Invoices for März"
    assert outputs["sender"] == "alice@customer.test"
    assert outputs["text"].strip() == "Two files attached."
    assert "<b>files</b>" in outputs["html"]
    assert outputs["trigger"] == "email"
    assert [(a["filename"], a["content_type"], a["size"]) for a in outputs["attachments"]] == [
        ("invoices.csv", "text/csv", len(csv_bytes)),
        ("scan.png", "image/png", len(PNG)),
    ]
    assert outputs["rows"] == [
        {"name": "acme", "amount": "100"},
        {"name": "globex", "amount": "250"},
    ]
    assert run["file_ids"] == [a["file_id"] for a in outputs["attachments"]]
    for attachment, sent in zip(outputs["attachments"], [csv_bytes, PNG], strict=True):
        content = await api.get(f"/v2/files/{attachment['file_id']}/content")
        assert content.status_code == 200
        assert content.content == sent


async def test_refusals_at_rcpt(api: httpx.AsyncClient, gateway: Gateway) -> None:
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    unknown = address.replace(address.split("@")[0], "nobody-0123456789abcdef")
    delivery = await send(gateway.port, "a@b.test", unknown, make_message("a@b.test", unknown))
    assert delivery.code == 550 and delivery.text.startswith("5.1.1"), delivery

    await set_trigger(
        api, process["id"], permission="restricted", allowed_senders=["boss@corp.test"]
    )
    refused = await send(gateway.port, "intruder@evil.test", address, make_message("x@y", address))
    assert refused.code == 550 and refused.text.startswith("5.7.1"), refused

    await set_trigger(api, process["id"], permission="anyone", enabled=False)
    disabled = await send(gateway.port, "a@b.test", address, make_message("a@b.test", address))
    assert disabled.code == 550 and disabled.text.startswith("5.1.1"), disabled

    await set_trigger(api, process["id"], enabled=True)
    rotated = await api.post(f"/v2/processes/{process['id']}/email-trigger/rotate")
    assert rotated.status_code == 200
    assert rotated.json()["address"] != address
    retired = await send(gateway.port, "a@b.test", address, make_message("a@b.test", address))
    assert retired.code == 550 and retired.text.startswith("5.1.1"), retired

    new = rotated.json()["address"]
    assert (await api.delete(f"/v2/processes/{process['id']}")).status_code == 204
    deleted = await send(gateway.port, "a@b.test", new, make_message("a@b.test", new))
    assert deleted.code == 550 and deleted.text.startswith("5.1.1"), deleted


async def test_oversized_message_is_552(
    api: httpx.AsyncClient, settings: Settings, database: object, client: Client
) -> None:
    settings.email_max_bytes = 50_000
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:  # type: ignore[arg-type]
        big = make_message("a@b.test", address, text="x" * 60_000)
        delivery = await send(gateway.port, "a@b.test", address, big)
        assert delivery.code == 552 and delivery.text.startswith("5.3.4"), delivery
        # Just over the limit, below aiosmtpd's cut-off: our own check, same reply.
        edge = make_message("a@b.test", address, text="y" * 49_900)
        delivery = await send(gateway.port, "a@b.test", address, edge)
        assert delivery.code == 552 and delivery.text.startswith("5.3.4"), delivery
        declared = await asyncio.to_thread(declare_size, gateway.port, 60_000)
        assert declared[0] == 552 and declared[1].startswith(b"5.3.4"), declared
    assert await runs_of(api, process["id"]) == []


async def test_restricted_and_members_accept_permitted_senders_whose_from_agrees(
    api: httpx.AsyncClient, worker: object, gateway: Gateway, settings: Settings
) -> None:
    settings.email_member_domains = ["corp.test"]
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    await set_trigger(api, process["id"], permission="members")
    outsider = await send(
        gateway.port, "x@other.test", address, make_message("x@other.test", address)
    )
    assert outsider.code == 550 and outsider.text.startswith("5.7.1")
    spoofed = await send(
        gateway.port, "eve@corp.test", address, make_message("ceo@corp.test", address)
    )
    assert spoofed.code == 550 and "From header" in spoofed.text, spoofed
    member = await send(
        gateway.port, "Bob@Corp.test", address, make_message("bob@corp.test", address)
    )
    assert member.code == 250, member

    await set_trigger(
        api, process["id"], permission="restricted", allowed_senders=["@partner.test"]
    )
    partner = await send(
        gateway.port, "p@partner.test", address, make_message("p@partner.test", address)
    )
    assert partner.code == 250, partner
    runs = await assert_eventually(lambda: runs_of(api, process["id"]), lambda r: len(r) == 2)
    assert {r["email"]["sender"] for r in runs} == {"bob@corp.test", "p@partner.test"}


async def test_same_message_twice_starts_one_run(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    message = make_message("a@b.test", address, message_id=f"<{uuid.uuid4()}@b.test>")
    first = await send(gateway.port, "a@b.test", address, message)
    await wait_for_state(api, first.text.split()[-1])  # finished: the id is not reused either
    second = await send(gateway.port, "a@b.test", address, message)
    assert first.code == second.code == 250
    assert first.text == second.text

    no_id = make_message("a@b.test", address, subject="no message id")
    third = await send(gateway.port, "a@b.test", address, no_id)
    fourth = await send(gateway.port, "a@b.test", address, no_id)
    assert third.code == fourth.code == 250 and third.text == fourth.text
    runs = await assert_eventually(lambda: runs_of(api, process["id"]), lambda r: len(r) >= 2)
    assert len(runs) == 2

    # Another sender's message is another message, whatever its bytes or Message-ID.
    same_bytes = await send(gateway.port, "c@d.test", address, no_id)
    same_id = await send(gateway.port, "c@d.test", address, message)
    assert same_bytes.code == same_id.code == 250
    assert len({third.text, same_bytes.text, first.text, same_id.text}) == 4
    runs = await assert_eventually(lambda: runs_of(api, process["id"]), lambda r: len(r) >= 4)
    assert len(runs) == 4


async def test_one_message_to_two_processes_starts_one_run_in_each(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    first = await create_process(api, SIMPLE, publish=True)
    second = await create_process(api, SIMPLE)
    await set_trigger(api, second["id"], stage="Draft")
    to = [first["email_address"], second["email_address"]]
    message = make_message("a@b.test", ", ".join(to), subject="to both")
    delivery = await send(gateway.port, "a@b.test", to, message)
    assert delivery.code == 250, delivery
    run_ids = delivery.text.split()[-2:]
    runs = [await wait_for_state(api, run_id) for run_id in run_ids]
    assert {r["process_id"] for r in runs} == {first["id"], second["id"]}
    assert {r["stage"] for r in runs} == {"Published", "Draft"}
    assert all(r["outputs"] == {"subject": "to both"} for r in runs)
    assert (await get_run(api, run_ids[0]))["inputs"]["email"]["to"] == to


async def test_mail_too_big_for_a_runs_input_is_552_and_starts_nothing(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    """Within every gateway limit, but more than Temporal takes as one run's input once JSON
    has escaped it (a control character is 6 bytes): 552 saying so, and no run in any of the
    message's processes, not a 554 quoting Temporal after starting the others."""
    small = await create_process(api, SIMPLE, publish=True)
    padded = {**SIMPLE, "steps": [{"id": "pad", "uses": "set", "with": {"p": "p" * 1_000_000}}]}
    big = await create_process(api, padded, publish=True)
    noisy = "\x01" * 200 * 1024  # the text cap's 200 KB: 1.2 MB as JSON
    to = [small["email_address"], big["email_address"]]
    both = await send(gateway.port, "a@b.test", to, make_message("a@b.test", ", ".join(to),
                                                                 text=noisy))  # fmt: skip
    assert both.code == 552 and "too big to start a run" in both.text, both
    alone = make_message("a@b.test", small["email_address"], text=noisy)
    alone.add_alternative(noisy, subtype="html")  # text and HTML: 2.4 MB as JSON
    single = await send(gateway.port, "a@b.test", small["email_address"], alone)
    assert single.code == 552 and "too big to start a run" in single.text, single
    fits = await send(gateway.port, "a@b.test", to, make_message("a@b.test", ", ".join(to)))
    assert fits.code == 250, fits  # the processes do take mail
    for process in (small, big):
        runs = await assert_eventually(functools.partial(runs_of, api, process["id"]), bool)
        assert len(runs) == 1, runs  # the last message's run alone


async def test_each_trigger_stage_runs_its_own_revision(
    api: httpx.AsyncClient, worker: object, gateway: Gateway
) -> None:
    # Published at revision 1, then a draft (revision 2) that answers differently: mail to a
    # Published trigger runs revision 1, and to a Draft trigger the current draft.
    process = await create_process(api, SIMPLE, publish=True)
    edited = {"outputs": {"subject": "draft: {{ inputs.email.subject }}"}}
    response = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": edited})
    assert response.status_code == 200, response.text
    address = process["email_address"]
    runs = {}
    for stage in ("Published", "Draft"):
        await set_trigger(api, process["id"], stage=stage)
        message = make_message("a@b.test", address, subject=stage)
        delivery = await send(gateway.port, "a@b.test", address, message)
        assert delivery.code == 250, delivery
        runs[stage] = await wait_for_state(api, delivery.text.split()[-1])
    assert (runs["Published"]["revision"], runs["Published"]["outputs"]) == (
        1,
        {"subject": "Published"},
    )
    assert (runs["Draft"]["revision"], runs["Draft"]["outputs"]) == (2, {"subject": "draft: Draft"})


async def test_unpublished_process_and_bad_inputs_are_refused_without_a_run(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    draft_only = await create_process(api, SIMPLE)
    address = draft_only["email_address"]
    delivery = await send(gateway.port, "a@b.test", address, make_message("a@b.test", address))
    assert delivery.code == 550 and "published" in delivery.text

    needs_input = await create_process(
        api, {"inputs": {"customer": {"type": "string", "required": True}}}, publish=True
    )
    address = needs_input["email_address"]
    delivery = await send(gateway.port, "a@b.test", address, make_message("a@b.test", address))
    assert delivery.code == 554 and "inputs.customer" in delivery.text, delivery
    assert await runs_of(api, needs_input["id"]) == []


async def test_starttls_when_a_certificate_is_configured(
    api: httpx.AsyncClient, settings: Settings, database: object, client: Client, tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    settings.smtp_tls_cert, settings.smtp_tls_key = cert, key
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as gateway:  # type: ignore[arg-type]
        message = make_message("a@b.test", address, subject="over TLS")
        delivery = await send(gateway.port, "a@b.test", address, message, starttls=True)
    assert delivery.code == 250, delivery


async def test_store_write_locked_is_451_and_nothing_half_written(
    api: httpx.AsyncClient, worker: object, gateway: Gateway, settings: Settings
) -> None:
    """Another process holds SQLite's write lock: a message whose attachment must be recorded
    gets 451 and leaves no file row and no run; after the lock is gone, one run."""
    from sqlalchemy import func, select

    from openruns.store import Database
    from openruns.store.tables import FileRow
    from tests.security.test_store_unavailable import sqlite_locked

    if not (settings.database_url or "").startswith("sqlite"):
        pytest.skip("a SQLite write lock (PostgreSQL outages: tests/security)")
    process = await create_process(api, SIMPLE, publish=True)
    address = process["email_address"]
    message = make_message("a@b.test", address, message_id=f"<{uuid.uuid4()}@b.test>")
    message.add_attachment(b"id,total\n1,2\n", maintype="text", subtype="csv", filename="t.csv")

    with sqlite_locked(Path(settings.database_url.split("///", 1)[1])):  # type: ignore[union-attr]
        locked = await send(gateway.port, "a@b.test", address, message)
    assert locked.code == 451 and locked.text.startswith("4.3.0"), locked
    database = Database.from_settings(settings)
    try:
        async with database.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(FileRow)) == 0
    finally:
        await database.dispose()
    assert await runs_of(api, process["id"]) == []

    delivered = await send(gateway.port, "a@b.test", address, message)
    assert delivered.code == 250, delivered
    assert (await wait_for_state(api, delivered.text.split()[-1]))["state"] == "Succeeded"
