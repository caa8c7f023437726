"""Connecting to Temporal, and telling "Temporal is down" apart from everything else."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from openruns.settings import Settings

UNAVAILABLE_CODES = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
}


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client for the configured namespace, with the pydantic data converter every side uses.

    ``lazy`` defers the connection to the first call, so the API can start (and answer 503)
    while Temporal is still coming up.
    """
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
        lazy=lazy,
    )


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` means Temporal cannot be reached right now."""
    if isinstance(exc, RPCError):
        return exc.status in UNAVAILABLE_CODES
    # A lazy client raises RuntimeError("Failed client connect: ...") when it cannot connect.
    return isinstance(exc, RuntimeError) and "connect" in str(exc).lower()
