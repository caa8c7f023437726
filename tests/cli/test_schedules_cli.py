"""``openruns schedule …`` against the API served over real HTTP (uvicorn on a free port): the
same client, key lookup and error output as every other command."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from typer.testing import CliRunner, Result

from openruns.cli.main import app as cli
from openruns.settings import Settings
from tests.helpers import assert_eventually, free_port
from tests.helpers.api import create_process
from tests.helpers.schedules import delete_schedules_on, scheduled_runs

GREET = {
    "inputs": {"who": {"type": "string", "required": True}, "n": {"type": "integer"}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hi {{ inputs.who }}"}}],
    "outputs": {"text": "{{ steps.greet.text }}", "n": "{{ inputs.n }}"},
}


@pytest.fixture
async def served(api_url: str, settings: Settings, client: Client) -> AsyncIterator[str]:
    """The API on a real socket (tests/cli/conftest.py); its schedules are deleted after."""
    try:
        yield api_url
    finally:
        await delete_schedules_on(client, settings.task_queue)


async def openruns(settings: Settings, url: str, *args: str) -> Result:
    assert settings.api_key is not None
    env = {"OPENRUNS_API_KEY": settings.api_key.get_secret_value(), "OPENRUNS_API_URL": url}
    # The CLI is synchronous; run it in a thread so this event loop keeps serving the API.
    return await asyncio.to_thread(CliRunner().invoke, cli, ["schedule", *args], env=env)


async def test_schedule_commands_over_http(served: str, settings: Settings, worker: object) -> None:
    assert settings.api_key is not None
    headers = {"x-api-key": settings.api_key.get_secret_value()}
    async with httpx.AsyncClient(base_url=served, headers=headers) as api:
        process = await create_process(api, GREET, publish=True)
        pid = process["id"]

        made = await openruns(
            settings, served, "create", pid, "--cron", "0 9 * * 1-5", "--timezone",
            "Europe/Berlin", "--input", "who=cli", "--input", "n=3", "--paused", "--note", "standup",
        )  # fmt: skip
        assert made.exit_code == 0, made.output
        sid = made.output.split("\t")[0]
        assert (
            sid.startswith("sched-") and "paused\tcron '0 9 * * 1-5' Europe/Berlin" in made.output
        )

        listed = await openruns(settings, served, "list", process["name"])  # a name works too
        assert (
            listed.exit_code == 0 and listed.output.startswith(sid) and "standup" in listed.output
        )

        fired = await openruns(settings, served, "trigger", sid)
        assert fired.exit_code == 0, fired.output
        runs = await assert_eventually(
            lambda: scheduled_runs(api, sid),
            lambda runs: bool(runs) and runs[0]["state"] == "Succeeded",
        )
        run = (await api.get(f"/v2/runs/{runs[0]['id']}")).json()
        assert run["outputs"] == {"text": "hi cli", "n": 3}

        resumed = await openruns(settings, served, "resume", sid)
        assert resumed.exit_code == 0 and "\tactive\t" in resumed.output
        paused = await openruns(settings, served, "pause", sid)
        assert paused.exit_code == 0 and "\tpaused\t" in paused.output

        bad = await openruns(settings, served, "create", pid, "--every", "0", "--input", "who=x")
        assert bad.exit_code == 1 and "interval_seconds" in bad.output

        deleted = await openruns(settings, served, "delete", sid)
        assert deleted.exit_code == 0 and (await api.get(f"/v2/schedules/{sid}")).status_code == 404
        gone = await openruns(settings, served, "delete", sid)
        assert gone.exit_code == 1 and f"error (404): schedule {sid!r} not found" in gone.output
        nameless = await openruns(settings, served, "list", "no-such-process")
        assert nameless.exit_code == 1
        assert "no process with id or name 'no-such-process'" in nameless.output


async def test_unreachable_api_is_a_clear_error(settings: Settings) -> None:
    result = await openruns(settings, f"http://127.0.0.1:{free_port()}", "pause", "sched-x")
    assert result.exit_code == 2 and "cannot reach the API" in result.output


def test_without_a_key_the_command_says_so(tmp_path: object) -> None:
    env = {"OPENRUNS_API_KEY": "", "OPENRUNS_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(cli, ["schedule", "list", "proc-x"], env=env)
    assert result.exit_code == 2 and "OPENRUNS_API_KEY" in result.output
