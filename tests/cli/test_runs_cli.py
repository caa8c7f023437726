"""``openruns runs …`` and ``openruns test run`` against the API over HTTP, a real worker and
the dev server. Commands run in a thread so the worker keeps working meanwhile."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Protocol

import httpx
import pytest
from typer.testing import CliRunner, Result

from openruns.cli.main import app
from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.actions import act
from tests.helpers.api import create_process, start_run, wait_for_state

GREET = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}"},
}
SLEEPY = {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 60}}]}


class Cli(Protocol):
    """``openruns`` with these arguments, against the test API."""

    def __call__(self, *args: str) -> Awaitable[Result]: ...


@pytest.fixture
def cli(api_url: str, settings: Settings) -> Cli:
    assert settings.api_key is not None
    env = {"OPENRUNS_API_URL": api_url, "OPENRUNS_API_KEY": settings.api_key.get_secret_value()}

    async def invoke(*args: str) -> Result:
        return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)

    return invoke


async def test_runs_commands(cli: Cli, api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, GREET, name="cli greeter")
    done = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"who": "ada"}))["id"]
    )

    listed = await cli("runs", "list", "--process", "cli greeter")
    assert listed.exit_code == 0, listed.output
    assert done["id"] in listed.output and "Succeeded" in listed.output
    as_json = await cli("runs", "list", "-p", process["id"], "--json", "-q", "ada")
    assert [run["id"] for run in json.loads(as_json.output)] == [done["id"]]
    assert (
        json.loads((await cli("runs", "list", "-p", process["id"], "-q", "bob", "--json")).output)
        == []
    )

    shown = await cli("runs", "show", done["id"])
    assert shown.exit_code == 0 and '"greeting": "hello ada"' in shown.output
    assert "step greet" in shown.output
    missing = await cli("runs", "show", "run-nope")
    assert missing.exit_code == 1 and "not found" in missing.output

    rerun = await cli("runs", "rerun", done["id"])
    assert rerun.exit_code == 0, rerun.output
    new_id = rerun.output.split("re-run as ")[1].split()[0]
    again = await wait_for_state(api, new_id)
    assert again["rerun_of"] == done["id"] and again["outputs"] == {"greeting": "hello ada"}

    archived = await cli("runs", "archive", done["id"], "run-nope")
    assert archived.exit_code == 1  # one run could not be archived
    assert f"✓ {done['id']}" in archived.output and "✗ run-nope" in archived.output
    hidden = json.loads((await cli("runs", "list", "-p", process["id"], "--json")).output)
    assert [run["id"] for run in hidden] == [new_id]
    shown_archived = await cli("runs", "list", "-p", process["id"], "--archived", "true")
    assert done["id"] in shown_archived.output and "[archived]" in shown_archived.output
    assert (await cli("runs", "unarchive", done["id"])).exit_code == 0
    both = json.loads((await cli("runs", "list", "-p", process["id"], "--json")).output)
    assert {run["id"] for run in both} == {done["id"], new_id}

    sleepy = await create_process(api, SLEEPY)
    running = await start_run(api, sleepy["id"])
    await wait_for_state(api, running["id"], "Running")
    cancelled = await cli("runs", "cancel", running["id"])
    assert cancelled.exit_code == 0, cancelled.output
    assert cancelled.output == f"✓ {running['id']}  cancel requested (was Running)\n"
    assert (await wait_for_state(api, running["id"]))["state"] == "Cancelled"
    twice = await cli("runs", "cancel", running["id"])
    assert twice.exit_code == 1 and "already finished" in twice.output

    async def ids_listed(*args: str) -> list[str]:
        result = await cli("runs", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return [run["id"] for run in json.loads(result.output)]

    either = ("--state", "Failed", "--state", "Cancelled", "--state", "Failed")  # once is enough
    await assert_eventually(  # visibility indexes the cancel a moment later
        lambda: ids_listed("-p", sleepy["id"], *either), lambda ids: ids == [running["id"]]
    )
    assert await ids_listed("-p", process["id"], *either) == []


async def test_test_run_command(cli: Cli, api: httpx.AsyncClient, worker: object) -> None:
    process = await create_process(api, GREET)
    run = await wait_for_state(
        api, (await start_run(api, process["id"], inputs={"who": "x"}))["id"]
    )
    await act(api, "add_test_case", [run["id"]])

    passed = await cli("test", "run", process["id"])
    assert passed.exit_code == 0, passed.output
    assert "1 passed, 0 failed, 0 error" in passed.output

    changed = {**GREET, "outputs": {"greeting": "bye {{ inputs.who }}", "extra": None}}
    await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": changed})
    failed = await cli("test", "run", process["id"])
    assert failed.exit_code == 1
    assert 'greeting: expected "hello x", got "bye x"' in failed.output
    assert "extra: expected no such output, got null" in failed.output
    assert "0 passed, 1 failed, 0 error" in failed.output

    # After the change, re-run the original on what the Draft is now.
    rerun = await cli("runs", "rerun", run["id"], "--stage", "Draft")
    assert rerun.exit_code == 0, rerun.output
    assert rerun.output.startswith(f"✓ {run['id']}  re-run as run-")
    assert rerun.output.rstrip().endswith(" on Draft r2")
    new_id = rerun.output.split("re-run as ")[1].split()[0]
    assert (await wait_for_state(api, new_id))["outputs"] == {"greeting": "bye x", "extra": None}

    unpublished = await cli("test", "run", process["id"], "--stage", "Published")
    assert unpublished.exit_code == 1 and "no published revision" in unpublished.output


def test_without_a_key_the_command_says_so(tmp_path: object) -> None:
    result = CliRunner().invoke(
        app, ["runs", "list"], env={"OPENRUNS_API_KEY": "", "OPENRUNS_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2 and "OPENRUNS_API_KEY" in result.output


async def test_show_says_which_steps_did_not_run(
    cli: Cli, api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "check", "uses": "fail", "with": {"message": "no"}},
            {"id": "total", "uses": "set", "with": {"x": 1}},
        ]
    }
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])
    shown = await cli("runs", "show", done["id"])
    assert shown.exit_code == 0, shown.output
    steps = [line.split() for line in shown.output.splitlines() if line.startswith("  step ")]
    assert steps == [
        ["step", "check", "fail", "Failed", "(no)"],
        ["step", "total", "set", "Skipped"],
    ]


async def test_step_outputs_prints_what_each_step_output(
    cli: Cli, api: httpx.AsyncClient, worker: object
) -> None:
    definition = {
        "steps": [
            {"id": "greet", "uses": "set", "with": {"text": "hi", "n": 2}},
            {"id": "check", "uses": "fail", "with": {"message": "no"}},
        ]
    }
    process = await create_process(api, definition)
    done = await wait_for_state(api, (await start_run(api, process["id"]))["id"])

    every = await cli("runs", "step-outputs", done["id"])
    assert every.exit_code == 0, every.output
    assert json.loads(every.output) == {"greet": {"text": "hi", "n": 2}}
    one = await cli("runs", "step-outputs", done["id"], "greet")
    assert (one.exit_code, json.loads(one.output)) == (0, {"text": "hi", "n": 2})

    failed = await cli("runs", "step-outputs", done["id"], "check")
    assert failed.exit_code == 1
    assert "step 'check' has no output" in failed.output
    assert "it failed, was skipped over" in failed.output
    missing = await cli("runs", "step-outputs", "no-such-run")
    assert missing.exit_code == 1 and "run 'no-such-run' not found" in missing.output
    # The id is one path segment, whatever it holds (not another run, or another resource).
    odd = await cli("runs", "step-outputs", f"{done['id']}?x=")
    assert odd.exit_code == 1 and "error (422)" in odd.output, odd.output
    assert "path.run_id" in odd.output
