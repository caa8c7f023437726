"""Driving the web UI in Chromium like a person: log in, take screenshots."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, expect


async def log_in(page: Page, api_key: str, path: str = "/ui") -> None:
    """Open ``path``, get sent to the login page, log in, and land back on ``path``."""
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/ui/login"))
    await page.get_by_label("API key").fill(api_key)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()


async def shot(page: Page, folder: Path, name: str, *, full_page: bool = True) -> None:
    """A screenshot for people to look at: ``test-artifacts/screenshots/<name>.png``."""
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)


_UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter((el) => !(el.labels?.length || el.getAttribute('aria-label')
    || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
  .map((el) => el.outerHTML.slice(0, 160))"""


async def assert_labelled(page: Page) -> None:
    """Every control on the page has an accessible name (a label, aria-label, or its text)."""
    assert await page.evaluate(_UNLABELLED) == []
