"""ASGI middleware: a size limit on request bodies, and one structured log line per request.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so the body is never buffered twice and the
route runs in the same task as the log line, which can then carry the run id it annotated.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("openruns.api.requests")
_fields: ContextVar[dict[str, Any] | None] = ContextVar("openruns_request_fields", default=None)


def annotate(**fields: Any) -> None:
    """Add fields (e.g. ``run_id``) to the current request's log line."""
    current = _fields.get()
    if current is not None:
        current.update(fields)


class _TooLarge(HTTPException):
    """Raised from ``receive``: an HTTPException, so FastAPI's body parsing passes it on as is
    (it turns any other exception while reading the body into a 400)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


async def _send_error(send: Send, status: int, message: str) -> None:
    body = orjson.dumps({"message": message, "details": []})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over ``limit`` bytes: by its Content-Length, or as it streams in.

    Paths starting with one of ``uploads`` (file uploads) get ``upload_limit`` instead.
    """

    def __init__(
        self, app: ASGIApp, limit: int, upload_limit: int = 0, uploads: tuple[str, ...] = ()
    ) -> None:
        self.app, self.limit = app, limit
        self.upload_limit, self.uploads = max(upload_limit, limit), uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"].startswith(self.uploads):
            limit, setting = self.upload_limit, "OPENRUNS_MAX_FILE_BYTES"
        else:
            limit, setting = self.limit, "OPENRUNS_MAX_REQUEST_BYTES"
        message = f"the request body is larger than {limit} bytes ({setting})"
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await _send_error(send, 413, message)
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            incoming = await receive()
            received += len(incoming.get("body", b""))
            if received > limit:
                raise _TooLarge(message)
            return incoming

        async def tracking_send(outgoing: Message) -> None:
            nonlocal started
            started = started or outgoing["type"] == "http.response.start"
            await send(outgoing)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, message)


class RequestLog:
    """Logs method, path, status, duration and the run id (when there is one) per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        fields: dict[str, Any] = {}
        token = _fields.set(fields)
        started, status = time.perf_counter(), 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            _fields.reset(token)
            run_id = fields.get("run_id") or (scope.get("path_params") or {}).get("run_id")
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "run_id": run_id,
                },
            )
