"""Making a deployment ready: schema migrations, the file bucket (when configured), search
attributes, the configured API key."""

from __future__ import annotations

import asyncio
import logging

from temporalio.client import Client

from openruns.errors import Conflict, Unavailable
from openruns.search_attributes import register_search_attributes
from openruns.settings import Settings
from openruns.store import Database
from openruns.store.apikeys import RevokedKey, create_key
from openruns.store.blobs import BlobStore
from openruns.store.migrate import migrate
from openruns.temporal import is_unavailable

log = logging.getLogger(__name__)


async def ensure_ready(
    settings: Settings, database: Database, client: Client, *, strict: bool = True
) -> None:
    """Idempotent set-up. With ``strict=False`` an unreachable Temporal (or a revoked
    OPENRUNS_API_KEY) is logged, not raised."""
    await migrate(database)
    if settings.api_key is not None:
        async with database.session() as session:
            try:
                await create_key(session, "OPENRUNS_API_KEY", settings.api_key.get_secret_value())
            except RevokedKey as exc:
                message = (
                    f"OPENRUNS_API_KEY was revoked (API key {exc.key_id}) and is refused;"
                    " choose another key"
                )
                if strict:
                    raise Conflict(message) from None
                log.warning("%s", message)
    if settings.s3_bucket:  # a wrong bucket or credentials: say so now, not at the first upload
        try:
            await asyncio.to_thread(BlobStore.from_settings(settings).check)
        except Unavailable as exc:
            if strict:
                raise
            log.warning("%s", exc.message)
    try:
        await register_search_attributes(client, settings.namespace)
    except Exception as exc:
        if strict or not is_unavailable(exc):
            raise
        log.warning("Temporal is not reachable yet; search attributes not checked: %s", exc)
