"""Request bodies are JSON as RFC 8259 defines it: no ``NaN`` or ``Infinity``, no number a
64-bit float cannot hold.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``-Infinity`` and turns ``1e400``
into infinity. None of them survives a round trip: the API answers them as ``null``, and
PostgreSQL's ``jsonb`` refuses them. So a body that holds one is refused with a 422 saying
which, rather than stored as something else.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException


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


class JsonRoute(APIRoute):
    """An API route whose JSON body is parsed by ``loads``: FastAPI passes an
    ``HTTPException`` raised while reading the body on as it is."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_json(request: Request) -> Response:
            return await handler(JsonRequest(request.scope, request.receive))

        return strict_json
