"""Web UI fixtures: the app over ASGI without an API key (a browser has none), and for the
browser tests the real stack — uvicorn on a free port, the dev server, a worker — driven by
Debian's Chromium through Playwright, one browser for the whole session."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from api import create_app
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.servers import serve

CHROMIUM = os.environ.get("OPENRUNS_TEST_CHROMIUM", "/usr/bin/chromium")
SKIP_BROWSER = os.environ.get("OPENRUNS_SKIP_BROWSER_TESTS") == "1"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the machine is offline: no update or sync traffic
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
async def ui_http(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI, as a browser without a session would call it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://openruns.test") as http:
            yield http


@pytest.fixture
def api_key(settings: Settings) -> str:
    assert settings.api_key is not None
    return settings.api_key.get_secret_value()


@pytest.fixture
def live_url(settings: Settings, database: Database) -> Iterator[str]:
    """The API and UI served by uvicorn on a free port."""
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, shared by every browser test; missing Chromium fails loudly."""
    if SKIP_BROWSER:
        pytest.skip("OPENRUNS_SKIP_BROWSER_TESTS=1")
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set "
            "OPENRUNS_TEST_CHROMIUM, or OPENRUNS_SKIP_BROWSER_TESTS=1 to skip these tests)"
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Browser, live_url: str) -> AsyncIterator[Page]:
    """A fresh browser context (no cookies) on a laptop-sized screen."""
    context = await browser.new_context(base_url=live_url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
