"""Jinja2 templates in a sandbox, with native types for single-expression strings.

A string that is exactly one ``{{ expression }}`` evaluates to the expression's value (number,
list, object); any other string containing ``{{`` or ``{%`` renders to a string. Rendering is
pure and deterministic, so it runs inside the Temporal workflow sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 10_000
MAX_POWER_RESULT_BITS = 4096
MAX_SEQUENCE_LENGTH = 1_000_000

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)


class TemplateFailure(Exception):
    """A template that does not parse or does not evaluate."""


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE} items")
    return result


class _Environment(ImmutableSandboxedEnvironment):
    """A sandbox that also bounds the operators that could exhaust memory or CPU."""

    intercepted_binops = frozenset({"**", "*"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and right * max(abs(left).bit_length(), 1) > MAX_POWER_RESULT_BITS:
                    raise SecurityError("the result of ** is too large")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    if len(seq) * count > MAX_SEQUENCE_LENGTH:
                        raise SecurityError("the result of * is too large")
        return super().call_binop(context, operator, left, right)


def _make_environment() -> _Environment:
    env = _Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.filters.pop("random", None)  # non-deterministic: not allowed in workflow code
    env.globals["range"] = _safe_range
    return env


ENV = _make_environment()


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _single_expression(text: str) -> str | None:
    match = _SINGLE_EXPRESSION.match(text)
    if match and "{{" not in match["expr"] and "}}" not in match["expr"]:
        return match["expr"]
    return None


@lru_cache(maxsize=4096)
def _compile(text: str) -> Any:
    expr = _single_expression(text)
    try:
        if expr is not None:
            return ("expr", ENV.compile_expression(expr, undefined_to_none=False))
        return ("text", ENV.from_string(text))
    except TemplateError as exc:
        raise TemplateFailure(f"template does not parse: {exc}") from None


def parse(text: str) -> nodes.Template:
    """Parse ``text`` (raising ``TemplateFailure``) and return its syntax tree."""
    expr = _single_expression(text)
    try:
        _compile(text)
        return ENV.parse(text if expr is None else "{{" + expr + "}}")
    except TemplateError as exc:
        raise TemplateFailure(f"template does not parse: {exc}") from None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # Markup and other str subclasses
        return str(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_jsonable(v) for v in value]
    raise TemplateFailure(f"a template produced a value of type {type(value).__name__}")


def render(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one template string against ``context``."""
    kind, compiled = _compile(text)
    try:
        result = compiled(**context) if kind == "expr" else compiled.render(**context)
        return _jsonable(result)
    except TemplateFailure:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateFailure(str(exc) or type(exc).__name__) from None
    except RecursionError:
        raise TemplateFailure("template recursion is too deep") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template string inside ``value`` (dicts and lists recursively)."""
    if isinstance(value, str):
        return render(value, context) if is_template(value) else value
    if isinstance(value, dict):
        return {k: render_value(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, context) for v in value]
    return value


def truthy(value: Any, context: Mapping[str, Any]) -> bool:
    """Evaluate an ``if`` condition."""
    return bool(render_value(value, context))


def step_references(tree: nodes.Template) -> set[str]:
    """Names of the steps a template refers to as ``steps.<id>`` or ``steps['<id>']``."""
    found: set[str] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        target = node.node
        if isinstance(target, nodes.Name) and target.name == "steps":
            if isinstance(node, nodes.Getattr):
                found.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.add(node.arg.value)
    return found
