"""Settings that are refused at start-up rather than accepted and regretted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openruns.settings import MIN_API_KEY_LENGTH, Settings


def test_an_operators_api_key_must_not_be_guessable() -> None:
    for weak in ("a", "password", "x" * (MIN_API_KEY_LENGTH - 1)):
        with pytest.raises(ValidationError, match="openssl rand"):
            Settings(api_key=weak)
    assert Settings(api_key="ork_" + "0" * 40).api_key is not None
    assert Settings(api_key="").api_key is None  # unset, as an empty variable is
