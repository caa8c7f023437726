"""Opaque continuation tokens and page limits shared by every list endpoint."""

from __future__ import annotations

import base64
import binascii
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
