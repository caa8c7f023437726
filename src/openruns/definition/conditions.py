"""A step's ``if``: a boolean, or one ``{{ expression }}`` whose value decides.

Anything else is refused when the definition is saved: a run takes the condition's value as
Jinja does, and a text (``"inputs.amount > 1000"``, ``"false"``, ``"{{ a }} > 1"``) is true
whatever it says, so the step would always run.
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import nodes

from openruns.definition import templates
from openruns.definition.sandbox import ENV

_WORDS = {"true": "true", "yes": "true", "on": "true", "false": "false", "no": "false"}
_WORDS |= {"off": "false", "": "false"}
_DELIMITERS = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_CONTEXT = frozenset({"inputs", "steps", "run", "secrets", *ENV.globals})
_ONE = 'a condition is true, false or one "{{ expression }}"'
_GENERIC = (
    'write one "{{ expression }}" of inputs, steps and run, e.g. "{{ inputs.amount > 1000 }}"'
)


def _suggestion(text: str) -> str | None:
    """``text`` as one ``{{ expression }}``, if that parses and uses only what a run has."""
    if "{%" in text or "{#" in text or len(text) > 300:
        return None
    candidate = "{{ " + _DELIMITERS.sub(r"\1", text).strip() + " }}"
    try:
        tree = templates.parse(candidate)
    except templates.TemplateFailure:
        return None
    names = {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}
    if not templates.is_single_expression(candidate) or not names <= _CONTEXT:
        return None
    return candidate


def condition_problem(value: Any) -> str | None:
    """Why ``value`` cannot be a step's ``if``, saying what to write; None when it can."""
    if not isinstance(value, str) or templates.is_single_expression(value):
        return None
    word = value.strip().lower()
    if not templates.is_template(value) and word in _WORDS:
        truth = "false" if word == "" else "true"
        return (
            f"{_ONE}; the text {value!r} counts as {truth}: "
            f"write {_WORDS[word]}, a boolean (no quotes)"
        )
    if templates.is_template(value):
        why = "this template renders text, which counts as true unless it is empty"
    else:
        why = "this text is always true"
    suggestion = _suggestion(value)
    fix = f'write it as "{suggestion}"' if suggestion else _GENERIC
    return f"{_ONE}; {why}: {fix}"
