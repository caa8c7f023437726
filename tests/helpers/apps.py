"""The API app in-process (httpx over ASGI, lifespan included) for settings a test builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from api import create_app
from openruns.settings import Settings


@asynccontextmanager
async def api_client(
    settings: Settings, key: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh app; authenticated with ``key`` (default: the settings' API key)."""
    app = create_app(settings)
    if key is None and settings.api_key is not None:
        key = settings.api_key.get_secret_value()
    headers = {"x-api-key": key} if key else {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://openruns.test", headers=headers
        ) as http:
            yield http
