"""Signed web UI cookies: the session (which API key logged in, its CSRF token, expiry) and
the login form's CSRF token, both HMAC-SHA256-signed with a server secret.

The secret is ``OPENRUNS_SESSION_SECRET``, or else a random one kept in
``<data_dir>/session-secret``: created once (write to a temporary file, then ``link`` it into
place, so concurrent processes all end up reading the same complete key) and shared by every
process and restart that uses the data dir.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import orjson

from openruns.settings import Settings

SECRET_FILE = "session-secret"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def stored_secret(data_dir: Path) -> bytes:
    """The data dir's session secret, created on first use (race-free across processes)."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        temporary = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(48) + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # fails if another process got there first: use theirs
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return path.read_text().strip().encode()


def session_secret(settings: Settings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    return stored_secret(settings.data_dir)


class Signer:
    """Signs small JSON payloads with an expiry; ``kind`` keeps one cookie from passing as
    another."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"openruns-ui-cookie\x00" + secret).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, kind: str, payload: dict[str, Any], max_age: float) -> str:
        body = _b64(orjson.dumps({**payload, "typ": kind, "exp": int(time.time() + max_age)}))
        return f"{body}.{self._mac(body)}"

    def loads(self, kind: str, token: str | None) -> dict[str, Any] | None:
        """The payload of a valid, unexpired token of ``kind``; None for anything else."""
        if not token or token.count(".") != 1:
            return None
        body, mac = token.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = orjson.loads(_unb64(body))
        except (ValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(payload, dict) or payload.get("typ") != kind:
            return None
        if not isinstance(payload.get("exp"), int) or payload["exp"] < time.time():
            return None
        return payload


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)
