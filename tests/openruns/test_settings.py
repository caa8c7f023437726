"""Settings that are refused at start-up rather than accepted and regretted."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from openruns.settings import MIN_API_KEY_LENGTH, Settings, setting_errors


def test_an_operators_api_key_must_not_be_guessable() -> None:
    for weak in ("a", "password", "x" * (MIN_API_KEY_LENGTH - 1)):
        with pytest.raises(ValidationError, match="openssl rand"):
            Settings(api_key=weak)
    assert Settings(api_key="ork_" + "0" * 40).api_key is not None
    assert Settings(api_key="").api_key is None  # unset, as an empty variable is


def test_log_level_is_a_level_name() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"
    assert Settings(log_level=" warn ").log_level == "WARNING"  # as logging reads it
    with pytest.raises(ValidationError, match="'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'"):
        Settings(log_level="verbose")


def test_database_url_names_a_store_openruns_can_use() -> None:
    for url in ("postgres://app@db/openruns", "postgresql://app@db/openruns", "sqlite:///x.db"):
        assert Settings(database_url=url).database_url == url
    for url in ("mysql://app:secret@db/openruns", "postgresql+psycopg://app@db/openruns"):
        with pytest.raises(ValidationError, match=r"is not supported: use postgresql://") as bad:
            Settings(database_url=url)
        assert "secret" not in str(setting_errors(bad.value))


def test_smtp_certificate_without_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="OPENRUNS_SMTP_TLS_KEY go together"):
        Settings(smtp_tls_cert="/etc/openruns/smtp.pem")


def test_setting_errors_name_the_variable_and_never_repeat_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENRUNS_API_PORT", "abc")
    monkeypatch.setenv("OPENRUNS_API_KEY", "short-secret")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert setting_errors(refused.value) == [
        "OPENRUNS_API_PORT: Input should be a valid integer, unable to parse string as an "
        "integer (got 'abc')",
        f"OPENRUNS_API_KEY: an API key must be at least {MIN_API_KEY_LENGTH} characters: make "
        "one with `openssl rand -hex 24`",
    ]
