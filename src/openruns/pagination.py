"""Opaque continuation tokens and page limits shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

import orjson

from openruns.errors import InvalidInput, error_detail

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(state)).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The state inside ``token``; a token that was not ours is a 422."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        state = None
    if not isinstance(state, dict):
        raise InvalidInput(
            "invalid continuation_token",
            [error_detail(("continuation_token",), "not a token this API issued")],
        )
    return state


def encode_keyset(created_at: datetime, item_id: str) -> str:
    """A token for lists ordered by (created_at, id): the last item already seen."""
    return encode_token({"c": created_at.isoformat(), "i": item_id})


def decode_keyset(token: str) -> tuple[datetime, str]:
    """The (created_at, id) inside a token of ``encode_keyset``; any other token is a 422."""
    state = decode_token(token)
    try:
        return datetime.fromisoformat(state["c"]), str(state["i"])
    except (KeyError, TypeError, ValueError):  # a token of another list, or tampered with
        raise InvalidInput(
            "invalid continuation_token",
            [error_detail(("continuation_token",), "not a token of this list")],
        ) from None
