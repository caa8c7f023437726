"""In Chromium, against the real stack: select runs and archive them (they leave the list and
come back with the archived filter), add test cases, and run the suite — passing, then failing
with a diff after the draft changes."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.helpers.api import create_process, start_run, wait_for_state
from tests.helpers.browser import assert_labelled, log_in, shot
from tests.ui.definitions import doubler


async def test_select_runs_archive_them_add_test_cases_and_run_the_suite(
    page: Page, api: httpx.AsyncClient, api_key: str, worker: object, screenshots: Path
) -> None:
    process = await create_process(api, doubler(), name="doubler")
    runs = [await start_run(api, process["id"], inputs={"n": n}, name=f"double {n}")
            for n in (1, 2, 3, 4, -1)]  # fmt: skip
    for run in runs:
        await wait_for_state(api, run["id"])
    await log_in(page, api_key, f"/ui/processes/{process['id']}/runs")
    table = page.locator("#runs-rows tr")
    await expect(table).to_have_count(5)
    await expect(page.get_by_role("row", name="double -1")).to_contain_text("Failed")

    for n in (1, 2, 3):
        await page.get_by_label(f"Select run double {n}", exact=True).check()
    await expect(page.locator("#selected-count")).to_have_text("3 selected")
    await shot(page, screenshots, "runs")
    await assert_labelled(page)
    await page.get_by_role("button", name="Archive", exact=True).click()
    results = page.locator("#action-results")
    await expect(results).to_contain_text("Archive: 3 of 3 runs done")
    await expect(table).to_have_count(2)  # they left the list without a reload
    await expect(page.locator("#selected-count")).to_have_text("0 selected")

    await page.get_by_label("Archived").select_option("true")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(table).to_have_count(3)
    for n in (1, 2, 3):
        await expect(page.get_by_role("row", name=f"double {n}")).to_contain_text("Archived")

    await page.get_by_label("Archived").select_option("all")
    await page.get_by_role("button", name="Apply filters").click()
    await expect(table).to_have_count(5)
    for n in (2, 3, -1):
        await page.get_by_label(f"Select run double {n}", exact=True).check()
    await page.get_by_role("button", name="Add Test Case").click()
    await expect(results).to_contain_text("Add Test Case: 2 of 3 runs done")
    await expect(results.locator("li.failed")).to_contain_text(
        "only Succeeded runs can become test cases"
    )
    await expect(results.locator("li.ok")).to_have_count(2)

    await page.get_by_role("link", name="Test Suite").click()
    await expect(page.get_by_role("heading", name="doubler")).to_be_visible()
    await expect(page.locator("table.cases tbody tr")).to_have_count(2)
    await page.get_by_role("button", name="Run test suite").click()
    report = page.locator("#test-run")
    badge = report.locator(".state-line .badge")
    await expect(badge).to_have_text("✓ Completed — 2 passed", timeout=20_000)
    await expect(badge).to_have_class("badge state-completed")
    await expect(report.locator(".totals .passed")).to_have_text("2 passed")

    edited = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": doubler(3)})
    assert edited.status_code == 200, edited.text
    await page.get_by_role("button", name="Run test suite").click()
    # The outcome at a glance: no success mark on a test run whose cases failed.
    await expect(badge).to_have_text("✕ Completed — 2 failed", timeout=20_000)
    await expect(badge).to_have_class("badge state-failed")
    await expect(report.locator(".totals .failed")).to_have_text("2 failed")
    diffs = report.locator("table.diff tbody tr")
    await expect(diffs).to_have_count(2)
    found = sorted(text.split() for text in await diffs.all_inner_texts())
    assert found == [["double", "4", "6"], ["double", "6", "9"]]  # output, expected, actual
    await shot(page, screenshots, "test-suite")
    await assert_labelled(page)
