"""A real gateway on a free port, in the test's event loop, wired to the test's store and
Temporal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from email_gateway.server import Gateway
from openruns.settings import Settings
from openruns.store import Database


@pytest.fixture
async def gateway(settings: Settings, database: Database, client: Client) -> AsyncIterator[Gateway]:
    async with Gateway(settings, database, client, host="127.0.0.1", port=0) as running:
        yield running
