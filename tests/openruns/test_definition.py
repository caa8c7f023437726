"""The definition language: templates with native types, the sandbox, inputs."""

from __future__ import annotations

import pytest

from openruns.definition import parse_definition
from openruns.definition.inputs import resolve_inputs
from openruns.definition.templates import TemplateFailure, render_value, truthy
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
        {
            "inputs": {"delay": {"type": "number"}},
            "steps": [{"id": "s", "uses": "sleep", "with": {"seconds": "{{ inputs.delay }}"}}],
        }
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


NUMBERS = {"inputs": {"rows": [{"total": "15.000,00"}, {"total": "12.5"}], "note": None}}


@pytest.mark.parametrize(
    ("template", "message"),
    [
        # a European total: Jinja's float made it 0.0, and 0 passed the 1,000 limit check
        ("{{ inputs.rows | map(attribute='total') | map('float') | sum > 1000 }}",
         "'15.000,00' is not a number (float filter; write float(default=0) to accept it as 0)"),
        ("{{ '1,000' | int }}", "'1,000' is not a number (int filter"),
        ("{{ '' | float }}", "'' is not a number"),
        ("{{ inputs.note | float }}", "None is not a number"),
        ("{{ [1] | int }}", "[1] is not a number"),
        ("{{ 'NaN' | float }}", "'NaN' is not a finite number"),  # NaN > 1000 is false
        ("{{ '1e999' | int }}", "'1e999' is not a finite number"),
        ("{{ 'zz' | int(base=16) }}", "'zz' is not a whole number in base 16"),
        ("{{ '10.5' | int(base=16) }}", "write int(default=0, base=16)"),  # not 10
        ("{{ ('x' * 1000) | float }}", "'xxxxxxxxxxxxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxxxxxxxxxxxx'"),
    ],
)  # fmt: skip
def test_float_and_int_fail_on_what_is_not_a_number(template: str, message: str) -> None:
    with pytest.raises(TemplateFailure) as info:
        render_value(template, NUMBERS)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.rows | map(attribute='total') | map('float', default=0) | sum }}", 12.5),
        ("{{ 'x' | float(1.5) }}", 1.5),  # an explicit default keeps Jinja's behaviour
        ("{{ 'zz' | int(-1, 16) }}", -1),
        ("{{ ' 12.5 ' | float }}", 12.5),
        ("{{ '42.23' | int }}", 42),  # Jinja's int of a decimal text
        ("{{ 3.9 | int }}", 3),
        ("{{ true | int }}", 1),
        ("{{ 'ff' | int(base=16) }} {{ '0x1A' | int(base=16) }}", "255 26"),
        ("{{ '1e3' | int }}", 1000),
    ],
)
def test_float_and_int_convert_numbers(template: str, expected: object) -> None:
    assert render_value(template, NUMBERS) == expected


ONE = 'a condition is true, false or one "{{ expression }}"; '


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("inputs.amount > 1000", 'this text is always true: write it as "{{ inputs.amount > 1000 }}"'),
        ("false", "the text 'false' counts as true: write false, a boolean (no quotes)"),
        ("no", "the text 'no' counts as true: write false, a boolean (no quotes)"),
        ("", "the text '' counts as false: write false, a boolean (no quotes)"),
        ("{{ inputs.amount }} > 1000", "this template renders text, which counts as true unless "
         'it is empty: write it as "{{ inputs.amount > 1000 }}"'),
        ("{% if inputs.amount > 1000 %}yes{% endif %}", "this template renders text"),
        ("amount is large", 'this text is always true: write one "{{ expression }}" of inputs, '
         'steps and run, e.g. "{{ inputs.amount > 1000 }}"'),
    ],
)  # fmt: skip
def test_a_condition_that_is_text_is_refused(condition: str, message: str) -> None:
    """Text is truthy: ``if: "inputs.amount > 1000"`` ran the step whatever the amount."""
    with pytest.raises(InvalidInput) as info:
        parse_definition(
            {
                "inputs": {"amount": {"type": "number"}},
                "steps": [{"id": "alert", "if": condition, "uses": "set"}],
            }
        )
    assert [d["path"] for d in info.value.details] == ["definition.steps[0].if"]
    assert info.value.details[0]["message"].startswith(ONE + message)


@pytest.mark.parametrize(
    "condition", [True, False, None, "{{ inputs.amount > 1000 }}", "  {{ inputs.amount }}\n"]
)
def test_a_condition_is_a_boolean_or_one_expression(condition: object) -> None:
    definition = parse_definition(
        {
            "inputs": {"amount": {"type": "number"}},
            "steps": [{"id": "alert", "if": condition, "uses": "set"}],
        }
    )
    assert definition.steps[0].if_ == condition


def test_a_condition_keeps_jinja_truthiness() -> None:
    """The expression's native value decides, as Python's truth: a text is true unless empty."""
    context = {"inputs": {"flag": "false", "n": 0, "rows": []}}
    assert truthy("{{ inputs.flag }}", context) is True  # the text 'false'
    assert truthy("{{ inputs.flag == 'true' }}", context) is False
    assert truthy("{{ inputs.n }}", context) is False
    assert truthy("{{ inputs.rows }}", context) is False
    assert truthy(False, context) is False


def test_an_undeclared_input_is_refused_naming_the_step_and_input() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_definition(
            {
                "inputs": {"amount": {"type": "number"}},
                "steps": [
                    {"id": "a", "uses": "set", "with": {"x": "{{ inputs.amount }}"}},
                    {"id": "b", "uses": "http",
                     "with": {"url": "https://crm.example/{{ inputs.customer }}"}},
                    {"id": "c", "uses": "fail", "if": "{{ inputs['limit'] < 1 }}"},
                ],
                "outputs": {"who": "{{ inputs.who.name | upper }}"},
            }
        )  # fmt: skip
    assert info.value.details == [
        {"path": "definition.steps[1].with.url",
         "message": "inputs.customer is not a declared input (declared: amount)"},
        {"path": "definition.steps[2].if",
         "message": "inputs.limit is not a declared input (declared: amount)"},
        {"path": "definition.outputs.who",
         "message": "inputs.who is not a declared input (declared: amount)"},
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as info:
        parse_definition({"outputs": {"who": "{{ inputs.who }}"}})
    assert (
        info.value.details[0]["message"] == "inputs.who is not a declared input (none are declared)"
    )


def test_an_undeclared_input_that_is_checked_for_is_accepted() -> None:
    """A run never has an undeclared input (they are refused), so a template that checks for
    one first (``is defined``, ``default``) never fails; nor does ``inputs.email``, which email
    runs add, or a dict method such as ``inputs.get``."""
    parse_definition(
        {
            "steps": [
                {"id": "a", "uses": "set", "with": {
                    "note": "{{ inputs.note | default('none') }}",
                    "tag": "{{ inputs['tag'] | d('x') | upper }}",
                    "size": "{% if inputs.size is defined %}{{ inputs.size }}{% endif %}",
                    "rush": "{{ inputs.rush if inputs.rush is not undefined else false }}",
                    "limit": "{{ inputs.get('limit', 10) }}",
                    "subject": "{{ inputs.email.subject }}",
                }},
                {"id": "b", "uses": "set", "if": "{{ inputs.extra is defined }}",
                 "with": {"extra": "{{ inputs.extra }}"}},
            ]
        }
    )  # fmt: skip
    with pytest.raises(InvalidInput) as info:  # checked for, but not where it is used
        parse_definition(
            {
                "steps": [{"id": "b", "uses": "set", "if": "{{ inputs.extra is defined }}"}],
                "outputs": {"extra": "{{ inputs.extra }}", "deeper": "{{ inputs.x.y | d(1) }}"},
            }
        )
    assert [d["path"] for d in info.value.details] == [
        "definition.outputs.extra",
        "definition.outputs.deeper",  # inputs.x.y fails before default sees it
    ]
