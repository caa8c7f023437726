"""Log lines: JSON (or text) with the structured fields, and every secret redacted."""

from __future__ import annotations

import io
import logging

import httpx
import orjson
import pytest
from pydantic import SecretStr

from openruns.logs import configure_logging
from openruns.settings import Settings

SECRETS = {
    "api_key": "ork_configured_api_key_1",
    "temporal_api_key": "temporal-cloud-key-XYZ",
    "session_secret": "ui-session-signing-secret",
    "smtp_relay_password": "relay-pass-8842",
    "temporal_tls_key": "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg-----END PRIVATE KEY-----",
}
DB_PASSWORD = "db-pass-5521"


def _settings(log_format: str) -> Settings:
    return Settings(
        log_format=log_format,
        log_level="INFO",
        database_url=f"postgresql+asyncpg://openruns:{DB_PASSWORD}@db.internal/openruns",
        temporal_tls_cert="-----BEGIN CERTIFICATE-----MIIC-----END CERTIFICATE-----",
        api_key=SecretStr(SECRETS["api_key"]),
        temporal_api_key=SecretStr(SECRETS["temporal_api_key"]),
        session_secret=SecretStr(SECRETS["session_secret"]),
        smtp_relay_password=SecretStr(SECRETS["smtp_relay_password"]),
        temporal_tls_key=SecretStr(SECRETS["temporal_tls_key"]),
    )


def test_a_json_line_carries_the_structured_fields() -> None:
    out = io.StringIO()
    configure_logging(_settings("json"), out)
    logging.getLogger("openruns.test").info(
        "GET %s %s", "/v2/runs", 200, extra={"method": "GET", "status": 200, "duration_ms": 1.5}
    )
    logging.getLogger("temporalio.workflow").warning(
        "step failed", extra={"temporal_workflow": {"workflow_id": "run-abc"}, "step_id": "fetch"}
    )
    first, second = (orjson.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "GET /v2/runs 200" and first["level"] == "INFO"
    assert first["logger"] == "openruns.test" and first["time"].endswith("+00:00")
    assert (first["method"], first["status"], first["duration_ms"]) == ("GET", 200, 1.5)
    assert (second["run_id"], second["step_id"]) == ("run-abc", "fetch")  # from Temporal's logger


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_no_secret_reaches_a_line(log_format: str) -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format), out)
    log = logging.getLogger("openruns.test")
    for value in [*SECRETS.values(), DB_PASSWORD]:
        log.warning("the value was %s, then %s", value, value, extra={"path": f"/x?k={value}"})
    log.warning("Authorization: Bearer abc.def-ghi_jkl and x-api-key ork_someone_elses_key")
    log.warning("connecting to postgresql://admin:s3cr3t-pw@10.0.0.5/db")
    try:
        raise RuntimeError(f"login refused for {SECRETS['smtp_relay_password']}")
    except RuntimeError:
        log.exception("relay")
    text = out.getvalue()
    leaked = [
        value
        for value in [*SECRETS.values(), DB_PASSWORD, "abc.def-ghi_jkl", "someone_else", "s3cr3t"]
        if value in text
    ]
    assert leaked == []
    assert text.count("[redacted]") >= 2 * len(SECRETS) + 4
    assert "RuntimeError: login refused for [redacted]" in text  # tracebacks too


def test_the_values_of_process_secrets_reach_no_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker has the values of ``{{ secrets.NAME }}``; an http step logs its URL's path."""
    monkeypatch.setenv("OPENRUNS_SECRET_BOT_TOKEN", "bot-7781:AAE-secret")
    out = io.StringIO()
    configure_logging(_settings("json"), out)
    logging.getLogger("activities.http").info("GET https://api.test/botbot-7781:AAE-secret/send")
    assert "AAE-secret" not in out.getvalue()
    assert "/bot[redacted]/send" in out.getvalue()


def test_a_key_file_path_is_not_a_secret() -> None:
    out = io.StringIO()
    settings = Settings(
        temporal_tls_cert="/etc/openruns/client.crt",
        temporal_tls_key=SecretStr("/etc/openruns/client.key"),
    )
    configure_logging(settings, out)
    logging.getLogger("openruns.test").error("cannot read /etc/openruns/client.key")
    assert "cannot read /etc/openruns/client.key" in out.getvalue()


async def test_every_request_gets_one_line_with_its_run_id_and_no_key(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, worker: object
) -> None:
    from tests.helpers.api import create_process, start_run

    process = await create_process(api, {"steps": [{"id": "a", "uses": "set", "with": {}}]})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="openruns.api.requests"):
        run = await start_run(api, process["id"])
        missing = await api.get("/v2/runs/run-nope")
    lines = [r for r in caplog.records if r.name == "openruns.api.requests"]
    assert [(r.method, r.path, r.status) for r in lines] == [  # type: ignore[attr-defined]
        ("POST", "/v2/runs", 201),
        ("GET", "/v2/runs/run-nope", missing.status_code),
    ]
    assert lines[0].run_id == run["id"]  # type: ignore[attr-defined]
    assert all(r.duration_ms >= 0 for r in lines)  # type: ignore[attr-defined]
    key = api.headers["x-api-key"]
    assert all(key not in r.getMessage() and key not in str(vars(r)) for r in lines)
