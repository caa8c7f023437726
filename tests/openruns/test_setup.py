"""``ensure_ready`` with an OPENRUNS_API_KEY that was revoked: ``openruns setup`` (strict)
refuses it; a component's own set-up at start-up says so and starts."""

from __future__ import annotations

import logging

import pytest
from temporalio.client import Client

from openruns.errors import Conflict
from openruns.settings import Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.store.apikeys import create_key, revoke_key


async def test_a_revoked_configured_key_is_refused_or_logged(
    settings: Settings, database: Database, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    assert settings.api_key is not None
    async with database.session() as session:
        row, _ = await create_key(session, "OPENRUNS_API_KEY", settings.api_key.get_secret_value())
        await revoke_key(session, row.id)
    with pytest.raises(Conflict, match=f"OPENRUNS_API_KEY was revoked \\(API key {row.id}\\)"):
        await ensure_ready(settings, database, client)
    with caplog.at_level(logging.WARNING, logger="openruns.setup"):
        await ensure_ready(settings, database, client, strict=False)
    assert f"OPENRUNS_API_KEY was revoked (API key {row.id})" in caplog.text
