"""Template limits, and the checks that refuse an oversized value *before* it is built.

Counting a value after it exists is not enough when one call can allocate a gigabyte
(``'x'|center(10**9)``, ``'%0999999999d' % 1``, ``x.replace('a', x)``): these checks compute
the size a call would produce from its arguments and refuse it up front.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sized
from typing import Any

from jinja2 import Environment
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext
from jinja2.runtime import Context

MAX_RANGE = 10_000  # items of one range()
MAX_POWER_RESULT_BITS = 4096  # size of the result of ** (or * of two whole numbers)
MAX_VALUE_LENGTH = 2_000_000  # characters (or items) of one string or list a template builds
MAX_FORMAT_WIDTH = 10_000  # a width or precision in a %-format or str.format spec
MAX_DEPTH = 200  # levels of nesting of a value walked through (a namespace can contain itself)
# Operations of all the templates of one run: a loop iteration, attribute or item lookup,
# operator or filter costs 1, a call CALL_COST (the sandbox makes calls the slowest step).
# Measured worst case on a loaded 2-core machine: well under a second for the whole budget.
MAX_OPERATIONS = 100_000
CALL_COST = 5
MAX_WORK = 50_000_000  # characters and items read or built, all templates of one run
# Walking and looping cost more than copying, so their items count as more work. Measured per
# item: built or copied ~2 ns; walked in C (repr, JSON, ==, hashing) 50-100 ns; one step of a
# filter's loop in Python 100-300 ns (a container walked into, 0.5 µs); pprint, wordwrap ~1 µs.
WALK_ITEM_WORK = 10
LOOP_ITEM_WORK = 25
CONTAINER_WORK = 50
PYTHON_ITEM_WORK = 150

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_PADDING_METHODS = {"center", "ljust", "rjust", "zfill"}


def check_length(length: int, what: str = "a value") -> None:
    if length > MAX_VALUE_LENGTH:
        raise SecurityError(
            f"{what} would be {length:,} characters or items long "
            f"(templates are limited to {MAX_VALUE_LENGTH:,})"
        )


def check_walked(size: int) -> None:
    if size > MAX_VALUE_LENGTH:
        raise SecurityError(
            f"a value would be over {MAX_VALUE_LENGTH:,} characters or items long written "
            f"out, every repeat of a shared part included (templates are limited to "
            f"{MAX_VALUE_LENGTH:,})"
        )


def _check_width(text: str) -> None:
    if text == "*" or "{" in text:
        raise SecurityError("computed widths in format specs are not allowed in templates")
    if text and int(text) > MAX_FORMAT_WIDTH:
        raise SecurityError(f"format widths are limited to {MAX_FORMAT_WIDTH:,}")


def check_percent_format(fmt: str) -> None:
    """``fmt % args``: refuse ``*`` and widths or precisions above ``MAX_FORMAT_WIDTH``."""
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part:
                _check_width(part)


def check_format_string(fmt: str) -> None:
    """``fmt.format(...)``: the same limits on every replacement field's spec."""
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec:
            if "{" in spec:
                _check_width("{")
            for number in re.findall(r"\d+", spec):
                _check_width(number)


def check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    check_length(len(text) + times * (len(new) - len(old)), "the result of replace")


def check_call(obj: Any, args: tuple[Any, ...]) -> None:
    """Refuse a str method call whose result would be too large (padding, replace, join)."""
    target = getattr(obj, "__wrapped__", obj)  # the sandbox wraps str.format
    text, name = getattr(target, "__self__", None), getattr(target, "__name__", "")
    if not isinstance(text, str):
        return
    first = args[0] if args else None
    if name in _PADDING_METHODS and isinstance(first, int):
        check_length(first, f"the result of {name}")
    elif name == "expandtabs" and isinstance(first, int):
        check_length(len(text) + text.count("\t") * first, "the result of expandtabs")
    elif name == "replace" and len(args) >= 2:
        check_replace(text, *args[:3])
    elif name == "join" and isinstance(first, Sized):
        check_length(len(text) * len(first), "the result of join")
    elif name in ("format", "format_map"):
        check_format_string(text)


def _center(value: Any, width: Any = 80, *_: Any, **__: Any) -> None:
    if isinstance(width, int):
        check_length(width, "the result of center")


def _indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
    if isinstance(value, str) and isinstance(width, int):
        check_length(len(value) + (value.count("\n") + 1) * width, "the result of indent")


def _count(value: Any, count: Any = 0, *_: Any, **__: Any) -> None:
    if isinstance(count, int):
        check_length(count, "the result of slice/batch")


def _format(value: Any, *_: Any, **__: Any) -> None:
    if isinstance(value, str):
        check_percent_format(value)


def _join(value: Any, separator: Any = "", *_: Any, **__: Any) -> None:
    if isinstance(value, Sized) and isinstance(separator, str):
        check_length(len(value) * len(separator), "the result of join")


def _wordwrap(
    value: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> int:
    """The work of wrapping ``value``: textwrap handles each chunk (a word, a run of spaces, a
    piece of a hyphenated word, a ``width`` cut of a long word) in Python, and every cut of a
    long word copies the rest of it."""
    if not isinstance(value, str) or not isinstance(width, int) or width < 1:
        return 0
    words = value.split()
    chunks = 2 * len(words) + (value.count("-") if break_on_hyphens else 0)
    longest, copies = max(map(len, words), default=0), 0
    if break_long_words and longest > width:
        chunks += len(value) // width
        copies = len(value) * (longest // width)
    return chunks * PYTHON_ITEM_WORK + copies


# Filters and tests that look at their arguments' top level only; every other one may walk a
# whole nested value (str(), JSON, sorting, hashing, comparing) and counts it.
SHALLOW_FILTERS = frozenset(
    {"abs", "attr", "batch", "count", "d", "default", "filesizeformat", "first", "float", "int"}
    | {"items", "last", "length", "list", "map", "reject", "rejectattr", "reverse", "round"}
    | {"select", "selectattr", "slice"}
)
SHALLOW_TESTS = frozenset(
    {"boolean", "callable", "defined", "divisibleby", "escaped", "even", "false", "filter"}
    | {"float", "integer", "iterable", "mapping", "none", "number", "odd", "sameas"}
    | {"sequence", "string", "test", "true", "undefined"}
)
COMPARING_TESTS = frozenset(
    {"==", "eq", "equalto", "!=", "ne", ">", "gt", "greaterthan", ">=", "ge", "<", "lt"}
    | {"lessthan", "<=", "le", "in"}
)
# Filters that take their argument's items one by one in Python: the work of one item.
LOOPING_FILTERS = dict.fromkeys(
    ("items", "map", "max", "min", "reject", "rejectattr", "select", "selectattr", "slice"),
    LOOP_ITEM_WORK,
) | dict.fromkeys(("batch", "dictsort", "groupby", "sort", "unique"), 2 * LOOP_ITEM_WORK)
# The work of an item a filter walks through, where it is more than ``WALK_ITEM_WORK``.
FILTER_WALK_WORK = {"pprint": PYTHON_ITEM_WORK}

FILTER_PRECHECKS: dict[str, Callable[..., int | None]] = {
    "center": _center,
    "indent": _indent,
    "slice": _count,
    "batch": _count,
    "format": _format,
    "replace": lambda value, old="", new="", count=None, *_, **__: check_replace(
        value, old, new, count
    ),
    "join": _join,
    "wordwrap": _wordwrap,
}


def is_jinja_context(value: Any) -> bool:
    """Jinja passes a context or the environment first to some filters; prechecks look at the
    real arguments."""
    return isinstance(value, Context | EvalContext | Environment)
