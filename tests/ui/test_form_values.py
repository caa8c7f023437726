"""The run form's text → typed input values: what the API would take for the same input."""

from __future__ import annotations

import pytest

from api.ui.forms import _convert
from openruns.definition.model import InputSpec

INTEGER, NUMBER = InputSpec(type="integer"), InputSpec(type="number")


@pytest.mark.parametrize(
    ("spec", "text", "value"),
    [
        (INTEGER, "12345678901234567890", 12345678901234567890),  # exact past 2**53
        (NUMBER, "9007199254740993", 9007199254740993),
        (INTEGER, "-7", -7),
        (INTEGER, "1e3", 1000),
        (NUMBER, "2.5", 2.5),
        (NUMBER, "1e3", 1000),
    ],
)
def test_numbers_are_kept_exactly(spec: InputSpec, text: str, value: object) -> None:
    converted = _convert(spec, text)
    assert converted == value and type(converted) is type(value)


@pytest.mark.parametrize("text", ["1_000", "NaN", "inf", "abc", "1.5.2"])
def test_what_json_would_not_take_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a number"):
        _convert(NUMBER, text)


def test_an_integer_must_be_whole() -> None:
    with pytest.raises(ValueError, match="whole number"):
        _convert(INTEGER, "2.5")
