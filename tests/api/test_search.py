"""``GET /v2/runs?q=``: words matched against run name, email subject and sender, and input
values (the ``RunSearch`` text attribute), combined with the other filters."""

from __future__ import annotations

import httpx
from temporalio.client import Client

from openruns.models import EmailInfo
from openruns.services import run_start
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import Database
from tests.helpers import assert_eventually
from tests.helpers.actions import act, list_ids
from tests.helpers.api import create_process, start_run, wait_for_state

NOTE = {
    "inputs": {"customer": {"type": "string", "default": ""}, "note": {"type": "string", "default": ""}},
    "steps": [],
    "outputs": {"customer": "{{ inputs.customer }}"},
}  # fmt: skip


async def test_q_finds_runs_with_every_word(
    api: httpx.AsyncClient,
    worker: object,
    client: Client,
    settings: Settings,
    database: Database,
) -> None:
    process = await create_process(api, NOTE)
    pid = process["id"]
    march = await start_run(api, pid, name="Invoice ACME March", inputs={"note": "paid"})
    globex = await start_run(api, pid, name="Invoice Globex", inputs={"customer": "globex"})
    order = await start_run(api, pid, name="Order 7", inputs={"customer": "ACME Corp", "note": "invoice-77"})  # fmt: skip
    ware = await start_run(api, pid, name="Acmeware invoices", inputs={"note": "acme-ish or so"})
    async with database.sessions() as session:
        mail = await run_start.start_run(
            client, session, settings,
            run_start.StartRequest(
                process_id=pid, stage=Stage.DRAFT, trigger=Trigger.EMAIL,
                inputs={"email": {"subject": "Quarterly report"}},
                email=EmailInfo(sender="bob@acme.com", subject="Quarterly report"),
            ),
        )  # fmt: skip
    for run_id in (march["id"], globex["id"], order["id"], mail.run.id):
        await wait_for_state(api, run_id)

    # Visibility is updated asynchronously: wait until the five runs are indexed.
    await assert_eventually(lambda: list_ids(api, process_id=pid), lambda ids: len(ids) == 5)

    async def search(q: str, **params: str) -> set[str]:
        return set(await list_ids(api, process_id=pid, q=q, **params))

    both = {march["id"], order["id"]}
    assert await search("invoice acme") == both  # every word, in any field, any order
    assert await search("ACME   Invoice") == both  # case and spacing do not matter
    assert await search("invoice") == both | {globex["id"]}
    assert await search("invoic") == set()  # whole words, no prefixes
    assert await search("acme invoice globex") == set()
    assert await search("invoice acme", state="Succeeded") == both
    assert await search("invoice acme", state="Failed") == set()
    assert await search("quarterly") == {mail.run.id}  # email subject
    assert await search("bob@acme.com") == {mail.run.id}  # email sender
    assert await search("invoice-77") == {order["id"]}  # punctuated words match as phrases
    # punctuation and quotes are no words, and OR is a word, not an operator
    assert await search("- ' \" OR") == await search("or") == {ware["id"]}

    [archived] = await act(api, "archive", [march["id"]])
    assert archived["ok"]
    assert await search("invoice acme") == {order["id"]}
    assert await search("invoice acme", archived="true") == {march["id"]}
    assert await search("invoice acme", archived="all") == both


async def test_long_and_unusual_inputs_still_start_and_keep_their_first_words(
    api: httpx.AsyncClient, worker: object
) -> None:
    """The search text fits Temporal's 2,048-byte limit as the payload encodes it: control
    characters and non-ASCII letters (6 or 12 bytes each in JSON) no longer make a start a
    502; the words that fit stay searchable."""
    process = await create_process(api, NOTE)
    pid = process["id"]
    noisy = await start_run(
        api, pid, name="Noisy", inputs={"customer": "Zürich \u0001" * 3000, "note": "😀" * 500}
    )
    cjk = await start_run(api, pid, name="Tokyo", inputs={"customer": "東京 " * 2000})
    await wait_for_state(api, noisy["id"])
    await wait_for_state(api, cjk["id"])

    async def search(q: str) -> set[str]:
        return set(await list_ids(api, process_id=pid, q=q))

    await assert_eventually(lambda: search("zürich"), lambda ids: ids == {noisy["id"]})
    assert await search("東京") == {cjk["id"]}
    assert await search("noisy zürich") == {noisy["id"]}


async def test_accented_words_match_however_they_are_composed(
    api: httpx.AsyncClient, worker: object
) -> None:
    """é is one code point or e + a combining accent, depending on the keyboard or the mail
    client: both spellings find both (NFC on the search text and on ``q``)."""
    process = await create_process(api, NOTE)
    pid = process["id"]
    composed = await start_run(api, pid, name="one", inputs={"customer": "\u00e9cole"})
    decomposed = await start_run(api, pid, name="two", inputs={"customer": "e\u0301cole"})
    for run in (composed, decomposed):
        await wait_for_state(api, run["id"])
    both = {composed["id"], decomposed["id"]}
    await assert_eventually(lambda: list_ids(api, process_id=pid), lambda ids: len(ids) == 2)
    found = {
        q: set(await list_ids(api, process_id=pid, q=q))
        for q in ("\u00e9cole", "e\u0301cole", "\u00c9COLE")
    }
    assert found == dict.fromkeys(found, both), found
