"""In Chromium, against the real stack (uvicorn, the Temporal dev server, a worker): run a
process from its form and watch the run finish without a reload, re-run it, copy the email
address, pause and resume its schedule; the runs of every process; sessions and CSRF as a
browser meets them; and the pages on a phone."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.browser import assert_labelled, log_in, shot
from tests.ui.definitions import GREETER, doubler

_OFFERED = """() => [document.querySelector(".run-state").dataset.state,
  [...document.querySelectorAll('form[aria-label="Actions on this run"] button')]
    .filter((button) => button.checkVisibility()).map((button) => button.textContent)]"""


async def test_run_from_the_form_watch_it_finish_live_and_rerun_it(
    page: Page, api: httpx.AsyncClient, api_key: str, worker: object, screenshots: Path
) -> None:
    process = await create_process(api, GREETER, name="greeter", publish=True)
    await create_process(api, doubler(), name="invoice-intake")
    schedule = await api.post(
        f"/v2/processes/{process['id']}/schedules",
        json={"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin", "note": "weekday mornings",
              "inputs": {"who": "team"}},
    )  # fmt: skip
    assert schedule.status_code == 201, schedule.text
    try:
        await page.goto("/ui/test-suite")
        await expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Ftest-suite$"))
        await shot(page, screenshots, "login")
        await assert_labelled(page)
        await log_in(page, api_key)

        await page.get_by_role("link", name="greeter").click()
        await expect(page.get_by_role("heading", name="greeter")).to_be_visible()
        await expect(page.get_by_text("0 9 * * 1-5")).to_be_visible()
        await page.get_by_role("button", name="Pause").click()
        await expect(page.locator("p.alert.ok")).to_contain_text("Schedule paused")
        await page.get_by_role("button", name="Resume").click()
        await expect(page.locator("p.alert.ok")).to_contain_text("Schedule resumed.")
        await expect(page.get_by_role("button", name="Pause")).to_be_visible()
        await assert_labelled(page)
        await page.context.grant_permissions(["clipboard-read", "clipboard-write"])
        await page.get_by_role("button", name="Copy the email address").click()
        assert await page.evaluate("navigator.clipboard.readText()") == process["email_address"]

        await page.get_by_role("link", name="Run Draft").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_label("tone")).to_have_value('"warm"')  # the default
        await dialog.get_by_label("who").fill("Ada")
        await dialog.get_by_label("excited").select_option("true")
        await shot(page, screenshots, "run-form", full_page=False)
        await dialog.get_by_role("button", name="Start run").click()

        await expect(page).to_have_url(re.compile(r"/ui/runs/run-"))
        run_id = page.url.rsplit("/", 1)[1]
        await page.evaluate("window.sameDocument = true")
        state = page.locator(".run-state")
        [now, offered] = await page.evaluate(_OFFERED)  # the state and the buttons at once
        assert now in ("Pending", "Running") and offered == ["Archive", "Cancel"]
        await expect(state).to_have_text("✓ Succeeded", timeout=20_000)
        assert await page.evaluate("window.sameDocument") is True  # it changed without a reload
        # The actions follow the state: a finished run cannot be cancelled, it can be re-run.
        await expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
        assert (await page.evaluate(_OFFERED))[1] == ["Re-run", "Archive", "Add Test Case"]
        await page.get_by_role("button", name="Archive", exact=True).click()
        await expect(page.get_by_role("button", name="Unarchive")).to_be_visible()
        await expect(page.get_by_role("button", name="Archive", exact=True)).to_be_hidden()
        await page.get_by_role("button", name="Unarchive").click()
        await expect(page.get_by_role("button", name="Archive", exact=True)).to_be_visible()
        await expect(page.locator(".outputs")).to_contain_text('"greeting": "hello Ada!"')
        await expect(page.locator(".timeline .step")).to_have_count(2)
        temporal = await page.get_by_role("link", name="Open in Temporal UI").get_attribute("href")
        assert temporal and temporal.endswith(f"/namespaces/default/workflows/{run_id}")
        await shot(page, screenshots, "run")
        await assert_labelled(page)
        await page.get_by_role("link", name="Each step's output").click()
        await expect(page.get_by_label("Output of greet")).to_contain_text('"hello Ada!"')
        await expect(page.get_by_label("Output of think")).to_have_text("{}")
        await shot(page, screenshots, "step-outputs", full_page=False)
        await page.go_back()

        await page.get_by_role("button", name="Re-run").click()
        results = page.locator("#action-results")
        await expect(results).to_contain_text("Re-run: 1 of 1 run done")
        await results.get_by_role("link", name=re.compile(r"^run-")).click()
        await expect(page.get_by_role("link", name=run_id)).to_be_visible()  # "Re-run of"
        rerun = await wait_for_state(api, page.url.rsplit("/", 1)[1])
        assert rerun["rerun_of"] == run_id and rerun["outputs"] == {"greeting": "hello Ada!"}

        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Processes")
            .click()
        )
        await expect(page.get_by_role("row", name=re.compile("greeter"))).to_contain_text(
            "Succeeded"
        )
        await shot(page, screenshots, "processes")
        await assert_labelled(page)
        await page.get_by_role("link", name="greeter").click()
        await expect(page.locator(".recent li")).to_have_count(2)
        await shot(page, screenshots, "process")
    finally:
        await api.delete(f"/v2/schedules/{schedule.json()['id']}")


async def test_write_a_process_and_edit_its_draft_in_the_browser(
    page: Page, api: httpx.AsyncClient, api_key: str, screenshots: Path
) -> None:
    await log_in(page, api_key)
    await page.get_by_role("link", name="New process").click()
    await page.get_by_label("Name").fill("browser-made")
    definition = page.get_by_label("Definition")
    starter = await definition.input_value()
    await definition.fill(starter.replace("uses: set", "uses: sett"))
    await page.get_by_role("button", name="Create process").click()
    await expect(page.get_by_role("alert")).to_contain_text("unknown step type 'sett'")
    await expect(page.get_by_label("Name")).to_have_value("browser-made")  # kept
    await assert_labelled(page)
    await shot(page, screenshots, "process-new-refused")
    await definition.fill(starter)
    await page.get_by_role("button", name="Create process").click()
    await expect(page.get_by_role("status")).to_contain_text("Process created")

    await page.get_by_role("link", name="Edit draft").click()
    edited = (await definition.input_value()).replace("Hello", "Good day")
    await definition.fill(edited)
    await page.get_by_role("button", name="Save draft").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved draft revision 2")
    await expect(page.locator(".definition, pre.code").first).to_contain_text("Good day")
    [process] = [
        p
        for p in (await api.get("/v2/processes", params={"limit": 100})).json()["items"]
        if p["name"] == "browser-made"
    ]
    assert process["draft_revision"] == 2


async def test_no_session_redirects_and_a_post_without_csrf_is_refused(
    page: Page, api_key: str
) -> None:
    await page.goto("/ui")
    await expect(page).to_have_url(re.compile(r"/ui/login$"))
    await log_in(page, api_key)
    refused = await page.request.post("/ui/runs/actions", form={"action": "archive", "run_id": "x"})
    assert refused.status == 403 and "CSRF" in await refused.text()
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/ui/login$"))
    await page.goto("/ui/test-suite")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next="))


async def test_the_pages_fit_a_phone(
    browser: Browser, live_url: str, api: httpx.AsyncClient, api_key: str, worker: object,
    screenshots: Path,
) -> None:  # fmt: skip
    process = await create_process(api, doubler(), name="doubler on the go")
    runs = [await start_run(api, process["id"], inputs={"n": n}, name=f"double {n}")
            for n in (5, 6, -2)]  # fmt: skip
    for run in runs:
        await wait_for_state(api, run["id"])
    context = await browser.new_context(
        base_url=live_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await log_in(page, api_key, f"/ui/processes/{process['id']}/runs")
        await expect(page.locator("#runs-rows tr")).to_have_count(3)
        await expect(page.get_by_role("button", name="Re-run")).to_be_disabled()
        await page.get_by_label("Select run double 5", exact=True).check()
        await expect(page.get_by_role("button", name="Re-run")).to_be_enabled()
        select_all = page.get_by_label("Select all runs on this page")
        await select_all.check()
        await expect(page.locator("#selected-count")).to_have_text("3 selected")
        await select_all.uncheck()
        await expect(page.locator("#selected-count")).to_have_text("0 selected")
        await page.get_by_label("Select run double 5", exact=True).check()
        await shot(page, screenshots, "runs-phone")
        paths = ("/ui", "/ui/runs", f"/ui/processes/{process['id']}", f"/ui/runs/{runs[2]['id']}")
        for path in (*paths, ""):
            if path:
                await page.goto(path)
            widths = await page.evaluate(
                "[document.documentElement.scrollWidth, document.body.scrollWidth, innerWidth]"
            )
            assert max(widths[:2]) <= widths[2], f"{path or 'runs'} scrolls sideways: {widths}"
        await shot(page, screenshots, "run-phone")
    finally:
        await context.close()


async def test_what_failed_last_night_across_processes(
    page: Page, api: httpx.AsyncClient, api_key: str, worker: object, screenshots: Path
) -> None:
    tag = f"nightly{uuid.uuid4().hex[:6]}"  # the session's Temporal holds other tests' runs
    kept = await create_process(api, doubler(), name=f"invoices {tag}")
    gone = await create_process(api, doubler(), name=f"retired {tag}")
    runs = [
        await start_run(api, kept["id"], inputs={"n": -1}, name=f"{tag} invoice"),
        await start_run(api, kept["id"], inputs={"n": 1}, name=f"{tag} fine"),
        await start_run(api, gone["id"], inputs={"n": -2}, name=f"{tag} old"),
    ]
    for run in runs:
        await wait_for_state(api, run["id"])
    assert (await api.delete(f"/v2/processes/{gone['id']}")).status_code == 204
    await log_in(page, api_key)

    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Runs").click()
    await expect(page.get_by_role("heading", name="Runs")).to_be_visible()
    await page.get_by_label("Search").fill(tag)
    await page.get_by_label("State").select_option("Failed")
    await page.get_by_role("button", name="Apply filters").click()
    table = page.locator("#runs-rows tr")
    await expect(table).to_have_count(2)
    invoice = page.get_by_role("row", name=f"{tag} invoice")
    await expect(invoice.get_by_role("link", name=f"invoices {tag}")).to_be_visible()
    await expect(page.get_by_role("row", name=f"{tag} old")).to_contain_text(
        f"{gone['id']} (deleted)"
    )
    await shot(page, screenshots, "every-run")
    await assert_labelled(page)

    await page.get_by_label(f"Select run {tag} old", exact=True).check()
    await page.get_by_role("button", name="Archive", exact=True).click()
    await expect(page.locator("#action-results")).to_contain_text("Archive: 1 of 1 run done")
    await expect(table).to_have_count(1)  # it left the list without a reload
    await invoice.get_by_role("link", name=f"invoices {tag}").click()
    await expect(page.get_by_role("heading", name=f"invoices {tag}")).to_be_visible()
