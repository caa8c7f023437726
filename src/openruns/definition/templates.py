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

from jinja2 import Undefined, nodes
from jinja2.exceptions import TemplateError

from openruns.definition.sandbox import ENV, Budget, budget_scope, start_run_budget
from openruns.definition.sizes import CONTAINER_WORK, MAX_RANGE, MAX_VALUE_LENGTH

__all__ = ["MAX_RANGE", "MAX_VALUE_LENGTH", "start_run_budget", "render", "render_value", "parse"]

_PLAIN = frozenset({str, int, float, bool, type(None)})
_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*)\}\}\s*$", re.DOTALL)
_NO_IMPORTS = (nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)
# Macros and recursive loops are refused: a call costs far more than a loop iteration, so
# they are the one way to spend the operation budget slowly enough to stall a worker.
_NO_MACROS = (nodes.Macro, nodes.CallBlock)


class TemplateFailure(Exception):
    """A template that does not parse or does not evaluate."""


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def is_single_expression(value: Any) -> bool:
    """Whether ``value`` is a string that is exactly one ``{{ expression }}``."""
    return isinstance(value, str) and _single_expression(value) is not None


def _single_expression(text: str) -> str | None:
    """The expression of a string that is exactly one ``{{ expression }}`` (it may contain
    ``}}`` itself, as ``{{ {'a': {'b': 1}} }}`` does); None for any other string."""
    match = _SINGLE_EXPRESSION.match(text)
    if not match:
        return None
    try:
        kinds = [kind for _, kind, _ in ENV.lex(text.strip())]
    except TemplateError:
        return None  # the parse that follows says what is wrong
    if (
        kinds[0] == "variable_begin"
        and kinds[-1] == "variable_end"
        and kinds.count("variable_begin") == 1
        and "data" not in kinds
    ):
        return match["expr"]
    return None


def _refuse_internals(tree: nodes.Template) -> None:
    """What the sandbox would refuse at run time anyway, refused when the definition is saved."""
    if any(True for _ in tree.find_all(_NO_IMPORTS)):
        raise TemplateFailure("templates cannot import, include or extend other templates")
    if any(True for _ in tree.find_all(_NO_MACROS)) or any(
        loop.recursive for loop in tree.find_all(nodes.For)
    ):
        raise TemplateFailure("templates cannot define macros or recursive loops")
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr):
            name: Any = node.attr
        else:
            assert isinstance(node, nodes.Getitem)
            name = getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            raise TemplateFailure(f"templates cannot reach internal attributes ({name!r})")


# Jinja's parser and compiler recurse once or more per level of nesting, and Python's compiler
# limits nested blocks and parentheses: a template nested deeply enough fails in either.
_TOO_DEEP = (RecursionError, SyntaxError, MemoryError)
_NESTS_TOO_DEEPLY = "template does not parse: it nests too deeply"


@lru_cache(maxsize=4096)
def _compile(text: str) -> Any:
    expr = _single_expression(text)
    try:
        _refuse_internals(ENV.parse(text if expr is None else "{{" + expr + "}}"))
        if expr is not None:
            return ("expr", ENV.compile_expression(expr, undefined_to_none=False))
        return ("text", ENV.from_string(text))
    except TemplateError as exc:
        raise TemplateFailure(f"template does not parse: {exc}") from None
    except _TOO_DEEP:
        raise TemplateFailure(_NESTS_TOO_DEEPLY) from None


def parse(text: str) -> nodes.Template:
    """Parse ``text`` (raising ``TemplateFailure``) and return its syntax tree."""
    expr = _single_expression(text)
    _compile(text)
    try:
        return ENV.parse(text if expr is None else "{{" + expr + "}}")
    except _TOO_DEEP:
        raise TemplateFailure(_NESTS_TOO_DEEPLY) from None


def _native(value: Any, budget: Budget) -> Any:
    """A template's result as JSON data, walked through and counted first (so that converting
    it, and later sending it to Temporal, costs what the budget allows); plain JSON is kept as
    it is, and anything else converted, counting again what the walk could not see into."""
    if type(value) in _PLAIN or budget.walk(value):
        return value
    converted = _jsonable(value, budget)
    budget.walk(converted)  # what a generator inside held, say
    return converted


def _jsonable(value: Any, budget: Budget) -> Any:
    budget.spend(CONTAINER_WORK)
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, str):  # Markup and other str subclasses
        return str(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, budget) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_jsonable(v, budget) for v in value]
    raise TemplateFailure(f"a template produced a value of type {type(value).__name__}")


def render(text: str, context: Mapping[str, Any]) -> Any:
    """Evaluate one template string against ``context``."""
    kind, compiled = _compile(text)
    try:
        with budget_scope() as budget:
            if kind == "expr":
                return _native(compiled(**context), budget)
            chunks = []
            for chunk in compiled.generate(**context):
                chunks.append(budget.built(chunk))
            return budget.built("".join(chunks))
    except TemplateFailure:
        raise
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise TemplateFailure(str(exc) or type(exc).__name__) from None
    except RecursionError:
        raise TemplateFailure("template recursion is too deep") from None
    except MemoryError:
        raise TemplateFailure("the template ran out of memory") from None


def render_value(value: Any, context: Mapping[str, Any]) -> Any:
    """Render every template string inside ``value`` (dicts and lists recursively)."""
    try:
        return _render_value(value, context)
    except RecursionError:  # a definition's value nested too deep for the worker's stack
        raise TemplateFailure("a value nests too deeply to render") from None


def _render_value(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return render(value, context) if is_template(value) else value
    if isinstance(value, dict):
        return {k: _render_value(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_value(v, context) for v in value]
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


# What makes using an input that is not there safe: ``inputs.x is defined``, ``inputs.x | d(1)``.
_GUARD_TESTS = frozenset({"defined", "undefined"})
_GUARD_FILTERS = frozenset({"default", "d"})


def _input_name(node: nodes.Node | None) -> str | None:
    """``name`` when ``node`` is ``inputs.name`` or ``inputs['name']``."""
    if not isinstance(node, nodes.Getattr | nodes.Getitem):
        return None
    if not (isinstance(node.node, nodes.Name) and node.node.name == "inputs"):
        return None
    if isinstance(node, nodes.Getattr):
        # ``inputs.get('x')``, ``inputs.items()``: Jinja finds the dict's method first
        return None if hasattr(dict, node.attr) else node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def guarded_inputs(tree: nodes.Template) -> set[str]:
    """Names of the inputs a template tests with ``is defined`` / ``is undefined`` or passes
    through ``default`` / ``d``: it means to handle their absence."""
    guarded = set()
    for node in tree.find_all((nodes.Test, nodes.Filter)):
        assert isinstance(node, nodes.Test | nodes.Filter)
        names = _GUARD_TESTS if isinstance(node, nodes.Test) else _GUARD_FILTERS
        if node.name in names and (name := _input_name(node.node)) is not None:
            guarded.add(name)
    return guarded


def input_references(tree: nodes.Template) -> set[str]:
    """Names of the inputs a template uses as ``inputs.<name>`` or ``inputs['<name>']``."""
    found = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if (name := _input_name(node)) is not None:
            found.add(name)
    return found
