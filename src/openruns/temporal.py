"""Connecting to Temporal (plain, mTLS or Temporal Cloud), and telling "Temporal is down" apart
from everything else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import SecretStr
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from openruns.settings import ConfigError, Settings

UNAVAILABLE_CODES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


def _pem(value: str | SecretStr | None, variable: str) -> bytes | None:
    """PEM given inline (``-----BEGIN ...``) or as a path to a file holding it."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if value is None:
        return None
    if value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    try:
        return Path(value).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"{variable}: cannot read {value!r}: {exc.strerror}") from None


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS to use: a ``TLSConfig`` built from ``OPENRUNS_TEMPORAL_TLS_*``, or on/off."""
    tls_parts = (
        settings.temporal_tls_cert,
        settings.temporal_tls_key,
        settings.temporal_tls_ca,
        settings.temporal_tls_server_name,
    )
    wanted = settings.temporal_tls
    if wanted is None:
        wanted = any(part is not None for part in tls_parts) or bool(settings.temporal_api_key)
    if not wanted:
        return False
    if all(part is None for part in tls_parts):
        return True  # system roots, no client certificate: Temporal Cloud with an API key
    return TLSConfig(
        server_root_ca_cert=_pem(settings.temporal_tls_ca, "OPENRUNS_TEMPORAL_TLS_CA"),
        domain=settings.temporal_tls_server_name,
        client_cert=_pem(settings.temporal_tls_cert, "OPENRUNS_TEMPORAL_TLS_CERT"),
        client_private_key=_pem(settings.temporal_tls_key, "OPENRUNS_TEMPORAL_TLS_KEY"),
    )


def connect_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``Client.connect`` for these settings (every component uses them)."""
    api_key = settings.temporal_api_key
    return {
        "target_host": settings.temporal_target,
        "namespace": settings.namespace,
        "tls": tls_config(settings),
        "api_key": api_key.get_secret_value() if api_key else None,
        "data_converter": pydantic_data_converter,
    }


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client for the configured namespace, with the pydantic data converter every side uses.

    ``lazy`` defers the connection to the first call, so the API can start (and answer 503)
    while Temporal is still coming up.
    """
    return await Client.connect(**connect_options(settings), lazy=lazy)


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means Temporal cannot be reached right now."""
    if isinstance(exc, RPCError):
        return exc.status in UNAVAILABLE_CODES
    # A lazy client raises RuntimeError("Failed client connect: ...") when it cannot connect.
    return isinstance(exc, RuntimeError) and "connect" in str(exc).lower()
