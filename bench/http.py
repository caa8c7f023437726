"""The benchmark's HTTP client: aiohttp, because the load generator shares the machine's two
cores with the system under test and httpx costs about 4× more CPU per request (measured:
1.1 ms vs 0.27 ms) — that would be charged to OpenRuns, while the raw Temporal client costs
about 0.5 ms per start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson


@dataclass
class Response:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:300]}")


class Api:
    """``get``/``post`` against the OpenRuns API with the bench's API key."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self._session = aiohttp.ClientSession(
            base_url=base_url,
            headers={"x-api-key": api_key},
            connector=aiohttp.TCPConnector(limit=200),
            timeout=aiohttp.ClientTimeout(total=120),
        )

    async def _call(self, method: str, path: str, **kwargs: Any) -> Response:
        if "params" in kwargs:
            kwargs["params"] = {k: str(v) for k, v in kwargs["params"].items()}
        async with self._session.request(method, path, **kwargs) as response:
            return Response(response.status, await response.read())

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return await self._call("GET", path, params=params or {})

    async def post(
        self, path: str, json: Any = None, params: dict[str, Any] | None = None
    ) -> Response:
        return await self._call("POST", path, json=json, params=params or {})

    async def close(self) -> None:
        await self._session.close()
