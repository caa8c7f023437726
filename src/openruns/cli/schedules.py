"""``openruns schedule …``: manage schedules through the HTTP API, like any other client.

The commands talk to a running API (``--url`` / ``OPENRUNS_API_URL``, default the local one)
with an API key from ``--api-key`` / ``OPENRUNS_API_KEY``, or the key ``make dev`` wrote to
the data directory.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import httpx
import typer

from openruns.schedules.models import Overlap
from openruns.settings import Settings

app = typer.Typer(help="Create, list, pause, resume, trigger and delete schedules.")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url", help="Base URL of the API (default: OPENRUNS_API_URL, or the local API)."
    ),
]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="OPENRUNS_API_KEY",
        help="API key (default: the dev key in the data directory).",
        show_envvar=True,
    ),
]


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _call(url: str | None, api_key: str | None, method: str, path: str, **kwargs: Any) -> Any:
    settings = Settings()
    base = (url or settings.api_url or f"http://{settings.api_host}:{settings.api_port}").rstrip(
        "/"
    )
    dev_key = settings.data_dir / "dev-api-key"
    key = api_key or (dev_key.read_text().strip() if dev_key.exists() else None)
    if not key:
        _fail("no API key: pass --api-key or set OPENRUNS_API_KEY")
    try:
        response = httpx.request(
            method, f"{base}/v2{path}", headers={"x-api-key": key}, timeout=30, **kwargs
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach the API at {base}: {exc}")
    if response.status_code >= 400:
        try:
            body = response.json()
        except ValueError:
            body = {"message": response.text}
        details = "".join(
            f"\n  {d.get('path')}: {d.get('message')}" for d in body.get("details") or []
        )
        _fail(f"{body.get('message') or response.reason_phrase} ({response.status_code}){details}")
    return response.json() if response.content else None


def _line(schedule: dict[str, Any]) -> str:
    when = (
        f"cron '{schedule['cron']}' {schedule['timezone']}"
        if schedule["cron"]
        else f"every {schedule['interval_seconds']}s"
    )
    state = "paused" if schedule["paused"] else "active"
    upcoming = schedule["next_run_times"][0] if schedule["next_run_times"] else "-"
    return f"{schedule['id']}\t{state}\t{when}\tnext {upcoming}\t{schedule['note'] or ''}".rstrip()


def _inputs(pairs: list[str], raw: str | None) -> dict[str, Any]:
    try:
        inputs = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        _fail(f"--inputs is not JSON: {exc}")
    if not isinstance(inputs, dict):
        _fail("--inputs must be a JSON object")
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            _fail(f"--input {pair!r}: expected NAME=VALUE")
        try:
            inputs[name] = json.loads(value)  # numbers, booleans, objects …
        except json.JSONDecodeError:
            inputs[name] = value  # … and anything else as a string
    return inputs


@app.command("list")
def list_schedules(
    process_id: str,
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON resources.")] = False,
) -> None:
    """List a process's schedules: id, state, when, next run, note."""
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"limit": 100, **({"continuation_token": token} if token else {})}
        page = _call(url, api_key, "GET", f"/processes/{process_id}/schedules", params=params)
        items += page["items"]
        token = page["continuation_token"]
        if not token:
            break
    for schedule in items:
        typer.echo(json.dumps(schedule) if as_json else _line(schedule))


@app.command()
def create(
    process_id: str,
    cron: Annotated[str | None, typer.Option(help="5-field cron, e.g. '0 9 * * 1-5'.")] = None,
    every: Annotated[int | None, typer.Option(help="Interval in seconds.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of --cron.")] = "UTC",
    input: Annotated[list[str] | None, typer.Option(help="NAME=VALUE (repeatable).")] = None,
    inputs: Annotated[str | None, typer.Option(help="All inputs as a JSON object.")] = None,
    overlap: Annotated[Overlap, typer.Option(help="When the previous run is still going.")] = (
        Overlap.SKIP
    ),
    note: Annotated[str | None, typer.Option()] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Create it paused.")] = False,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Schedule runs of a process's Published revision; prints the new schedule."""
    body: dict[str, Any] = {
        "cron": cron,
        "interval_seconds": every,
        "timezone": timezone,
        "inputs": _inputs(input or [], inputs),
        "overlap": overlap.value,
        "note": note,
        "paused": paused,
    }
    typer.echo(_line(_call(url, api_key, "POST", f"/processes/{process_id}/schedules", json=body)))


@app.command()
def pause(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Pause: no fires until resumed (trigger still works)."""
    typer.echo(
        _line(_call(url, api_key, "PATCH", f"/schedules/{schedule_id}", json={"paused": True}))
    )


@app.command()
def resume(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Resume a paused schedule."""
    body = {"paused": False}
    typer.echo(_line(_call(url, api_key, "PATCH", f"/schedules/{schedule_id}", json=body)))


@app.command()
def trigger(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Start one run now, even while paused."""
    typer.echo(_line(_call(url, api_key, "POST", f"/schedules/{schedule_id}/trigger")))


@app.command()
def delete(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Delete the schedule (its runs stay)."""
    _call(url, api_key, "DELETE", f"/schedules/{schedule_id}")
    typer.echo(f"deleted {schedule_id}")
