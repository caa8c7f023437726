"""The template sandbox refuses escapes and bounds the work a template can do.

Each attack either fails to save (``parse``) or fails to render with a clear message; none
may run for long or allocate much (the per-test timeout would catch one that did).
"""

from __future__ import annotations

import re
import time

import pytest

from openruns.definition import templates
from openruns.definition.sandbox import Budget, budget_scope
from openruns.definition.sizes import MAX_OPERATIONS
from openruns.definition.walking import walk

CONTEXT = {"inputs": {"text": "a" * 1000, "numbers": list(range(100)), "n": 5}, "steps": {}}

REFUSED_AT_SAVE = {
    "{{ ().__class__ }}": "internal attributes",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}": "internal attributes",
    "{{ cycler.__init__.__globals__ }}": "internal attributes",
    "{{ self.__init__.__globals__['os'] }}": "internal attributes",
    "{{ inputs['__class__'] }}": "internal attributes",
    "{% import 'os' as os %}": "cannot import",
    "{% from 'x' import y %}": "cannot import",
    "{% include '/etc/passwd' %}": "cannot import",
    "{% extends 'base' %}": "cannot import",
    "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}": "macros",
    "{% for x in [1] recursive %}{{ loop([x]) }}{% endfor %}": "recursive loops",
    "{{ foo( }}": "does not parse",
    # Jinja's parser and compiler recurse per level of nesting; Python limits nested blocks.
    "{{ " + "(" * 100 + "1" + ")" * 100 + " }}": "nests too deeply",
    "{{ " + "[" * 100 + "1" + "]" * 100 + " }}": "nests too deeply",
    "{{ " + "{'a': " * 100 + "1" + "}" * 100 + " }}": "nests too deeply",
    "{{ " + "not " * 1000 + "1 }}": "nests too deeply",
    "{{ " + " + ".join(["1"] * 300) + " }}": "nests too deeply",
    "x{{ 1" + "|abs" * 1000 + " }}": "nests too deeply",
    "{% if 1 %}" * 150 + "x" + "{% endif %}" * 150: "nests too deeply",
    "{% for i in [1] %}" * 25 + "x" + "{% endfor %}" * 25: "nests too deeply",
}

# A value that shares its parts is small to build but large to walk through: each of these
# would have its repr, JSON, hash or comparison visit millions of items, or copy a text
# millions of times. They fail at once, counting every repeat of a shared part.
SHARED = "[[[0] * 1000] * 1000] * 3"
BLOW_UPS = {
    f"{{{{ ({SHARED}) | pprint | length }}}}": "written out",
    f"{{{{ ({SHARED}) | tojson | length }}}}": "written out",
    f"{{{{ ({SHARED}) | string | length }}}}": "written out",
    f"{{{{ {SHARED} }}}}": "written out",  # the native result
    f"{{% set x = {SHARED} %}}x{{{{ x }}}}": "written out",  # written into a text
    f"{{{{ 'x' ~ {SHARED} }}}}": "written out",
    f"{{{{ '%s' % [{SHARED}] }}}}": "written out",
    f"{{{{ '{{}}'.format({SHARED}) }}}}": "written out",
    f"{{{{ {SHARED} == {SHARED} }}}}": "written out",
    f"{{{{ [{SHARED}] | unique | list }}}}": "written out",
    "{{ {((((0,) * 1000,) * 1000,) * 1000): 1} }}": "written out",  # hashing a key
    "{{ ((((0,) * 1000,) * 1000,) * 1000) in {} }}": "written out",
    "{{ ('x' * 600000) | wordwrap(1) | length }}": "work",  # textwrap copies the rest each cut
    "{{ ([[0]] * 100000) | sum(start=[]) | length }}": "work",  # the total is copied each time
    # a hundred generators over one list, each taking every item in turn
    "{% set ns = namespace(x=[1] * 100000) %}{% for i in range(100) %}"
    "{% set ns.x = ns.x | select %}{% endfor %}{{ ns.x | list | length }}": "work",
    "{% set x = [0] * 1900000 %}{% for i in range(100) %}{{ x | sort | length }}{% endfor %}": (
        "work"
    ),
    "{% set ns = namespace() %}{% set ns.me = [ns] %}{{ ns }}": "nested more than",
}

FAILS_AT_RUN = {
    "{{ range(10**9) | list }}": "range() is limited",
    "{{ 7 ** 1000000 }}": "** is too large",
    "{% set ns = namespace(x=7 ** 1000) %}{% for i in range(30) %}{% set ns.x = ns.x * ns.x %}"
    "{% endfor %}{{ ns.x > 0 }}": "* is too large",
    "{{ 'x' * 10**9 }}": "the result of *",
    "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}": "operations",
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ j }}{% endfor %}{% endfor %}": (
        "operations"
    ),
    "{% set x = 'a' * 1000000 %}{% set x = x ~ x %}{% set x = x ~ x %}{{ x }}": "characters",
    "{% set x = ['a'] * 1000000 %}{{ (x + x + x) | length }}": "characters or items",
    "{{ 'x' | center(10**9) }}": "center",
    "{{ 'x'.ljust(10**9) }}": "ljust",
    "{{ 'a' | indent(10**9) }}": "indent",
    "{{ '%0999999999d' % 1 }}": "format widths",
    "{{ '%*d' % (10**9, 1) }}": "computed widths",
    "{{ '{:>999999999}'.format(1) }}": "format widths",
    "{{ '{:{w}}'.format(1, w=10**9) }}": "computed widths",
    "{{ ('a' * 1000000).replace('a', 'bbbbbbbbbb') }}": "replace",
    "{{ inputs.text | replace('', inputs.text * 1000) }}": "replace",
    "{{ [1] | slice(10**9) | list }}": "slice",
    "{{ [1] | batch(10**9, 0) | list }}": "batch",
    "{{ ('x' * 1000).join(range(10000)) }}": "join",
    "{{ lipsum(10**6) }}": "undefined",
    "{{ [].append }}": "unsafe",
}


@pytest.mark.parametrize("text", REFUSED_AT_SAVE)
def test_refused_when_the_definition_is_saved(text: str) -> None:
    with pytest.raises(templates.TemplateFailure, match=re.escape(REFUSED_AT_SAVE[text])):
        templates.parse(text)


@pytest.mark.parametrize("text", FAILS_AT_RUN)
def test_fails_cleanly_when_rendered(text: str) -> None:
    templates.parse(text)  # saves: it is only too costly once it runs
    with pytest.raises(templates.TemplateFailure, match=re.escape(FAILS_AT_RUN[text])):
        templates.render(text, CONTEXT)


@pytest.mark.parametrize("text", BLOW_UPS)
def test_values_that_blow_up_when_walked_fail_at_once(text: str) -> None:
    templates.parse(text)
    started = time.perf_counter()
    with pytest.raises(templates.TemplateFailure, match=re.escape(BLOW_UPS[text])):
        templates.render(text, CONTEXT)
    # The error shows the budget stopped the work; the time catches a check made only after
    # the blow-up (a billion items written out takes minutes). Up to about 1 s here, so the
    # bound is loose for CI's two busy cores.
    assert time.perf_counter() - started < 6


def test_a_walk_counts_every_repeat_of_a_shared_part() -> None:
    inner = ["ab", 1, {"k": [None, "xyz"]}]
    value = {"a": [inner] * 3, "b": (inner, inner), "c": ["q"] * 40}
    # every item (a dict's keys and values both) and every character, each time it is met
    once = 3 + 2 + 2 + 1 + 2 + 3  # inner's items, "ab", the dict's key and value, "k", [...]
    expected = 1 + 6 + 3 + (3 + 2 + 40) + 40 + 5 * once  # the value, its keys, a, b, c
    size, _, plain = walk(value, 1, 10**9)
    assert (size, plain) == (expected, False)  # a tuple is not JSON
    size, _, plain = walk([[0] * 1000] * 1000, 1, 10**9)
    assert (size, plain) == (1 + 1000 + 1000 * 1000, True)


def test_ordinary_templates_still_work() -> None:
    assert templates.render("{{ inputs.numbers | sum }}", CONTEXT) == 4950
    assert templates.render("{% for i in inputs.numbers[:3] %}{{ i }},{% endfor %}", CONTEXT) == (
        "0,1,2,"
    )
    assert templates.render("{{ 3 in inputs.numbers and inputs.n < 6 < 7 }}", CONTEXT) is True
    assert templates.render("{{ '%05.1f' % 2.5 }} {{ '{:>4}'.format(7) }}", CONTEXT) == (
        "002.5    7"
    )
    assert templates.render("{{ 'a' ~ inputs.n ~ 'b' }}", CONTEXT) == "a5b"
    assert templates.render("{{ 2 ** 2000 * 3 ** 1000 > 0 }}", CONTEXT) is True
    assert templates.render("{{ inputs.text | replace('a', 'bb') | length }}", CONTEXT) == 2000
    rows = templates.render("{% for i in range(5000) %}{{ i % 10 }}{% endfor %}", CONTEXT)
    assert len(rows) == 5000  # a few thousand iterations are well within budget
    assert templates.render("{{ [[1, 'a']] * 3 }}", CONTEXT) == [[1, "a"]] * 3
    assert templates.render("{{ {'a': (1, 2), 3: inputs.numbers[:2]} }}", CONTEXT) == {
        "a": [1, 2],
        "3": [0, 1],
    }
    assert templates.render("{{ inputs.numbers | batch(50) | list | length }}", CONTEXT) == 2
    assert templates.render("{{ [[1], [2]] | sum(start=[]) }}", CONTEXT) == [1, 2]
    assert templates.render("{{ {(1, 2): 'a'}[(1, 2)] }}", CONTEXT) == "a"
    assert templates.render("{{ [1, 2] in [[1, 2]] }}", CONTEXT) is True
    assert templates.render("x{{ [1, 'a'] }}{{ {'b': 2} | tojson }}", CONTEXT) == (
        "x[1, 'a']{\"b\": 2}"
    )
    assert templates.render("{{ 'a b c d' | wordwrap(3) }}", CONTEXT) == "a b\nc d"
    assert templates.render("{{ inputs.text | wordwrap(100) | length }}", CONTEXT) == 1009
    assert templates.render("{{ inputs | dictsort | first }}", CONTEXT) == ["n", 5]


def test_a_template_nested_too_deeply_fails_to_render_too() -> None:
    """A worker's stack is not the API's: one the API took may still be too deep for it."""
    for text in REFUSED_AT_SAVE:
        if REFUSED_AT_SAVE[text] == "nests too deeply":
            with pytest.raises(templates.TemplateFailure, match="nests too deeply"):
                templates.render(text, CONTEXT)


def test_a_value_nested_too_deeply_for_the_stack_fails_to_render() -> None:
    value: object = "{{ 1 }}"
    for _ in range(5000):
        value = [value]
    with pytest.raises(templates.TemplateFailure, match="nests too deeply"):
        templates.render_value(value, CONTEXT)


def test_the_budget_is_shared_by_all_templates_of_a_run() -> None:
    loop = "{% for i in range(10000) %}{% endfor %}"
    with budget_scope() as budget:
        assert isinstance(budget, Budget)
        for _ in range(MAX_OPERATIONS // 10_000 - 1):
            templates.render(loop, CONTEXT)
        with pytest.raises(templates.TemplateFailure, match="operations"):
            for _ in range(2):
                templates.render(loop, CONTEXT)
    templates.render(loop, CONTEXT)  # outside the run's scope: a fresh budget


def test_undefined_values_reach_default_and_defined() -> None:
    """``default`` and ``is defined`` see an undefined value as such; any other use still fails."""
    assert templates.render("{{ inputs.color | default('blue') }}", CONTEXT) == "blue"
    assert templates.render("{{ inputs.missing | d('x') }}", CONTEXT) == "x"
    assert templates.render("{{ inputs.size is defined }}", CONTEXT) is False
    assert templates.render("{{ inputs.n is defined }}", CONTEXT) is True
    text = "{% if inputs.size is undefined %}unsized{% endif %}"
    assert templates.render(text, CONTEXT) == "unsized"
    with pytest.raises(templates.TemplateFailure, match="no attribute 'color'"):
        templates.render("{{ inputs.color | upper }}", CONTEXT)
    with pytest.raises(templates.TemplateFailure, match="no attribute 'color'"):
        templates.render("{{ inputs.color }}", CONTEXT)
