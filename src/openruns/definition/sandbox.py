"""The template sandbox: Jinja2's immutable sandbox, plus a budget on what templates may cost.

Jinja's sandbox keeps templates away from Python internals (``__class__``, ``__globals__``,
``__subclasses__``) and from mutating data; it does not stop a template from burning CPU or
memory (``range(10**9)``, nested loops, doubling a string thirty times, ``'x'|center(10**9)``).
So here every loop iteration, call and filter spends one operation, and every value a
template reads or builds counts its size as work; a value that something walks through whole
(its repr or JSON, ``==``, sorting, the native result) counts everything the walk visits,
shared parts as often as they repeat. The limits hold for all the templates of one
run together (``start_run_budget``), which keeps a run's template evaluation far below
Temporal's two-second deadlock detector and a worker's memory. Exceeding a limit fails the
step (or output) with a clear message; the run ends Failed and the worker carries on.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2 import StrictUndefined, Undefined, pass_environment
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from openruns.definition import sizes
from openruns.definition.codegen import BudgetedCodeGenerator
from openruns.definition.number_filters import float_filter, int_filter
from openruns.definition.sizes import (
    CALL_COST,
    LOOP_ITEM_WORK,
    MAX_OPERATIONS,
    MAX_POWER_RESULT_BITS,
    MAX_RANGE,
    MAX_VALUE_LENGTH,
    MAX_WORK,
    WALK_ITEM_WORK,
)
from openruns.definition.walking import walk

__all__ = ["MAX_OPERATIONS", "MAX_RANGE", "MAX_VALUE_LENGTH", "MAX_WORK", "ENV", "Budget"]


class Budget:
    """What the templates of one run have spent so far."""

    __slots__ = ("operations", "work")

    def __init__(self) -> None:
        self.operations = 0
        self.work = 0

    def spend(self, work: int) -> None:
        self.work += work
        if self.work > MAX_WORK:
            raise SecurityError(
                f"the run's templates exceeded {MAX_WORK:,} characters and items of work"
            )

    def tick(self, cost: int = 1) -> None:
        self.operations += cost
        if self.operations > MAX_OPERATIONS:
            raise SecurityError(
                f"the run's templates exceeded {MAX_OPERATIONS:,} operations (loop iterations, "
                "attribute lookups, operators, filters and calls)"
            )

    def read(self, value: Any, item_work: int = 1) -> None:
        """Count the size of a value an operation walks through (its top level).

        An undefined value has no size: it reaches ``default`` and ``is defined`` as such, and
        every other use of it fails as Jinja's ``StrictUndefined`` fails it."""
        if isinstance(value, Sized) and not isinstance(value, range | Undefined):
            self.spend(len(value) * item_work)

    def walk(self, value: Any, item_work: int = WALK_ITEM_WORK) -> bool:
        """Count a value an operation walks through whole; refuse one that would be longer than
        ``MAX_VALUE_LENGTH`` written out. True if it is plain JSON."""
        kind = type(value)
        if kind in _FLAT:
            if kind is str:
                self.spend(len(value))
            return True
        size, work, plain = walk(value, item_work, MAX_WORK - self.work)
        sizes.check_walked(size)
        self.spend(work)
        return plain

    def counting(self, values: Iterator[Any], item_work: int, walk_work: int) -> Iterator[Any]:
        """``values`` (a filter's lazy argument, say another filter's result), each counted as
        the filter takes it, and walked through unless ``walk_work`` is 0."""
        for value in values:
            self.spend(item_work)
            if walk_work:
                self.walk(value, walk_work)
            yield value

    def compared(self, left: Any, right: Any) -> None:
        """Count the operands of ``==``, ``<`` or ``in``: two containers compare item by item."""
        if isinstance(left, _CONTAINERS) and isinstance(right, _CONTAINERS):
            self.walk(left)
            self.walk(right)
        else:
            self.read(left)
            self.read(right)

    def built(self, value: Any) -> Any:
        """Count a value an operation built; refuse one larger than ``MAX_VALUE_LENGTH``."""
        if isinstance(value, str | list | tuple | dict):
            sizes.check_length(len(value))
            self.read(value)
        return value


_FLAT = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = (list, tuple, dict)

_budget: ContextVar[Budget | None] = ContextVar("openruns_template_budget", default=None)


def start_run_budget() -> None:
    """Give the current run (the calling task's context) one budget for all its templates."""
    _budget.set(Budget())


@contextmanager
def budget_scope() -> Iterator[Budget]:
    """The run's budget, or a fresh one for this evaluation when no run set one."""
    current = _budget.get()
    if current is not None:
        yield current
        return
    token = _budget.set(fresh := Budget())
    try:
        yield fresh
    finally:
        _budget.reset(token)


def _current() -> Budget:
    return _budget.get() or Budget()


def _safe_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range() is limited to {MAX_RANGE:,} items")
    return result


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """Jinja's ``sum``, except that adding lists or tuples, which copies the total each time,
    counts every copy."""
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    if not isinstance(start, list | tuple):
        return sum(iterable, start)
    budget, total = _current(), start
    for item in iterable:
        total = budget.built(total + item)
    return total


def _metered(name: str, func: Callable[..., Any], test: bool = False) -> Callable[..., Any]:
    """A filter or test that spends from the budget (``wraps`` keeps Jinja's pass-arg mark)."""
    precheck = None if test else sizes.FILTER_PRECHECKS.get(name)
    shallow = name in (sizes.SHALLOW_TESTS if test else sizes.SHALLOW_FILTERS)
    comparing = test and name in sizes.COMPARING_TESTS
    loop_work = 0 if test else sizes.LOOPING_FILTERS.get(name, 0)
    walk_work = 0 if shallow else sizes.FILTER_WALK_WORK.get(name, WALK_ITEM_WORK)

    @functools.wraps(func)
    def metered(*args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.tick()
        values = [a for a in args if not sizes.is_jinja_context(a)]
        if comparing and len(values) == 2:
            budget.compared(*values)
        else:
            if loop_work or not walk_work:  # a walk counts the top level too
                for value in values:
                    budget.read(value, loop_work or 1)
            if walk_work:
                for value in (*values, *kwargs.values()):
                    budget.walk(value, walk_work)
        args = tuple(
            budget.counting(a, loop_work or LOOP_ITEM_WORK, walk_work)
            if isinstance(a, Iterator) and not isinstance(a, LoopContext)
            else a
            for a in args
        )
        if precheck is not None:
            budget.spend(precheck(*values, **kwargs) or 0)
        return budget.built(func(*args, **kwargs))

    return metered


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox whose loops, calls, filters, operators and output spend a budget."""

    code_generator_class = BudgetedCodeGenerator
    intercepted_binops = frozenset({"**", "*", "+", "%"})

    def guard_loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        budget = _current()
        for item in iterable:
            budget.tick()
            yield item

    def join_parts(self, parts: tuple[Any, ...]) -> str:
        budget = _current()
        for part in parts:
            if type(part) is not str:  # a string part is counted in the result
                budget.walk(part)
        return budget.built("".join(map(str, parts)))

    def output(self, value: Any) -> Any:
        """``finalize``: a value a template writes out is walked through by ``str`` (a string is
        counted in the template's result)."""
        if type(value) not in _FLAT:
            _current().walk(value)
        return value

    def dict_key(self, key: Any) -> Any:
        """A key of a ``{...}`` literal: hashing a tuple walks all of it."""
        if isinstance(key, tuple):
            _current().walk(key)
        return key

    def compare(self, left: Any, *chain: Any) -> Any:
        budget, result = _current(), True
        for op, right in zip(chain[::2], chain[1::2], strict=True):
            budget.compared(left, right)
            result = _COMPARE[op](left, right)
            if not result:
                return result
            left = right
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and right * max(abs(left).bit_length(), 1) > MAX_POWER_RESULT_BITS:
                    raise SecurityError("the result of ** is too large")
        elif operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    sizes.check_length(len(seq) * count, "the result of *")
            if isinstance(left, int) and isinstance(right, int):  # squaring doubles the digits
                if left.bit_length() + right.bit_length() > MAX_POWER_RESULT_BITS:
                    raise SecurityError("the result of * is too large")
        budget = _current()
        if operator == "%" and isinstance(left, str):
            sizes.check_percent_format(left)
            budget.walk(right)
        budget.tick()
        return budget.built(super().call_binop(context, operator, left, right))

    def getitem(self, obj: Any, argument: Any) -> Any:
        budget = _current()
        budget.tick()
        if isinstance(argument, tuple):  # hashing a tuple walks all of it
            budget.walk(argument)
        result = super().getitem(obj, argument)
        return budget.built(result) if isinstance(argument, slice) else result

    def getattr(self, obj: Any, attribute: str) -> Any:
        _current().tick()
        return super().getattr(obj, attribute)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _current()
        budget.tick(CALL_COST)
        sizes.check_call(__obj, args)
        owner = getattr(__obj, "__self__", None)
        values = (*args, *kwargs.values())
        if owner is not __self:  # not guard_loop: a loop over a value does not walk it
            for value in values:  # written out, hashed or compared
                budget.walk(value)
            if any(type(v) not in _FLAT for v in values):  # compared with the object's items
                budget.walk(owner)
        return budget.built(super().call(__context, __obj, *args, **kwargs))


def make_environment() -> BudgetedEnvironment:
    env = BudgetedEnvironment(undefined=StrictUndefined, autoescape=False)
    env.finalize = env.output
    env.keep_trailing_newline = True
    env.filters.pop("random", None)  # non-deterministic: not allowed in workflow code
    env.globals.pop("lipsum", None)  # random, and unbounded
    env.globals["range"] = _safe_range
    env.filters["sum"] = _sum
    env.filters["float"] = float_filter  # not Jinja's, which turns what is not a number into 0
    env.filters["int"] = int_filter
    env.filters = {name: _metered(name, f) for name, f in env.filters.items()}
    env.tests = {name: _metered(name, f, test=True) for name, f in env.tests.items()}  # type: ignore[arg-type]
    return env


ENV = make_environment()
