"""Checks for a schedule's ``cron`` and ``timezone`` fields, so mistakes are 422s naming the
field before Temporal sees them."""

from __future__ import annotations

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


def _check_field(index: int, text: str) -> None:
    name = _FIELDS[index][0]
    for item in text.split(","):
        match = _ITEM.match(item)
        if not match:
            raise ValueError(f"{name}: {item!r} is not a value, range, list or step")
        if match["step"] is not None and int(match["step"]) < 1:
            raise ValueError(f"{name}: the step must be at least 1")
        if match["range"] != "*":
            bounds = [_value(index, token) for token in match["range"].split("-")]
            if len(bounds) == 2 and bounds[0] > bounds[1]:
                raise ValueError(f"{name}: the range {match['range']!r} runs backwards")


def check_cron(value: str) -> str:
    """The expression with its whitespace normalised; ValueError saying what is wrong."""
    fields = value.lower().split()
    if len(fields) != 5:
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    for index, text in enumerate(fields):
        _check_field(index, text)
    return " ".join(fields)


def check_timezone(value: str) -> str:
    """``value`` when it names an IANA time zone; ValueError otherwise."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}: use an IANA name like Europe/Berlin"
        ) from None
    return value
