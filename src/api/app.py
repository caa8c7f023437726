"""``create_app(settings)``: the FastAPI application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.deps import VerifiedKeys, single_query_values
from api.docs import mount_docs
from api.errors import install_exception_handlers
from api.middleware import BodyLimit, RequestLog
from api.openapi import ERROR_RESPONSES, document_errors
from api.routes import (
    email_triggers,
    files,
    health,
    processes,
    run_actions,
    runs,
    schedules,
    step_types,
    test_suite,
)
from api.routes.files import MULTIPART_OVERHEAD
from api.ui import mount_ui
from openruns import __version__
from openruns.plugins import load_plugins
from openruns.settings import Settings
from openruns.setup import ensure_ready
from openruns.store import Database
from openruns.temporal import connect

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API; the lifespan connects Temporal and the database onto ``app.state``."""
    settings = settings or Settings()
    load_plugins(settings.plugins)  # definitions using plugin steps validate against their args

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.from_settings(settings)
        # Lazy: the API starts (and answers 503) even while Temporal is still coming up.
        client = await connect(settings, lazy=True)
        if settings.auto_setup:
            await ensure_ready(settings, database, client, strict=False)
        app.state.settings, app.state.database, app.state.temporal = settings, database, client
        app.state.verified_keys = VerifiedKeys(settings.api_key_cache_seconds)
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(
        title="OpenRuns",
        version=__version__,
        description="Runs of business automations on Temporal. Every run is a Temporal "
        "workflow whose workflow ID is the run ID.",
        lifespan=lifespan,
        dependencies=[Depends(single_query_values)],
        docs_url=None,  # mount_docs serves /docs and /redoc without a CDN
        redoc_url=None,
    )
    mount_docs(app)
    install_exception_handlers(app)
    app.add_middleware(
        BodyLimit,
        limit=settings.max_request_bytes,
        # Uploads (the API's and the web UI's forms) check the file size limit themselves.
        upload_limit=settings.max_file_bytes + MULTIPART_OVERHEAD,
        uploads=("/v2/files", "/ui/"),
    )
    app.add_middleware(RequestLog)  # outermost of the two: it sees the 413s too
    app.include_router(health.router, prefix="/v2")
    for module in (
        processes,
        run_actions,
        runs,
        schedules,
        files,
        email_triggers,
        step_types,
        test_suite,
    ):
        document_errors(module.router)
        app.include_router(module.router, prefix="/v2", responses=ERROR_RESPONSES)
    mount_ui(app)  # the web UI at /ui (after the error handlers it renders as pages)
    return app
