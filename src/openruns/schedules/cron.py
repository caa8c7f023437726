"""Checks for a schedule's ``cron`` and ``timezone`` fields, so mistakes are 422s naming the
field before Temporal sees them."""

from __future__ import annotations

import functools
import re
import zoneinfo

_NAMES = {
    3: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    4: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
# (name, lowest, highest) of the five fields; day of week 7 is Sunday too.
_FIELDS = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
]
_ITEM = re.compile(r"^(?P<range>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>[0-9]+))?$")


def _value(index: int, token: str) -> int:
    name, low, high = _FIELDS[index]
    names = _NAMES.get(index, [])
    if token in names:
        return names.index(token) + (1 if index == 3 else 0)
    if not token.isdigit():
        raise ValueError(f"{name}: {token!r} is not a number")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{name}: {number} is outside {low}-{high}")
    return number


def _check_field(index: int, text: str) -> set[int]:
    """The values ``text`` matches in field ``index``; ValueError saying what is wrong."""
    name, low, high = _FIELDS[index]
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ValueError(f"{name}: {item!r} is not a value, range, list or step")
        step = int(match["step"]) if match["step"] is not None else 1
        if step < 1:
            raise ValueError(f"{name}: the step must be at least 1")
        first, last = low, high
        if match["range"] != "*":
            bounds = [_value(index, token) for token in match["range"].split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise ValueError(f"{name}: the range {match['range']!r} runs backwards")
            first = bounds[0]
            last = bounds[-1] if len(bounds) == 2 or match["step"] is None else high
        values.update(range(first, last + 1, step))
    return values


# The most days each month has (February's 29th comes in leap years).
_MONTH_DAYS = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


# The macros Temporal's cron strings take, as it takes them (lowercase only: it refuses
# ``@DAILY``), and the fields each stands for: a schedule keeps the macro as written, and
# Temporal reads it in the schedule's time zone like any cron.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _check_macro(text: str) -> str:
    if text in MACROS:
        return text
    if text.lower().startswith("@every"):  # Temporal would make it an interval
        raise ValueError(
            f"{text!r}: for a schedule that fires every so often give interval_seconds "
            "instead of cron (e.g. 300 for every 5 minutes)"
        )
    if text.lower() in MACROS:
        raise ValueError(f"{text!r}: Temporal takes its macros in lowercase: {text.lower()!r}")
    raise ValueError(
        f"{text!r} is not a macro: use {', '.join(MACROS)}, or 5 fields "
        "(minute hour day-of-month month day-of-week)"
    )


def check_cron(value: str) -> str:
    """The expression with its whitespace normalised (a macro as written); ValueError saying
    what is wrong."""
    if value.strip().startswith("@"):
        return _check_macro(value.strip())
    fields = value.lower().split()
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    matched = [_check_field(index, text) for index, text in enumerate(fields)]
    days, months = matched[2], matched[3]
    if not any(day <= _MONTH_DAYS[month] for day in days for month in months):
        raise ValueError(f"never fires: no month in {fields[3]!r} has a day {fields[2]!r}")
    return " ".join(fields)


@functools.cache
def _iana_names() -> frozenset[str]:
    # What the tz database names; not the files beside them that mean something different on
    # every host (localtime, posixrules, right/…, posix/…) or nothing at all (Factory).
    return frozenset(zoneinfo.available_timezones() - {"localtime", "Factory"})


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone; ValueError otherwise."""
    if value not in _iana_names():
        raise ValueError(f"unknown time zone {value!r}: use an IANA name like Europe/Berlin")
    return value
