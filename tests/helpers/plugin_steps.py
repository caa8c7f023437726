"""Plugin steps for the tests (``OPENRUNS_PLUGINS=tests.helpers.plugin_steps``)."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, Field
from temporalio import activity

from openruns.plugins import StepContext, StepFailure, step


class RepeatArgs(BaseModel):
    text: str
    times: int = Field(2, ge=1, le=10)


@step("test_repeat", args=RepeatArgs)
async def repeat(args: RepeatArgs, context: StepContext) -> dict[str, Any]:
    """Repeat `text` (async, with the step's context)."""
    return {
        "text": args.text * args.times,
        "args_type": type(args).__name__,
        "where": f"{context.run_id}/{context.step_id}",
    }


class AttemptArgs(BaseModel):
    succeed_on: int = 2


@step("test_flaky", args=AttemptArgs, retry={"max_attempts": 3, "initial_interval": 0.05})
def flaky(args: AttemptArgs, context: StepContext) -> dict[str, int]:
    """Fail until attempt `succeed_on` (sync: runs in a thread)."""
    if context.attempt < args.succeed_on:
        raise RuntimeError(f"attempt {context.attempt} failed")
    return {"attempt": context.attempt}


class NoArgs(BaseModel):
    pass


@step("test_refuse", args=NoArgs, retry={"max_attempts": 5, "initial_interval": 0.05})
def refuse(args: NoArgs, context: StepContext) -> None:
    """Fail at once: a StepFailure is never retried (the message says which attempt)."""
    raise StepFailure(f"refused on purpose on attempt {context.attempt}")


@step("test_unjsonable", args=NoArgs, retry={"max_attempts": 1})
def unjsonable(args: NoArgs) -> object:
    """Return something that is not JSON."""
    return object()


class TokenArgs(BaseModel):
    token: str


@step("test_leaky_error", args=TokenArgs, retry={"max_attempts": 1})
def leaky_error(args: TokenArgs) -> None:
    """Fail with the token in the exception's cause (a careless client library)."""
    raise RuntimeError("login failed") from ValueError(f"bad token {args.token}")


@step("test_leaky_heartbeat", args=TokenArgs, retry={"max_attempts": 1})
async def leaky_heartbeat(args: TokenArgs) -> None:
    """Heartbeat the token as progress, then outlive the step's timeout."""
    activity.heartbeat({"progress": f"logged in with {args.token}"})
    await asyncio.sleep(30)
