"""Fixtures for the API tests (the session's dev server and per-test stack are in
tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from openruns.settings import Settings
from tests.helpers.schedules import delete_schedules_on


@pytest.fixture
async def delete_schedules(client: Client, settings: Settings) -> AsyncIterator[None]:
    """After the test, delete the schedules it made (they outlive its task queue otherwise);
    ``pytestmark = pytest.mark.usefixtures("delete_schedules")`` in a module that makes some."""
    yield
    await delete_schedules_on(client, settings.task_queue)
