"""Identifiers: time-ordered random ids (ULID-style) and deterministic ids for deduplication."""

from __future__ import annotations

import hashlib
import os
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A unique id that sorts by creation time: ``<prefix>-<10 time chars><16 random chars>``."""
    millis = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}-{_b32(millis, 10)}{_b32(rand, 16)}"


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id derived from ``parts`` (128 bits of SHA-256), for deduplication."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return f"{prefix}-{_b32(int.from_bytes(digest[:16], 'big'), 26)}"


def random_token(bits: int = 80) -> str:
    """An unguessable lower-case token carrying at least ``bits`` random bits."""
    length = -(-bits // 5)
    return _b32(int.from_bytes(os.urandom(-(-length * 5 // 8)), "big"), length)
