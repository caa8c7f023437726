"""``openruns schedule …``: manage schedules through the HTTP API, like any other client.

The commands talk to a running API (``--url`` / ``OPENRUNS_API_URL``, default the local one)
with an API key from ``--api-key`` / ``OPENRUNS_API_KEY``, or the key ``make dev`` wrote to
the data directory; errors read as every other command's (``api_client``).
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import typer

from openruns.cli.api_client import ApiClient, KeyOption, UrlOption
from openruns.schedules.models import Overlap

app = typer.Typer(help="Create, list, pause, resume, trigger and delete schedules.")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


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
    process: Annotated[str, typer.Argument(help="The process's id or name.")],
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON resources.")] = False,
) -> None:
    """List a process's schedules: id, state, when, next run, note."""
    api = ApiClient(url, api_key)
    process_id = api.process_id(process)
    items: list[dict[str, Any]] = []
    token = None
    while True:
        params = {"limit": 100, **({"continuation_token": token} if token else {})}
        page = api.call("GET", f"/processes/{process_id}/schedules", params=params)
        items += page["items"]
        token = page["continuation_token"]
        if not token:
            break
    for schedule in items:
        typer.echo(json.dumps(schedule) if as_json else _line(schedule))


@app.command()
def create(
    process: Annotated[str, typer.Argument(help="The process's id or name.")],
    cron: Annotated[
        str | None, typer.Option(help="5-field cron, e.g. '0 9 * * 1-5', or @hourly, @daily, …")
    ] = None,
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
    api = ApiClient(url, api_key)
    process_id = api.process_id(process)
    body: dict[str, Any] = {
        "cron": cron,
        "interval_seconds": every,
        "timezone": timezone,
        "inputs": _inputs(input or [], inputs),
        "overlap": overlap.value,
        "note": note,
        "paused": paused,
    }
    typer.echo(_line(api.call("POST", f"/processes/{process_id}/schedules", json=body)))


@app.command()
def pause(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Pause: no fires until resumed (trigger still works)."""
    body = {"paused": True}
    typer.echo(_line(ApiClient(url, api_key).call("PATCH", f"/schedules/{schedule_id}", json=body)))


@app.command()
def resume(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Resume a paused schedule."""
    body = {"paused": False}
    typer.echo(_line(ApiClient(url, api_key).call("PATCH", f"/schedules/{schedule_id}", json=body)))


@app.command()
def trigger(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Start one run now, even while paused."""
    typer.echo(_line(ApiClient(url, api_key).call("POST", f"/schedules/{schedule_id}/trigger")))


@app.command()
def delete(schedule_id: str, url: UrlOption = None, api_key: KeyOption = None) -> None:
    """Delete the schedule (its runs stay)."""
    ApiClient(url, api_key).call("DELETE", f"/schedules/{schedule_id}")
    typer.echo(f"deleted {schedule_id}")
