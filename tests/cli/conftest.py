"""The API served over real HTTP (uvicorn in a thread) for the CLI to call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api import create_app
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.servers import serve


@pytest.fixture
def api_url(settings: Settings, database: Database) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield url
