"""Every process has an email address; its trigger settings are read, changed and rotated."""

from __future__ import annotations

import re

import httpx

from openruns.store import Database
from openruns.store import processes as process_repo
from tests.helpers.api import create_process

ADDRESS = re.compile(r"^monthly-invoices-eu-[0-9a-z]{16}@openruns\.localhost$")


async def test_every_process_gets_an_unguessable_address(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {}}, name="Monthly Invoices (EU)")
    assert ADDRESS.match(process["email_address"]), process["email_address"]
    other = await create_process(api, {"outputs": {}}, name="Ünïcode only ✓")
    assert other["email_address"].startswith("unicode-only-")

    read = await api.get(f"/v2/processes/{process['id']}")
    assert read.json()["email_address"] == process["email_address"]
    listed = await api.get("/v2/processes")
    by_id = {p["id"]: p["email_address"] for p in listed.json()["items"]}
    assert by_id == {process["id"]: process["email_address"], other["id"]: other["email_address"]}
    published = await api.post(f"/v2/processes/{process['id']}/publish")
    assert published.json()["email_address"] == process["email_address"]


async def test_read_change_and_rotate(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {}})
    url = f"/v2/processes/{process['id']}/email-trigger"
    trigger = (await api.get(url)).json()
    assert trigger["address"] == process["email_address"]
    assert (trigger["enabled"], trigger["permission"], trigger["allowed_senders"]) == (
        True,
        "anyone",
        [],
    )
    assert trigger["stage"] == "Published"

    changed = await api.put(
        url,
        json={"permission": "restricted", "allowed_senders": [" Boss@Corp.test", "@partner.test"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["allowed_senders"] == ["boss@corp.test", "@partner.test"]
    stage = await api.put(url, json={"stage": "Draft", "enabled": False})
    body = stage.json()
    assert (body["stage"], body["enabled"], body["permission"]) == ("Draft", False, "restricted")

    rotated = await api.post(f"{url}/rotate")
    assert rotated.status_code == 200
    new = rotated.json()["address"]
    assert new != process["email_address"] and new.startswith("process-")
    assert rotated.json()["permission"] == "restricted"  # settings survive a rotation
    assert (await api.get(f"/v2/processes/{process['id']}")).json()["email_address"] == new


async def test_bad_settings_are_422_naming_the_field(api: httpx.AsyncClient) -> None:
    process = await create_process(api, {"outputs": {}})
    url = f"/v2/processes/{process['id']}/email-trigger"
    bad_sender = await api.put(url, json={"allowed_senders": ["ok@x.test", "not an address"]})
    assert bad_sender.status_code == 422
    assert bad_sender.json()["details"][0]["path"] == "allowed_senders[1]"
    bad_permission = await api.put(url, json={"permission": "everyone"})
    assert bad_permission.status_code == 422
    assert bad_permission.json()["details"][0]["path"] == "permission"
    unknown_field = await api.put(url, json={"address": "mine@x.test"})
    assert unknown_field.status_code == 422

    missing = await api.get("/v2/processes/proc-nope/email-trigger")
    assert missing.status_code == 404
    assert (await api.post("/v2/processes/proc-nope/email-trigger/rotate")).status_code == 404


async def test_a_process_from_before_the_email_trigger_gets_an_address(
    api: httpx.AsyncClient, database: Database
) -> None:
    async with database.session() as session:  # created without one, as before migration 0003
        process, _ = await process_repo.create_process(session, "Old One", None, {})
    assert (await api.get(f"/v2/processes/{process.id}")).json()["email_address"] is None
    trigger = await api.get(f"/v2/processes/{process.id}/email-trigger")
    assert trigger.status_code == 200
    assert trigger.json()["address"].startswith("old-one-")
    read = await api.get(f"/v2/processes/{process.id}")
    assert read.json()["email_address"] == trigger.json()["address"]
