"""Validation of definitions when they are saved: every error names the offending path."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from pydantic import ValidationError

from openruns import secrets
from openruns.definition import templates
from openruns.definition.conditions import condition_problem
from openruns.definition.inputs import EMAIL_INPUT, check_input_value
from openruns.definition.model import Definition
from openruns.definition.steps import get_step_type
from openruns.errors import InvalidInput
from openruns.models import TEMPORAL_BLOB_LIMIT

# A definition as JSON, YAML aliases expanded: a larger one could never run (every run carries
# its definition in the workflow input, which Temporal limits to this).
MAX_DEFINITION_BYTES = TEMPORAL_BLOB_LIMIT
MAX_DEFINITION_DEPTH = 64  # levels of objects and lists: far past any real definition


def format_path(loc: Sequence[str | int]) -> str:
    """``("steps", 0, "with", "url")`` → ``steps[0].with.url``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _detail(prefix: str, loc: Sequence[str | int], message: str) -> dict[str, Any]:
    path = format_path(loc)
    return {"path": f"{prefix}.{path}" if path else prefix, "message": message}


def _templates_in(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple, str]]:
    if isinstance(value, str):
        if templates.is_template(value):
            yield loc, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _templates_in(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _templates_in(item, (*loc, index))


class _DefinitionLoader(yaml.SafeLoader):
    """YAML as JSON data: the tags that build something else (bytes, sets, ordered pairs,
    dates) are refused rather than turned into lists or strings, and an unquoted date is text."""


def _not_json(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(
        None, None, f"{node.tag.rsplit(':', 1)[-1]!r} values are not JSON data", node.start_mark
    )


for _tag in ("binary", "set", "omap", "pairs", "timestamp"):
    _DefinitionLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)
_DefinitionLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(raw: Any, prefix: str) -> Any:
    if isinstance(raw, str | bytes):
        try:
            raw = yaml.load(raw, Loader=_DefinitionLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise InvalidInput(
                "the definition is not valid YAML or JSON", [_detail(prefix, (), str(exc))]
            ) from None
        except RecursionError:  # PyYAML composes nested nodes recursively
            deep = f"nested deeper than {MAX_DEFINITION_DEPTH} levels"
            raise InvalidInput(f"the definition is {deep}", [_detail(prefix, (), deep)]) from None
    if not isinstance(raw, dict):
        raise InvalidInput(
            "the definition must be an object", [_detail(prefix, (), "expected an object")]
        )
    if problem := _too_large(raw):
        # YAML aliases share one object between many places ("billion laughs"): 400 bytes of
        # text can stand for gigabytes of JSON, which is what would be stored and run.
        raise InvalidInput(f"the definition is {problem}", [_detail(prefix, (), problem)])
    if not_finite := [_detail(prefix, loc, "not a finite number") for loc in _non_finite(raw, ())]:
        # YAML's .nan and .inf: JSON (the API's answers, PostgreSQL's jsonb) cannot hold them
        raise InvalidInput("the definition is not valid", not_finite)
    if nul := [_detail(prefix, loc, "text cannot hold NUL characters") for loc in _nul(raw, ())]:
        # "\0" in YAML or JSON: PostgreSQL cannot store it (SQLite can), so neither takes it
        raise InvalidInput("the definition is not valid", nul)
    return raw


def _too_large(value: Any) -> str | None:
    """Why ``value`` cannot be a definition: nested deeper than ``MAX_DEFINITION_DEPTH``, or
    longer than about ``MAX_DEFINITION_BYTES`` written out as JSON; None when it is fine.

    Every place a shared (aliased) container appears counts, as it will once stored, and the
    walk (with a stack: later checks, the store's JSON and Temporal's payloads recurse) stops
    at the first limit passed, so an alias that contains itself ends it too."""
    size, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_DEFINITION_DEPTH:
                return f"nested deeper than {MAX_DEFINITION_DEPTH} levels"
            size += 2 + len(item)
            if isinstance(item, dict):
                size += sum(len(str(key)) + 3 for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
        else:
            size += len(item) + 2 if isinstance(item, str) else 8
        if size > MAX_DEFINITION_BYTES:
            return (
                f"larger than {MAX_DEFINITION_BYTES:,} bytes as JSON once YAML aliases are expanded"
            )
    return None


def _non_finite(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Where ``value`` holds NaN or ±infinity. A walk with a stack, each container once: YAML
    aliases can nest deeply or refer to themselves (``a: &a [*a]``)."""
    stack, seen = [(value, loc)], set()
    while stack:
        item, where = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            yield where
        elif isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, (*where, key)) for key, child in reversed(list(pairs)))


def _nul(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    """Where ``value`` holds a text (or a key) with a NUL character; each container once."""
    stack, seen = [(value, loc)], set()
    while stack:
        item, where = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            yield where
        elif isinstance(item, dict | list) and id(item) not in seen:
            seen.add(id(item))
            pairs = list(item.items() if isinstance(item, dict) else enumerate(item))
            for key, child in reversed(pairs):
                if isinstance(key, str) and "\x00" in key:
                    yield (*where, key.replace("\x00", "\\0"))
                stack.append((child, (*where, key)))


@dataclass(frozen=True)
class _Scope:
    """What a template may refer to: the steps that ran before it, the declared inputs (and
    ``email``, which email runs add), and inputs the step's ``if`` checks for."""

    known: set[str]
    all_ids: set[str]
    inputs: list[str]
    guarded: set[str] = field(default_factory=set)

    def input_problem(self, name: str) -> str:
        ref = f"inputs.{name}" if name.isidentifier() else f"inputs[{name!r}]"
        declared = f"declared: {', '.join(self.inputs)}" if self.inputs else "none are declared"
        return f"{ref} is not a declared input ({declared})"


# Where a secret cannot go, and why (``openruns.secrets``: values reach activity steps only).
NO_SECRETS_IN_IF = "a condition cannot use a secret: it would test the secret's placeholder"
NO_SECRETS_IN_OUTPUTS = "outputs cannot hold secrets: a run's outputs only name them"
NO_SECRETS_IN_CHILD = (
    "a child run does not get its parent's secrets: name them in the child process's definition"
)


def _template_errors(
    value: Any,
    loc: tuple[str | int, ...],
    scope: _Scope,
    prefix: str,
    no_secrets: str | None = None,
) -> list[dict[str, Any]]:
    errors = []
    for path, text in _templates_in(value, loc):
        try:
            tree = templates.parse(text)
        except templates.TemplateFailure as exc:
            errors.append(_detail(prefix, path, str(exc)))
            continue
        if "secrets" in text and (problem := secrets.misuse(tree)):
            errors.append(_detail(prefix, path, problem))
        elif no_secrets and secrets.references(text):
            errors.append(_detail(prefix, path, no_secrets))
        for ref in sorted(templates.step_references(tree) - scope.known):
            reason = "runs later" if ref in scope.all_ids else "does not exist"
            errors.append(_detail(prefix, path, f"refers to step {ref!r}, which {reason}"))
        # A run has the declared inputs only (SPEC §3): any other fails the step, unless the
        # template (or the step's if) checks for it with ``is defined`` or ``default``.
        undeclared = templates.input_references(tree) - {*scope.inputs, EMAIL_INPUT}
        undeclared -= scope.guarded | templates.guarded_inputs(tree)
        errors += [_detail(prefix, path, scope.input_problem(name)) for name in sorted(undeclared)]
    return errors


def _guarded_by(condition: Any) -> set[str]:
    """The inputs a step's ``if`` checks for with ``is defined`` or ``default``."""
    if not templates.is_template(condition):
        return set()
    try:
        return templates.guarded_inputs(templates.parse(condition))
    except templates.TemplateFailure:
        return set()  # reported as the if's own error


def _args_errors(step: Any, index: int, prefix: str) -> list[dict[str, Any]]:
    step_type = get_step_type(step.uses)
    if step_type is None:
        return [_detail(prefix, ("steps", index, "uses"), f"unknown step type {step.uses!r}")]
    errors = []
    if step_type.kind != "activity":  # set, fail, sleep, process: never retried or timed out
        errors += [
            _detail(
                prefix,
                ("steps", index, name),
                f"applies to activity steps only (http, file, email, plugins), not {step.uses!r}",
            )
            for name in ("retry", "timeout")
            if getattr(step, name) is not None
        ]
    try:
        step_type.args_model.model_validate(step.with_)
    except ValidationError as exc:
        templated = {path for path, _ in _templates_in(step.with_, ())}
        errors += [
            _detail(prefix, ("steps", index, "with", *err["loc"]), err["msg"])
            for err in exc.errors()
            # A templated argument is checked when the run evaluates it.
            if not any(tuple(err["loc"][: len(t)]) == t for t in templated)
        ]
    return errors


def parse_definition(raw: Any, prefix: str = "definition") -> Definition:
    """Validate ``raw`` (an object, or YAML/JSON text) and return the definition."""
    data = _load(raw, prefix)
    try:
        definition = Definition.model_validate(data)
    except ValidationError as exc:
        details = [_detail(prefix, err["loc"], err["msg"]) for err in exc.errors()]
        raise InvalidInput("the definition is not valid", details) from None

    errors: list[dict[str, Any]] = []
    for name, spec in definition.inputs.items():
        if not name.isidentifier():
            errors.append(_detail(prefix, ("inputs", name), "input names must be identifiers"))
        if spec.default is not None:
            problem = check_input_value(spec, spec.default)
            if problem:
                errors.append(_detail(prefix, ("inputs", name, "default"), problem))

    all_ids = {step.id for step in definition.steps}
    inputs = list(definition.inputs)
    seen: set[str] = set()
    for index, step in enumerate(definition.steps):
        if step.id in seen:
            errors.append(_detail(prefix, ("steps", index, "id"), f"duplicate step id {step.id!r}"))
        errors += _args_errors(step, index, prefix)
        if problem := condition_problem(step.if_):
            errors.append(_detail(prefix, ("steps", index, "if"), problem))
        scope = _Scope(seen, all_ids, inputs)
        errors += _template_errors(
            step.if_, ("steps", index, "if"), scope, prefix, NO_SECRETS_IN_IF
        )
        scope = replace(scope, guarded=_guarded_by(step.if_))  # the with runs only if it holds
        child = NO_SECRETS_IN_CHILD if step.uses == "process" else None
        errors += _template_errors(step.with_, ("steps", index, "with"), scope, prefix, child)
        seen.add(step.id)
    errors += _template_errors(
        definition.outputs,
        ("outputs",),
        _Scope(all_ids, all_ids, inputs),
        prefix,
        NO_SECRETS_IN_OUTPUTS,
    )

    if errors:
        raise InvalidInput("the definition is not valid", errors)
    return definition


def definition_size(definition: Definition) -> int:
    return len(json.dumps(definition.dump()))
