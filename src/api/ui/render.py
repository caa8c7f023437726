"""Rendering of web UI pages: the Jinja2 environment, its filters, and security headers."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

if TYPE_CHECKING:
    from api.ui.auth import UiSession

HERE = Path(__file__).parent
STATIC = HERE / "static"
FINAL_STATES = {"Succeeded", "Failed", "Cancelled", "TimedOut"}
STATE_MARKS = {
    "Pending": "…",
    "Running": "▶",
    "Succeeded": "✓",
    "Failed": "✕",
    "Cancelled": "⊘",
    "TimedOut": "⏱",
    "passed": "✓",
    "failed": "✕",
    "error": "!",
    "Completed": "✓",
    "Skipped": "–",
}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _static_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def utc(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def duration(start: datetime | None, end: datetime | None) -> str:
    """``1.2 s``, ``3 min 4 s``, ``2 h 5 min``; a run still going counts up to now."""
    if start is None:
        return "—"
    seconds = max(0.0, ((end or datetime.now(UTC)) - start).total_seconds())
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} d {hours % 24} h"


def pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2, default=str).decode()


def compact(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def as_yaml(value: Any) -> str:
    """``value`` as YAML, or as JSON (also YAML) when YAML would not read back the same: a
    few characters, such as U+0085, do not survive PyYAML's quoting, so the JSON escapes
    every character past ASCII."""
    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=88)
    try:
        if yaml.safe_load(text) == value:
            return text
    except yaml.YAMLError:
        pass
    return json.dumps(value, indent=2)


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(
    utc=utc, iso=iso, pretty=pretty, compact=compact, as_yaml=as_yaml, file_size=file_size
)
templates.env.globals.update(
    duration=duration,
    marks=STATE_MARKS,
    final_states=FINAL_STATES,
    static_version=_static_version(),
)


def page(
    request: Request,
    template: str,
    ui: UiSession | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """An HTML page (or fragment) with the session for the navigation and its CSRF token."""
    context.setdefault("csrf", ui.csrf if ui else "")
    response = templates.TemplateResponse(
        request, template, {"ui": ui, **context}, status_code=status
    )
    response.headers.update(HEADERS)
    return response
