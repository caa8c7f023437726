"""Request bodies are JSON, sent as JSON, as RFC 8259 defines it: no ``NaN`` or ``Infinity``,
no number a 64-bit float cannot hold.

A body sent with another content type (``text/plain``, a form, or none at all) is a 415 that
says to send it as ``application/json`` (or a ``+json`` type). FastAPI would not read it as
JSON either, and validated the raw bytes instead: a 422 "Input should be a valid dictionary"
at ``body`` that does not say what is wrong. A request without a content type is refused too,
rather than guessed to be JSON. File uploads (``POST /v2/files``) read their own multipart
body, and the web UI's forms are routes of their own: neither is a JSON route.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``-Infinity`` and turns ``1e400``
into infinity. None of them survives a round trip: the API answers them as ``null``, and
PostgreSQL's ``jsonb`` refuses them. So a body that holds one is refused with a 422 saying
which, rather than stored as something else.
"""

from __future__ import annotations

import email.message
import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from openruns.errors import OpenRunsError, error_detail


def _no_constant(name: str) -> Any:
    raise HTTPException(422, f"the body is not valid JSON: {name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise HTTPException(422, f"the number {text[:40]} is out of range (largest: about 1.8e308)")
    return value


def loads(body: bytes | str) -> Any:
    """``json.loads`` that refuses what is not JSON (422, raised as an ``HTTPException``), and
    what nests deeper than the parser goes (Python's recursion limit, about 1,000 levels)."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise HTTPException(422, "the body nests too deeply (about 1,000 levels)") from None


class JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class NotJson(OpenRunsError):
    status_code = 415

    def __init__(self, content_type: str | None) -> None:
        got = f"{content_type[:100]!r}, not JSON" if content_type else "missing"
        super().__init__(
            "send the body as JSON (content-type: application/json)",
            [error_detail(("header", "content-type"), got)],
        )


def is_json(content_type: str | None) -> bool:
    """``application/json`` or ``application/…+json``, parameters aside (FastAPI's test)."""
    if not content_type:
        return False
    if content_type == "application/json":  # what nearly every client sends: no parse
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class JsonRoute(APIRoute):
    """An API route whose JSON body is parsed by ``loads``: FastAPI passes an
    ``HTTPException`` raised while reading the body on as it is. A body sent as anything but
    JSON is a 415."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_json = self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )

        async def strict_json(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            content_type = request.headers.get("content-type")
            if takes_json and not is_json(content_type):
                if await request.body():  # (read once: the handler gets it from the request)
                    raise NotJson(content_type)
            return await handler(request)

        return strict_json
