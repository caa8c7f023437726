"""Logging of every component: JSON lines (default) or text, with run ids, and no secrets.

``configure_logging(settings)`` is called once by each command (api, worker, dev, setup, …).
Records carry structured fields as ``extra`` (``method``, ``path``, ``status``,
``duration_ms``, ``run_id``, ``step_id``); Temporal's workflow and activity loggers attach
the workflow id, which is the run id. Before a line is written, every secret the process knows
(the configured API key, the database password) and anything shaped like an API key or a
bearer token is replaced by ``[redacted]``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson
from pydantic import SecretStr
from sqlalchemy.engine import make_url
from temporalio import activity, workflow

from openruns.secrets import ENV_PREFIX as SECRET_ENV_PREFIX
from openruns.settings import Settings

FIELDS = ("method", "path", "status", "duration_ms", "run_id", "step_id", "client", "attempt")
REDACTED = "[redacted]"
_SECRET_SHAPES = re.compile(
    r"ork_[A-Za-z0-9_\-]{6,}"  # OpenRuns API keys
    r"|(?<=[Bb]earer )[A-Za-z0-9._~+/\-]{8,}=*"  # Authorization: Bearer …
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"  # user:password@ in URLs
)


class Redactor:
    """Replaces known secret values and secret-shaped strings in a line of log output."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _SECRET_SHAPES.sub(REDACTED, text)


def _secrets(settings: Settings) -> list[str]:
    """Every secret setting (the API key, Temporal's API key and TLS key unless it is given as
    a file path, the session secret, the SMTP relay's password), the database password and
    the ``OPENRUNS_SECRET_*`` values."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if not isinstance(value, SecretStr):
            continue
        secret = value.get_secret_value()
        if name == "temporal_tls_key" and "-----BEGIN" not in secret:
            continue  # a key file's path: error messages may name it
        found.append(secret)
    # The values processes use as secrets (``openruns.secrets``), where this process has them.
    found += [v for k, v in os.environ.items() if k.startswith(SECRET_ENV_PREFIX) and v]
    if settings.database_url:
        try:
            password = make_url(settings.database_url).password
        except Exception:  # an unparsable URL fails elsewhere, with its own message
            password = None
        if password:
            found.append(str(password))
    return found


def _run_id(record: logging.LogRecord) -> str | None:
    for source in ("temporal_workflow", "temporal_activity"):
        details = getattr(record, source, None)
        if isinstance(details, dict) and details.get("workflow_id"):
            return str(details["workflow_id"])
    return getattr(record, "run_id", None)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the structured fields."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        run_id = _run_id(record)
        if run_id:
            line["run_id"] = run_id
        activity_details = getattr(record, "temporal_activity", None)
        if isinstance(activity_details, dict):
            line.setdefault("activity", activity_details.get("activity_type"))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.redact(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = [f"{n}={getattr(record, n)}" for n in FIELDS if getattr(record, n, None)]
        return self.redact(f"{text} {' '.join(fields)}" if fields else text)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Send every logger's records to ``stream`` (stderr) in the configured format."""
    redact = Redactor(_secrets(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    json_lines = settings.log_format == "json"
    handler.setFormatter(JsonFormatter(redact) if json_lines else TextFormatter(redact))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    # JSON lines carry the run id as a field; the dict Temporal appends to messages is noise.
    activity.logger.activity_info_on_message = not json_lines
    workflow.logger.workflow_info_on_message = not json_lines
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
