"""Test helpers: polling instead of sleeping, free ports, factories."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def assert_eventually(
    probe: Callable[[], Awaitable[T]],
    predicate: Callable[[T], bool] = bool,
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    message: str = "",
) -> T:
    """Call ``probe`` until ``predicate`` holds for its result; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await probe()
        if predicate(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {message} (last value: {last!r})")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
