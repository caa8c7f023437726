"""Run inputs: accepted as an object or as ``[{"name", "value"}]``, checked against the
declared inputs, with defaults applied."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, TypeAdapter, ValidationError

from openruns.definition.model import Definition, InputSpec
from openruns.errors import InvalidInput, error_detail

# ``inputs.email`` is the implicit input of email-triggered runs (SPEC §6).
EMAIL_INPUT = "email"

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "string": TypeAdapter(str),
    # NaN and ±infinity are not numbers a run can carry: JSON has no way to write them.
    "number": TypeAdapter(int | Annotated[float, Field(allow_inf_nan=False)]),
    "integer": TypeAdapter(int),
    "boolean": TypeAdapter(bool),
    "object": TypeAdapter(dict[str, Any]),
    "array": TypeAdapter(list[Any]),
    "file": TypeAdapter(str),
}


def _coerce(spec: InputSpec, value: Any) -> Any:
    return _ADAPTERS[spec.type].validate_python(value)


MAX_INPUT_DEPTH = 64  # levels of objects and lists in one input value


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_input_value(spec: InputSpec, value: Any) -> str | None:
    """The problem with ``value`` for ``spec``, or None when it is acceptable."""
    if isinstance(value, dict | list) and _deeper_than(value, MAX_INPUT_DEPTH):
        # Temporal's payloads (and the store's JSON) could not be written; the run never runs
        return f"nested deeper than {MAX_INPUT_DEPTH} levels"
    try:
        coerced = _coerce(spec, value)
    except ValidationError as exc:
        # the last error: for ``number``, the float's ("a valid number"), not the int's
        return f"expected {spec.type}: {exc.errors()[-1]['msg']}"
    if spec.enum is not None and coerced not in spec.enum:
        return f"must be one of {spec.enum}"
    return None


def as_mapping(raw: Any) -> dict[str, Any]:
    """Accept ``{name: value}`` or Kognitos-style ``[{"name": ..., "value": ...}]``."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return dict(raw)
    if isinstance(raw, list):
        out: dict[str, Any] = {}
        for index, item in enumerate(raw):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise InvalidInput(
                    "inputs must be an object or a list of {name, value}",
                    [error_detail(("inputs", index), "expected {name, value}")],
                )
            if item["name"] in out:
                raise InvalidInput(
                    "an input is given twice",
                    [error_detail(("inputs", index, "name"), f"duplicate input {item['name']!r}")],
                )
            out[item["name"]] = item.get("value")
        return out
    raise InvalidInput(
        "inputs must be an object or a list of {name, value}",
        [error_detail(("inputs",), "expected an object or a list")],
    )


def resolve_inputs(
    definition: Definition, raw: Any, *, allow_email: bool = False
) -> dict[str, Any]:
    """The run's inputs: validated against the declaration, defaults applied."""
    given = as_mapping(raw)
    errors = []
    resolved: dict[str, Any] = {}
    for name, value in given.items():
        if name == EMAIL_INPUT and allow_email:
            resolved[name] = value
        elif name not in definition.inputs:
            errors.append(error_detail(("inputs", name), "unknown input"))
    for name, spec in definition.inputs.items():
        if name in given and given[name] is not None:
            problem = check_input_value(spec, given[name])
            if problem:
                errors.append(error_detail(("inputs", name), problem))
            else:
                resolved[name] = _coerce(spec, given[name])
        elif spec.default is not None:  # as if given: "1.5" for a number is 1.5
            problem = check_input_value(spec, spec.default)
            if problem:  # checked when saved, but a revision saved before a rule was added
                errors.append(error_detail(("inputs", name), f"the declared default: {problem}"))
            else:
                resolved[name] = _coerce(spec, spec.default)
        elif spec.required:
            errors.append(error_detail(("inputs", name), "required input is missing"))
        else:
            resolved[name] = None
    if errors:
        raise InvalidInput("the inputs are not valid", errors)
    return resolved
