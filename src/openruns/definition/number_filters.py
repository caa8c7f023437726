"""The ``float`` and ``int`` filters, which fail on what is not a number.

Jinja's own turn anything they cannot convert into 0 (``'15.000,00' | float`` is 0.0), and
a 0 passes every limit check. Here a value that is not a number fails the step, saying what
it was; a default given explicitly (``float(default=0)``, ``int(0)``) keeps Jinja's
behaviour, for a template that means to accept anything.
"""

from __future__ import annotations

import math
import reprlib
from typing import Any

from jinja2.exceptions import TemplateRuntimeError
from jinja2.filters import do_float, do_int

_NO_DEFAULT: Any = object()

_shown = reprlib.Repr()
_shown.maxstring = _shown.maxother = 60
_shown.maxlist = _shown.maxtuple = _shown.maxdict = 5


def _not_a_number(value: Any, what: str, name: str, more: str = "") -> TemplateRuntimeError:
    return TemplateRuntimeError(
        f"{_shown.repr(value)} is not {what} ({name} filter; "
        f"write {name}(default=0{more}) to accept it as 0)"
    )


def float_filter(value: Any, default: Any = _NO_DEFAULT) -> float:
    """``value`` as a float; one that is not a number, or not a finite one ('NaN', '1e999'),
    fails unless a default is given."""
    if default is not _NO_DEFAULT:
        return do_float(value, default)
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise _not_a_number(value, "a number", "float") from None
    if not math.isfinite(result):  # NaN > 1000 is false: it would pass a limit check
        raise _not_a_number(value, "a finite number", "float")
    return result


def int_filter(value: Any, default: Any = _NO_DEFAULT, base: int = 10) -> int:
    """``value`` as an int, as Jinja's ``int`` ('42.23' is 42); one that is not a number
    (in ``base``: '10.5' is not a base-16 number) fails unless a default is given."""
    if default is not _NO_DEFAULT:
        return do_int(value, default, base)
    try:
        return int(value, base) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        pass
    if base != 10 and isinstance(value, str):
        raise _not_a_number(value, f"a whole number in base {base}", "int", f", base={base}")
    try:
        return int(float(value))  # Jinja's "42.23" | int → 42
    except (TypeError, ValueError):
        raise _not_a_number(value, "a number", "int") from None
    except OverflowError:  # '1e999', 'inf'
        raise _not_a_number(value, "a finite number", "int") from None
