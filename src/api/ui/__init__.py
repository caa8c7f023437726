"""The web UI at ``/ui``: server-rendered pages over the same domain services the REST API
uses (``openruns.services``), with a little vanilla JavaScript for live updates.

It lives in the ``api`` package because it is another face of the API process: it shares the
app's Temporal client, database and settings (``app.state``) and its error mapping — the
JSON errors of ``api.errors`` are shown as HTML pages under ``/ui``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.ui import auth, editor, processes, run_form, runs, test_suite
from api.ui.render import STATIC, page

PREFIX = "/ui"
TITLES = {401: "Not logged in", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _login_redirect(request: Request, _: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or request.headers.get("x-ui-fetch"):
        target = "/ui"
    login = "/ui/login" + (f"?{urlencode({'next': target})}" if target != "/ui" else "")
    return RedirectResponse(login, status_code=303)


def _as_html(handler: Handler) -> Handler:
    """The app's handler, whose JSON error becomes an error page for requests under /ui."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        assert isinstance(response, Response)
        if not request.url.path.startswith(PREFIX) or not isinstance(response, JSONResponse):
            return response
        body: dict[str, Any] = orjson.loads(bytes(response.body))
        status = response.status_code
        return page(
            request,
            "error.html",
            None,
            status,
            code=status,
            title=TITLES.get(status, "Unavailable" if status == 503 else "Something went wrong"),
            message=body.get("message") or "error",
            details=body.get("details") or [],
        )

    return handle


def mount_ui(app: FastAPI) -> None:
    """Add the UI's routes and static files, and show errors under /ui as pages."""
    routers = (auth, editor, processes, run_form, runs, test_suite)  # /processes/new first
    for router in (module.router for module in routers):
        app.include_router(router)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """A browser opening the API's address lands on the web UI, not a JSON 404."""
        return RedirectResponse(PREFIX, status_code=303)

    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="ui-static")
    for key, handler in list(app.exception_handlers.items()):
        app.exception_handlers[key] = _as_html(handler)
    app.add_exception_handler(auth.LoginRequired, _login_redirect)
