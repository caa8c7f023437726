"""The worker side of ``openruns.secrets``: an activity interceptor that gives a step's
activity its arguments with the run's secret placeholders replaced by the values in the
worker's environment, and takes the values back out of what the step returns or raises, so
Temporal's history holds placeholders only."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from openruns import secrets
from openruns.models import StepActivityInput


class SecretsInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _WithSecrets(next)


class _WithSecrets(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        [call] = input.args if len(input.args) == 1 else [None]
        if not isinstance(call, StepActivityInput) or not call.secret_nonce:
            return await super().execute_activity(input)
        try:
            args, used = secrets.substitute(call.args, call.secret_nonce, os.environ.get)
        except secrets.SecretNotSet as exc:
            raise ApplicationError(str(exc), type="SecretNotSet", non_retryable=True) from None
        if not used:
            return await super().execute_activity(input)
        given = dataclasses.replace(input, args=[call.model_copy(update={"args": args})])
        try:
            result = await super().execute_activity(given)
        except ApplicationError as exc:
            raise _redacted(exc, used) from None
        except Exception as exc:
            message = str(exc)
            if secrets.redact(message, used) == message:
                raise
            raise ApplicationError(secrets.redact(message, used), type=type(exc).__name__) from None
        return secrets.redact(result, used)


def _redacted(exc: ApplicationError, used: dict[str, str]) -> ApplicationError:
    """``exc`` as it was (type, retry and details), without the secrets' values."""
    return ApplicationError(
        secrets.redact(exc.message, used),
        *secrets.redact(list(exc.details), used),
        type=exc.type,
        non_retryable=exc.non_retryable,
        next_retry_delay=exc.next_retry_delay,
    )
