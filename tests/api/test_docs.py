"""The documentation pages, /docs (Swagger UI) and /redoc (ReDoc), work without internet
access: every script, style and icon they load comes from the API itself, and Chromium
that may reach nothing else renders them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Request, Route, async_playwright, expect

from api import create_app
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.servers import serve
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, SKIP_BROWSER

_ASSET = re.compile(r'(?:src|href)="([^"]*)"')
_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_pages_load_only_what_the_api_serves(
    api: httpx.AsyncClient, page: str
) -> None:
    html = await api.get(page, headers={"x-api-key": ""})  # public, like a browser opens it
    assert html.status_code == 200, html.text
    assets = _ASSET.findall(html.text)
    assert len(assets) >= 2, html.text  # the script and the icon (and Swagger UI's styles)
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), url
        served = await api.get(url, headers={"x-api-key": ""})
        assert served.status_code == 200, url
        assert _TYPES[Path(url).suffix] in served.headers["content-type"], url
        assert len(served.content) > 1000, url
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text


@pytest.fixture
def live_url(settings: Settings, database: Database) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield url


@pytest.mark.skipif(SKIP_BROWSER, reason="OPENRUNS_SKIP_BROWSER_TESTS=1")
async def test_the_docs_pages_render_offline_in_a_browser(live_url: str) -> None:
    elsewhere: list[str] = []
    console: list[str] = []

    async def same_origin_only(route: Route, request: Request) -> None:
        if request.url.startswith(live_url + "/"):
            await route.continue_()
        else:  # this machine is offline anyway; a user's may not be
            elsewhere.append(request.url)
            await route.abort()

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await chromium.new_context(base_url=live_url)
            context.set_default_timeout(20_000)
            await context.route("**/*", same_origin_only)
            page = await context.new_page()
            page.on("console", lambda message: console.append(message.text))

            await page.goto("/docs")
            await expect(page.get_by_role("heading", name=re.compile("^OpenRuns"))).to_be_visible()
            await expect(page.locator(".opblock").first).to_be_visible()
            await expect(page.get_by_text("Unable to render this definition")).to_have_count(0)

            await page.goto("/redoc")
            await expect(page.get_by_role("heading", name=re.compile("^OpenRuns"))).to_be_visible()
            await expect(page.get_by_text("Start a run").first).to_be_attached()
        finally:
            await chromium.close()
    assert elsewhere == []
    # ReDoc's "API docs by Redocly" logo comes from Redocly's CDN: left out, nothing else is
    refused = [text for text in console if "Content Security Policy" in text]
    assert [text for text in refused if "cdn.redoc.ly/redoc/logo-mini.svg" not in text] == []
