"""One stack of real processes shared by the fault tests (each test uses its own process and
restarts whatever a previous test killed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers.http_server import LocalHttpServer
from tests.helpers.stack import ProcessStack


@pytest.fixture(scope="package")
def receiver() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        yield server


@pytest.fixture(scope="package")
async def process_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProcessStack]:
    workdir: Path = tmp_path_factory.mktemp("stack")
    stack = ProcessStack(workdir, api_key=f"ork_faults_{uuid.uuid4().hex}")
    try:
        await stack.start()
        yield stack
    finally:
        stack.stop()
        # No secret in any component's output, whatever happened above.
        for name in ("api", "worker", "smtp"):
            assert stack.api_key not in stack.logs(name), f"the API key leaked into {name}.log"


@pytest.fixture
async def stack(process_stack: ProcessStack) -> ProcessStack:
    await process_stack.start()  # bring back what the previous test killed
    return process_stack
