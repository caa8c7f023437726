"""The web UI in Chromium against the real stack (uvicorn, the Temporal dev server, a worker),
used the way a person would: log in, run a process from its form and watch the run finish,
select runs and act on them, add a test case and run the suite, on a laptop and a phone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers.api import create_process, start_run, wait_for_state

GREETER = {
    "description": "Greets someone, taking its time.",
    "inputs": {
        "who": {"type": "string", "required": True, "description": "Who to greet."},
        "excited": {"type": "boolean", "default": False},
        "tone": {"type": "string", "enum": ["warm", "formal"], "default": "warm"},
    },
    "steps": [
        {"id": "think", "uses": "sleep", "with": {"seconds": 2}},
        {"id": "greet", "uses": "set",
         "with": {"text": "hello {{ inputs.who }}{{ '!' if inputs.excited else '' }}"}},
    ],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}  # fmt: skip
DOUBLER = {
    "inputs": {"n": {"type": "number", "required": True}},
    "steps": [
        {"id": "guard", "uses": "fail", "if": "{{ inputs.n < 0 }}",
         "with": {"message": "negative numbers are not allowed"}},
        {"id": "calc", "uses": "set", "with": {"double": "{{ inputs.n * 2 }}"}},
    ],
    "outputs": {"double": "{{ steps.calc.double }}"},
}  # fmt: skip


@pytest.fixture
async def page(browser: Browser, live_url: str) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=live_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def log_in(page: Page, api_key: str, path: str = "/ui") -> None:
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/ui/login"))
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


async def test_run_from_the_form_and_watch_it_finish_live(
    page: Page, api: httpx.AsyncClient, api_key: str, worker: object, screenshots: Path
) -> None:
    process = await create_process(api, GREETER, name="greeter", publish=True)
    await page.goto("/ui/test-suite")
    await expect(page).to_have_url(re.compile(r"/ui/login\?next=%2Fui%2Ftest-suite$"))
    await shot(page, screenshots, "login")
    await log_in(page, api_key)

    await expect(page.get_by_role("link", name="greeter")).to_be_visible()
    await page.get_by_role("link", name="greeter").click()
    await expect(page.get_by_role("heading", name="greeter")).to_be_visible()
    address = page.get_by_label("Email address of this process")
    await expect(address).to_have_value(process["email_address"])
    await shot(page, screenshots, "process")

    await page.get_by_role("link", name="Run Draft").click()
    dialog = page.get_by_role("dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("tone")).to_have_value('"warm"')
    await dialog.get_by_label("who").fill("Ada")
    await dialog.get_by_label("excited").select_option("true")
    await shot(page, screenshots, "run-form")
    await dialog.get_by_role("button", name="Start run").click()

    await expect(page).to_have_url(re.compile(r"/ui/runs/run-"))
    await page.evaluate("window.__sameDocument = true")
    state = page.locator(".run-state")
    assert await state.get_attribute("data-state") in ("Pending", "Running")
    await shot(page, screenshots, "run-running")
    await expect(state).to_have_text("✓ Succeeded", timeout=20_000)
    assert await page.evaluate("window.__sameDocument") is True  # no reload happened
    await expect(page.locator(".outputs")).to_contain_text('"greeting": "hello Ada!"')
    await expect(page.locator(".timeline .step")).to_have_count(2)
    temporal = page.get_by_role("link", name="Open in Temporal UI")
    run_id = page.url.rsplit("/", 1)[1]
    assert (await temporal.get_attribute("href")).endswith(f"/workflows/{run_id}")
    await shot(page, screenshots, "run")


async def test_select_runs_archive_them_and_run_the_test_suite(
    page: Page, api: httpx.AsyncClient, api_key: str, worker: object, screenshots: Path
) -> None:
    process = await create_process(api, DOUBLER, name="doubler")
    runs = [await start_run(api, process["id"], inputs={"n": n}, name=f"double {n}")
            for n in (1, 2, 3, 4, -1)]  # fmt: skip
    for run in runs:
        await wait_for_state(api, run["id"])
    await log_in(page, api_key, f"/ui/processes/{process['id']}/runs")
    rows = page.locator("#runs-rows tr")
    await expect(rows).to_have_count(5)
    await expect(page.get_by_role("row", name="double -1")).to_contain_text("Failed")

    for n in (1, 2, 3):
        await page.get_by_label(f"Select run double {n}", exact=True).check()
    await expect(page.locator("#selected-count")).to_have_text("3 selected")
    await shot(page, screenshots, "runs")
    await page.get_by_role("button", name="Archive", exact=True).click()
    results = page.locator("#action-results")
    await expect(results).to_contain_text("Archive: 3 of 3 runs done")
    await expect(rows).to_have_count(2)  # they left the list without a reload
    await expect(page.get_by_role("row", name="double 1")).to_have_count(0)

    await page.get_by_label("Archived").select_option("true")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(rows).to_have_count(3)
    for n in (1, 2, 3):
        await expect(page.get_by_role("row", name=f"double {n}")).to_contain_text("Archived")

    await page.get_by_label("Select run double 2", exact=True).check()
    await page.get_by_role("button", name="Add Test Case").click()
    await expect(results).to_contain_text("Add Test Case: 1 of 1 run done")
    await expect(results).to_contain_text("test case added")

    await page.get_by_role("link", name="Test Suite").click()
    await expect(page.get_by_role("heading", name="doubler")).to_be_visible()
    await page.get_by_role("button", name="Run test suite").click()
    report = page.locator("#test-run")
    await expect(report.locator(".badge").first).to_have_text("✓ Completed", timeout=20_000)
    await expect(report.locator(".totals .passed")).to_have_text("1 passed")
    await expect(report.locator(".result")).to_contain_text("passed")
    await shot(page, screenshots, "test-suite")


async def test_no_session_redirects_and_a_post_without_csrf_is_refused(
    page: Page, api_key: str
) -> None:
    await page.goto("/ui")
    await expect(page).to_have_url(re.compile(r"/ui/login$"))
    await log_in(page, api_key)
    refused = await page.request.post("/ui/runs/actions", form={"action": "archive", "run_id": "x"})
    assert refused.status == 403 and "CSRF" in await refused.text()


async def test_the_runs_page_fits_a_phone(
    browser: Browser, live_url: str, api: httpx.AsyncClient, api_key: str, worker: object,
    screenshots: Path,
) -> None:  # fmt: skip
    process = await create_process(api, DOUBLER, name="doubler on the go")
    for n in (5, 6, -2):
        run = await start_run(api, process["id"], inputs={"n": n}, name=f"double {n}")
        await wait_for_state(api, run["id"])
    context = await browser.new_context(
        base_url=live_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        page = await context.new_page()
        await log_in(page, api_key, f"/ui/processes/{process['id']}/runs")
        await expect(page.locator("#runs-rows tr")).to_have_count(3)
        await page.get_by_label("Select run double 5", exact=True).check()
        await expect(page.get_by_role("button", name="Re-run")).to_be_enabled()
        widths = await page.evaluate(
            "[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"
        )
        assert max(widths[:2]) <= widths[2], f"the page scrolls sideways: {widths}"
        await shot(page, screenshots, "runs-phone")
    finally:
        await context.close()
