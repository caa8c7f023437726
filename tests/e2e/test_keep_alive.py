"""``openruns api`` keeps an idle connection open longer than clients keep theirs.

httpx (and many HTTP clients) drop an idle pooled connection after 5 s — uvicorn's own default
keep-alive. With both at 5 s, a request sent on a connection the server is closing at that same
moment fails with a read error instead of an answer; a fault test hit exactly that in CI. The
API now holds idle connections for OPENRUNS_API_KEEP_ALIVE_SECONDS (75 s), so the client always
closes first."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers.replicas import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

IDLE = 6.0  # longer than httpx's pool expiry and uvicorn's default keep-alive (5 s)


async def _health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    writer.write(b"GET /v2/health HTTP/1.1\r\nHost: openruns\r\n\r\n")
    await writer.drain()
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    except asyncio.IncompleteReadError as exc:
        raise AssertionError(f"the API closed the connection instead of answering: {exc}") from exc
    status_line, *headers = head.decode("latin-1").split("\r\n")
    length = next(
        int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")
    )
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def test_an_idle_connection_outlives_the_clients_expiry(stack: Stack) -> None:
    port = stack.replicas.apis[0].port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await _health(reader, writer) == 200
        await asyncio.sleep(IDLE)
        assert await _health(reader, writer) == 200  # the same connection, still open
    finally:
        writer.close()
        await writer.wait_closed()
