"""The definition language: templates with native types, the sandbox, inputs."""

from __future__ import annotations

import pytest

from openruns.definition import parse_definition
from openruns.definition.inputs import resolve_inputs
from openruns.definition.templates import TemplateFailure, render_value
from openruns.errors import InvalidInput

CONTEXT = {"inputs": {"amount": 10, "tags": ["a", "b"], "name": "Ada"}, "steps": {}, "run": {}}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.amount * 1.5 }}", 15.0),
        ("{{ inputs.tags }}", ["a", "b"]),
        ("{{ {'k': inputs.amount} }}", {"k": 10}),
        ("  {{ inputs.amount > 5 }}  ", True),
        ("Hello {{ inputs.name }}!", "Hello Ada!"),
        ("{{ inputs.amount }} items", "10 items"),
        ("{% for t in inputs.tags %}{{ t }}{% endfor %}", "ab"),
        ("plain text", "plain text"),
        ("{{ inputs.tags | map('upper') | list }}", ["A", "B"]),
        ("{{ {'a': {'b': inputs.amount}} }}", {"a": {"b": 10}}),  # "}}" inside the expression
        ("{{ '}}' }}", "}}"),
        ("{{ inputs.amount }} x }}", "10 x }}"),  # text after it: a text template
        ("{{ inputs.amount }}{{ inputs.name }}", "10Ada"),
    ],
)
def test_templates_keep_native_types(template: str, expected: object) -> None:
    assert render_value(template, CONTEXT) == expected


@pytest.mark.parametrize(
    "template",
    [
        "{{ inputs.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ inputs.missing }}",
        "{{ range(10**9) | list }}",
        "{{ 10 ** 100000 }}",
        "{{ 'x' * 100000000 }}",
        "{{ lipsum.__globals__ }}",
    ],
)
def test_sandbox_refuses_escapes_and_bombs(template: str) -> None:
    with pytest.raises(TemplateFailure):
        render_value(template, CONTEXT)


def test_random_filter_is_not_available() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_definition({"outputs": {"r": "{{ [1, 2] | random }}"}})
    assert info.value.details[0]["path"] == "definition.outputs.r"


def test_templated_arguments_are_checked_at_run_time_not_save_time() -> None:
    definition = parse_definition(
        {"steps": [{"id": "s", "uses": "sleep", "with": {"seconds": "{{ inputs.delay }}"}}]}
    )
    assert definition.steps[0].with_ == {"seconds": "{{ inputs.delay }}"}


def test_step_referring_to_a_later_step_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_definition(
            {
                "steps": [
                    {"id": "a", "uses": "set", "with": {"x": "{{ steps.b.y }}"}},
                    {"id": "b", "uses": "set", "with": {"y": 1}},
                ]
            }
        )
    assert "runs later" in info.value.details[0]["message"]


def test_input_defaults_must_match_their_type() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_definition({"inputs": {"n": {"type": "integer", "default": "many"}}})
    assert info.value.details[0]["path"] == "definition.inputs.n.default"


def test_inputs_resolution() -> None:
    definition = parse_definition(
        {
            "inputs": {
                "customer": {"type": "string", "required": True},
                "amount": {"type": "number", "default": 0},
                "rush": {"type": "boolean"},
                "tier": {"type": "string", "enum": ["gold", "silver"], "default": "silver"},
            }
        }
    )
    assert resolve_inputs(definition, {"customer": "a", "amount": "2.5", "rush": "true"}) == {
        "customer": "a",
        "amount": 2.5,
        "rush": True,
        "tier": "silver",
    }
    with pytest.raises(InvalidInput) as info:
        resolve_inputs(definition, {"customer": "a", "tier": "bronze"})
    assert info.value.details == [
        {"path": "inputs.tier", "message": "must be one of ['gold', 'silver']"}
    ]
    with pytest.raises(InvalidInput):
        resolve_inputs(definition, [{"name": "customer"}, {"name": "customer", "value": 1}])
    assert (
        resolve_inputs(definition, {"customer": "a", "email": {}}, allow_email=True)["email"] == {}
    )


def test_defaults_are_converted_like_given_values() -> None:
    """A run that leaves an input out sees its default as if it had been sent."""
    definition = parse_definition(
        {
            "inputs": {
                "x": {"type": "number", "default": "1.5"},
                "b": {"type": "boolean", "default": "false"},
                "n": {"type": "integer", "default": "7"},
            }
        }
    )
    left_out = resolve_inputs(definition, {})
    assert left_out == {"x": 1.5, "b": False, "n": 7}
    assert left_out == resolve_inputs(definition, {"x": "1.5", "b": "false", "n": "7"})
    assert render_value("{{ inputs.x * 2 }} {{ 'on' if inputs.b else 'off' }}", {
        "inputs": left_out
    }) == "3.0 off"  # fmt: skip


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-inf", float("nan"), float("inf")])
def test_numbers_must_be_finite(value: object) -> None:
    definition = parse_definition({"inputs": {"n": {"type": "number", "required": True}}})
    with pytest.raises(InvalidInput) as info:
        resolve_inputs(definition, {"n": value})
    assert info.value.details == [
        {"path": "inputs.n", "message": "expected number: Input should be a finite number"}
    ]
    with pytest.raises(InvalidInput) as info:
        parse_definition({"inputs": {"n": {"type": "number", "default": value}}})
    assert info.value.details[0]["path"] == "definition.inputs.n.default"


def test_a_bad_number_says_number() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_definition({"inputs": {"n": {"type": "number", "default": "many"}}})
    assert "valid number" in info.value.details[0]["message"], info.value.details
