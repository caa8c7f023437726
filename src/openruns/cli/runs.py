"""``openruns runs …`` and ``openruns test run``: run management from the shell, over the API."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any
from urllib.parse import quote

import typer

from openruns.cli.api_client import ApiClient, JsonOption, KeyOption, UrlOption
from openruns.run_actions import ArchivedFilter
from openruns.states import RunState, Stage, Trigger

runs_app = typer.Typer(help="List, inspect, cancel, re-run and archive runs.", no_args_is_help=True)
test_app = typer.Typer(help="Run the test suite of processes.", no_args_is_help=True)
RunIds = Annotated[list[str], typer.Argument(help="Run ids (up to 500).", show_default=False)]


def _dump(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def _row(run: dict[str, Any]) -> str:
    revision = f"r{run['revision']}" if run.get("revision") else ""
    when = (run.get("ended_at") or run.get("created_at") or "")[:19].replace("T", " ")
    flag = " [archived]" if run.get("archived") else ""
    return (
        f"{run['id']:<32} {run['state']:<10} {run.get('trigger') or '':<9} "
        f"{(run.get('stage') or '') + ' ' + revision:<14} {when:<20} {run.get('name') or ''}{flag}"
    )


@runs_app.command("list")
def list_runs(
    process: Annotated[
        str | None, typer.Option("--process", "-p", help="Process id or name.")
    ] = None,
    state: Annotated[
        list[RunState] | None,
        typer.Option(help="Only runs in this state; repeat it for any of several."),
    ] = None,
    trigger: Annotated[
        list[Trigger] | None,
        typer.Option(help="Only runs with this trigger; repeat it for any of several."),
    ] = None,
    stage: Annotated[list[Stage] | None, typer.Option(help="Draft or Published.")] = None,
    archived: Annotated[
        ArchivedFilter, typer.Option(help="false, true or all.")
    ] = ArchivedFilter.FALSE,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Words that must all occur.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many runs.")] = 20,
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs, unfinished first, then the most recently ended."""
    api = ApiClient(url, api_key)
    params = {
        "process_id": api.process_id(process) if process else None,
        # each value once (the API refuses a value given twice)
        "state": list(dict.fromkeys(state or [])) or None,
        "trigger": list(dict.fromkeys(trigger or [])) or None,
        "stage": list(dict.fromkeys(stage or [])) or None,
        "archived": archived.value, "q": search,
    }  # fmt: skip
    runs: list[dict[str, Any]] = []
    token = None
    while len(runs) < limit:
        page = api.call(
            "GET",
            "/runs",
            params={k: v for k, v in params.items() if v is not None}
            | {"limit": min(100, limit - len(runs))}
            | ({"continuation_token": token} if token else {}),
        )
        runs += page["items"]
        token = page["continuation_token"]
        if not token:
            break
    if as_json:
        _dump(runs)
        return
    for run in runs:
        typer.echo(_row(run))
    if token:
        typer.echo(f"… more: raise --limit (now {limit})")


@runs_app.command("show")
def show(
    run_id: str, url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False
) -> None:
    """One run: state, timings, inputs, outputs, error and step timeline."""
    run = ApiClient(url, api_key).call("GET", f"/runs/{quote(run_id, safe='')}")
    if as_json:
        _dump(run)
        return
    typer.echo(_row(run))
    for key in (
        "process_id",
        "started_at",
        "ended_at",
        "rerun_of",
        "archived_at",
        "temporal_ui_url",
    ):
        if run.get(key):
            typer.echo(f"  {key}: {run[key]}")
    typer.echo(f"  inputs: {json.dumps(run.get('inputs'))}")
    if run.get("outputs") is not None:
        typer.echo(f"  outputs: {json.dumps(run['outputs'])}")
    if run.get("error"):
        typer.echo(f"  error: {run['error']['message']}")
    for step in run.get("steps") or []:
        error = f"  ({step['error']})" if step.get("error") else ""
        typer.echo(f"  step {step['id']:<20} {step['uses']:<10} {step['state']}{error}")


@runs_app.command("step-outputs")
def step_outputs(
    run_id: str,
    step_id: Annotated[
        str | None, typer.Argument(help="Print only this step's output.", show_default=False)
    ] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """What each finished step of a run output, as JSON: what ``steps.<id>`` held for the
    templates after it (null for a skipped step). A worker reads them from the run."""
    path = f"/runs/{quote(run_id, safe='')}/step-outputs"
    params = {"step": step_id} if step_id is not None else {}
    steps = ApiClient(url, api_key).call("GET", path, params=params)["steps"]
    if step_id is None:
        _dump(steps)
    elif step_id in steps:
        _dump(steps[step_id])
    else:
        typer.echo(
            f"error: step {step_id!r} has no output: it failed, was skipped over, has not "
            "finished, or is not a step of this run (without STEP: every step's output)",
            err=True,
        )
        raise typer.Exit(1)


def _act(
    action: str,
    run_ids: list[str],
    url: str | None,
    key: str | None,
    as_json: bool,
    **options: str,
) -> None:
    results = ApiClient(url, key).call(
        "POST", "/runs/actions", json={"action": action, "run_ids": run_ids, **options}
    )["results"]
    if as_json:
        _dump(results)
    for result in [] if as_json else results:
        if not result["ok"]:
            typer.echo(f"✗ {result['run_id']}  {result['error']}")
        elif action == "rerun":
            run = result["run"]
            on = f" on {run['stage']} r{run['revision']}" if options else ""
            typer.echo(f"✓ {result['run_id']}  re-run as {run['id']}{on}")
        elif action == "cancel":  # the run stops on its own time; it was in this state
            typer.echo(f"✓ {result['run_id']}  cancel requested (was {result['run']['state']})")
        else:
            typer.echo(f"✓ {result['run_id']}  {action}: {result['run']['state']}")
    if not all(result["ok"] for result in results):
        raise typer.Exit(1)


@runs_app.command("cancel")
def cancel(
    run_ids: RunIds, url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False
) -> None:
    """Request cancellation of Pending or Running runs."""
    _act("cancel", run_ids, url, api_key, as_json)


@runs_app.command("rerun")
def rerun(
    run_ids: RunIds,
    stage: Annotated[
        Stage | None,
        typer.Option(
            help="Run the process's current Draft or Published revision instead of the one "
            "each run ran (same inputs and files), e.g. after fixing what failed."
        ),
    ] = None,
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start each run again: same process, stage, revision, inputs and files."""
    options = {"stage": stage.value} if stage else {}
    _act("rerun", run_ids, url, api_key, as_json, **options)


@runs_app.command("archive")
def archive(
    run_ids: RunIds, url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False
) -> None:
    """Hide runs from the default list (running runs keep running)."""
    _act("archive", run_ids, url, api_key, as_json)


@runs_app.command("unarchive")
def unarchive(
    run_ids: RunIds, url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False
) -> None:
    """Bring archived runs back to the default list."""
    _act("unarchive", run_ids, url, api_key, as_json)


@test_app.command("run")
def test_run(
    processes: Annotated[
        list[str], typer.Argument(help="Process ids or names.", show_default=False)
    ],
    stage: Annotated[Stage, typer.Option(help="The revision to test.")] = Stage.DRAFT,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the results (0: don't).")] = 600,
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run every test case of PROCESSES; exit 1 when a case fails or errors."""
    api = ApiClient(url, api_key)
    process_ids = [api.process_id(ref) for ref in processes]
    report = api.call("POST", "/test-runs", json={"process_ids": process_ids, "stage": stage})
    deadline = time.monotonic() + wait
    while report["state"] != "Completed" and time.monotonic() < deadline:
        time.sleep(0.25)
        report = api.call("GET", f"/test-runs/{report['id']}")
    if as_json:
        _dump(report)
    else:
        for result in report["results"]:
            typer.echo(
                f"{result['outcome'].upper():<7} {result['test_case_id']}  run {result['run_id']}"
            )
            for entry in result["diff"]:
                sides = [
                    "no such output" if entry.get("missing") == side else json.dumps(entry[side])
                    for side in ("expected", "actual")
                ]
                typer.echo(f"  {entry['key']}: expected {sides[0]}, got {sides[1]}")
            if result.get("error"):
                typer.echo(f"  {result['error']}")
        totals = report["totals"]
        typer.echo(
            f"{report['id']} {report['state']}: {totals['passed']} passed, "
            f"{totals['failed']} failed, {totals['error']} error"
            + (f", {totals['pending']} pending" if totals["pending"] else "")
        )
    totals = report["totals"]
    if totals["failed"] or totals["error"] or report["state"] != "Completed":
        raise typer.Exit(1)
