"""The worker side of ``openruns.secrets``: an activity interceptor that gives a step's
activity its arguments with the run's secret placeholders replaced by the values in the
worker's environment, and takes the values back out of what the step returns, raises or
heartbeats, so Temporal's history holds placeholders only.

For a run whose definition names secrets, every step's output and error is cleaned of all of
them (a step can get back a value an earlier step sent), and every placeholder in an output is
made inert (``⟦secret:NAME⟧``), so a response cannot carry one into a later step.
"""

from __future__ import annotations

import dataclasses
import os
from contextvars import ContextVar
from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ActivityOutboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from openruns import secrets
from openruns.models import StepActivityInput

# The secrets (name → value) of the step running in this context, for its heartbeats.
_IN_SCOPE: ContextVar[dict[str, str] | None] = ContextVar("secrets_in_scope", default=None)


class SecretsInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _WithSecrets(next)


def _clean(value: Any, in_scope: dict[str, str], *, error: bool = False) -> Any:
    return secrets.deactivate(secrets.redact(value, in_scope, cut_off=error))


class _WithSecrets(ActivityInboundInterceptor):
    def init(self, outbound: ActivityOutboundInterceptor) -> None:
        super().init(_Heartbeats(outbound))

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        [call] = input.args if len(input.args) == 1 else [None]
        if not isinstance(call, StepActivityInput) or not call.secret_nonce:
            return await super().execute_activity(input)
        names = set(call.secret_names)
        try:
            args, _ = secrets.substitute(call.args, call.secret_nonce, names, os.environ.get)
        except (secrets.SecretNotSet, secrets.SecretNotNamed) as exc:
            kind = type(exc).__name__
            raise ApplicationError(str(exc), type=kind, non_retryable=True) from None
        in_scope = {
            name: value
            for name in names
            if (value := os.environ.get(secrets.ENV_PREFIX + name)) is not None
        }
        given = dataclasses.replace(input, args=[call.model_copy(update={"args": args})])
        token = _IN_SCOPE.set(in_scope)
        try:
            result = await super().execute_activity(given)
        except ApplicationError as exc:
            raise _cleaned(exc, in_scope) from None
        except Exception as exc:  # its message, without the cause chain that might quote one
            message = _clean(str(exc), in_scope, error=True)
            raise ApplicationError(message, type=type(exc).__name__) from None
        finally:
            _IN_SCOPE.reset(token)
        return _clean(result, in_scope)


class _Heartbeats(ActivityOutboundInterceptor):
    def heartbeat(self, *details: Any) -> None:
        in_scope = _IN_SCOPE.get()
        if in_scope is not None:
            details = tuple(_clean(list(details), in_scope))
        super().heartbeat(*details)


def _cleaned(exc: ApplicationError, in_scope: dict[str, str]) -> ApplicationError:
    """``exc`` as it was (type, retry and details), without the secrets' values."""
    return ApplicationError(
        _clean(exc.message, in_scope, error=True),
        *_clean(list(exc.details), in_scope, error=True),
        type=exc.type,
        non_retryable=exc.non_retryable,
        next_retry_delay=exc.next_retry_delay,
    )
