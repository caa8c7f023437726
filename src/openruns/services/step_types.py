"""The step-type catalog as clients see it: built-ins and loaded plugins, by name."""

from __future__ import annotations

from openruns.definition.steps import StepType, step_types
from openruns.errors import InvalidInput, error_detail
from openruns.models import Page, StepTypeInfo
from openruns.pagination import decode_token, encode_token
from openruns.plugins import plugin_module


def describe(step_type: StepType) -> StepTypeInfo:
    return StepTypeInfo(
        name=step_type.name,
        description=step_type.description,
        kind=step_type.kind,
        plugin=plugin_module(step_type.name),
        args_schema=step_type.args_schema(),
    )


def list_page(limit: int, token: str | None) -> Page[StepTypeInfo]:
    """Step types sorted by name; the token remembers the last name already returned."""
    after = ""
    if token:
        after = decode_token(token).get("after", "")
        if not isinstance(after, str):
            raise InvalidInput(
                "invalid continuation_token",
                [error_detail(("continuation_token",), "not a token this API issued")],
            )
    remaining = [t for t in step_types() if t.name > after]
    page = remaining[:limit]
    next_token = encode_token({"after": page[-1].name}) if len(remaining) > limit else None
    return Page[StepTypeInfo](items=[describe(t) for t in page], continuation_token=next_token)
