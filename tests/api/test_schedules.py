"""Schedules over the API against the real dev server: every schedule is a Temporal Schedule."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import Client

from api import create_app
from openruns.settings import Settings
from tests.helpers import assert_eventually
from tests.helpers.api import create_process, get_run
from tests.helpers.schedules import (
    create_schedule,
    get_schedule,
    patch_schedule,
    scheduled_runs,
)

GREET = {
    "inputs": {"who": {"type": "string", "required": True}},
    "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
    "outputs": {"greeting": "{{ steps.greet.text }}", "revision": "{{ run.revision }}"},
}


pytestmark = pytest.mark.usefixtures("delete_schedules")


def succeeded(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r["state"] == "Succeeded"]


async def test_interval_schedule_runs_the_published_revision(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, GREET, publish=True)
    schedule = await create_schedule(
        api, process["id"], interval_seconds=2, inputs={"who": "sched"}, note="every 2 s"
    )
    assert schedule["id"].startswith("sched-")
    assert schedule["process_id"] == process["id"]
    assert (schedule["interval_seconds"], schedule["cron"]) == (2, None)
    assert schedule["inputs"] == {"who": "sched"} and schedule["note"] == "every 2 s"
    assert schedule["overlap"] == "skip" and schedule["paused"] is False
    assert schedule["timezone"] == "UTC" and len(schedule["next_run_times"]) == 5

    runs = await assert_eventually(
        lambda: scheduled_runs(api, schedule["id"]),
        lambda runs: len(succeeded(runs)) >= 2,
        timeout=30,
        message="two scheduled runs succeeded",
    )
    run = await get_run(api, succeeded(runs)[0]["id"])
    assert run["trigger"] == "schedule" and run["schedule_id"] == schedule["id"]
    assert run["stage"] == "Published" and run["revision"] == 1
    assert run["inputs"] == {"who": "sched"}
    assert run["outputs"] == {"greeting": "hello sched", "revision": 1}

    listed = await api.get("/v2/runs", params={"trigger": "schedule", "process_id": process["id"]})
    listed_run = next(r for r in listed.json()["items"] if r["id"] == run["id"])
    assert listed_run["schedule_id"] == schedule["id"] and listed_run["trigger"] == "schedule"
    read = await get_schedule(api, schedule["id"])
    assert run["id"] in {r["id"] for r in read["recent_runs"]}


async def test_pause_stops_runs_trigger_fires_while_paused_resume_restarts(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, GREET, publish=True)
    schedule = await create_schedule(api, process["id"], interval_seconds=2, inputs={"who": "p"})
    sid = schedule["id"]
    await assert_eventually(
        lambda: scheduled_runs(api, sid), lambda runs: len(succeeded(runs)) >= 1, timeout=30
    )

    paused = await patch_schedule(api, sid, paused=True)
    assert paused["paused"] is True and paused["next_run_times"] == []
    assert paused["inputs"] == {"who": "p"}  # the rest of the schedule is untouched
    before = await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: all(r["state"] == "Succeeded" for r in runs),
        message="runs started before the pause finished",
    )
    # An observation window of two and a half intervals: nothing may start while paused.
    await asyncio.sleep(5)
    assert {r["id"] for r in await scheduled_runs(api, sid)} == {r["id"] for r in before}

    response = await api.post(f"/v2/schedules/{sid}/trigger")
    assert response.status_code == 202, response.text
    assert response.json()["paused"] is True
    after_trigger = await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: len(succeeded(runs)) == len(before) + 1,
        timeout=10,
        message="trigger-now started one run while paused",
    )

    resumed = await patch_schedule(api, sid, paused=False)
    assert resumed["paused"] is False and len(resumed["next_run_times"]) == 5
    await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: len(succeeded(runs)) > len(after_trigger),
        timeout=30,
        message="runs restarted after resume",
    )

    assert (await api.delete(f"/v2/schedules/{sid}")).status_code == 204
    assert (await api.get(f"/v2/schedules/{sid}")).status_code == 404
    assert (await api.delete(f"/v2/schedules/{sid}")).status_code == 404


async def test_republishing_changes_the_revision_the_next_fire_runs(
    api: httpx.AsyncClient, worker: object
) -> None:
    process = await create_process(api, GREET, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=1, inputs={"who": "r"}))["id"]
    await assert_eventually(
        lambda: scheduled_runs(api, sid), lambda runs: len(succeeded(runs)) >= 1, timeout=30
    )

    v2 = {**GREET, "outputs": {"greeting": "bonjour {{ inputs.who }}", "revision": 2}}
    saved = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": v2})
    assert saved.status_code == 200, saved.text
    published = await api.post(f"/v2/processes/{process['id']}/publish")
    assert published.status_code == 200, published.text
    published_at = datetime.fromisoformat(published.json()["updated_at"])

    def started_after_publish(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in runs if datetime.fromisoformat(r["created_at"]) > published_at]

    runs = await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: len(succeeded(started_after_publish(runs))) >= 1,
        timeout=30,
        message="a scheduled run started after the publish",
    )
    assert {r["revision"] for r in succeeded(started_after_publish(runs))} == {2}
    later = await get_run(api, succeeded(started_after_publish(runs))[0]["id"])
    assert later["outputs"] == {"greeting": "bonjour r", "revision": 2}
    schedule = await get_schedule(api, sid)
    assert schedule["inputs"] == {"who": "r"}  # the schedule itself was not edited


def weekday_nines_in_berlin(after: datetime, count: int) -> list[datetime]:
    """09:00 Europe/Berlin on Monday-Friday after ``after``, in UTC, worked out with zoneinfo."""
    berlin = ZoneInfo("Europe/Berlin")
    day = after.astimezone(berlin).date()
    found: list[datetime] = []
    while len(found) < count:
        local = datetime.combine(day, time(9), tzinfo=berlin)
        if local.weekday() < 5 and local > after:
            found.append(local.astimezone(UTC))
        day += timedelta(days=1)
    return found


async def test_next_run_times_follow_the_time_zone(api: httpx.AsyncClient) -> None:
    process = await create_process(api, GREET, publish=True)
    now = datetime.now(UTC)
    schedule = await create_schedule(
        api, process["id"], cron="0 9 * * 1-5", timezone="Europe/Berlin", inputs={"who": "tz"}
    )
    assert schedule["cron"] == "0 9 * * 1-5" and schedule["timezone"] == "Europe/Berlin"
    got = [datetime.fromisoformat(t) for t in schedule["next_run_times"]]
    expected = weekday_nines_in_berlin(now, 6)
    assert got in (expected[:5], expected[1:])  # [1:] only if 09:00 passed during the request
    assert all(t.utcoffset() == timedelta(0) for t in got)


async def test_cron_macros_fire_as_temporal_reads_them_in_the_time_zone(
    api: httpx.AsyncClient,
) -> None:
    process = await create_process(api, GREET, publish=True)
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+05:30: its hours start at half past in UTC
    now = datetime.now(UTC)
    hourly = await create_schedule(
        api, process["id"], cron="@hourly", timezone="Asia/Kolkata", inputs={"who": "tz"}
    )
    assert (hourly["cron"], hourly["timezone"]) == ("@hourly", "Asia/Kolkata")  # as written
    got = [datetime.fromisoformat(t) for t in hourly["next_run_times"]]
    assert len(got) == 5 and now < got[0] <= now + timedelta(hours=1, minutes=1), got
    assert all(later - earlier == timedelta(hours=1) for earlier, later in itertools.pairwise(got))
    assert all((t.astimezone(kolkata).minute, t.second) == (0, 0) for t in got)  # on the hour
    assert all(t.minute == 30 and t.utcoffset() == timedelta(0) for t in got)  # in UTC: :30
    assert (await get_schedule(api, hourly["id"]))["cron"] == "@hourly"

    daily = await patch_schedule(api, hourly["id"], cron="@daily")
    assert daily["cron"] == "@daily"
    got = [datetime.fromisoformat(t) for t in daily["next_run_times"]]
    assert [t.astimezone(kolkata).time() for t in got] == [time(0)] * 5  # midnight there
    assert all(later - earlier == timedelta(days=1) for earlier, later in itertools.pairwise(got))


async def test_overlap_skip_never_runs_two_at_once(
    api: httpx.AsyncClient, worker: object, client: Client
) -> None:
    slow = {"steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 2.5}}]}
    process = await create_process(api, slow, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=1, overlap="skip"))["id"]
    await assert_eventually(
        lambda: scheduled_runs(api, sid), lambda runs: len(succeeded(runs)) >= 2, timeout=40
    )
    await patch_schedule(api, sid, paused=True)
    runs = sorted(await scheduled_runs(api, sid), key=lambda r: r["created_at"])
    for earlier, later in itertools.pairwise(runs):
        assert earlier["ended_at"] is not None, (earlier, later)
        assert later["created_at"] >= earlier["ended_at"], (earlier, later)
    # Temporal counted the fires it skipped because a run was still going.
    info = (await client.get_schedule_handle(sid).describe()).info
    assert info.num_actions_skipped_overlap >= 1


async def test_schedules_live_in_temporal_and_survive_an_api_restart(
    api: httpx.AsyncClient, settings: Settings, database: object
) -> None:
    process = await create_process(api, GREET, publish=True)
    made = [
        await create_schedule(
            api, process["id"], cron="*/5 * * * *", inputs={"who": "a"}, paused=True
        ),
        await create_schedule(
            api, process["id"], interval_seconds=3600, inputs={"who": "b"}, overlap="allow_all",
            timezone="Asia/Kathmandu", note="hourly",
        ),
    ]  # fmt: skip
    fresh = create_app(settings)
    assert settings.api_key is not None
    async with fresh.router.lifespan_context(fresh):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=fresh),
            base_url="http://restarted.test",
            headers={"x-api-key": settings.api_key.get_secret_value()},
        ) as restarted:
            listed = await restarted.get(f"/v2/processes/{process['id']}/schedules")
            assert listed.status_code == 200, listed.text
            paged: list[str] = []
            token = None
            for _ in range(4):  # Temporal may end with an empty page
                page = await restarted.get(
                    f"/v2/processes/{process['id']}/schedules",
                    params={"limit": 1, **({"continuation_token": token} if token else {})},
                )
                assert page.status_code == 200, page.text
                paged += [s["id"] for s in page.json()["items"]]
                token = page.json()["continuation_token"]
                if token is None:
                    break
    fields = ("id", "cron", "interval_seconds", "timezone", "inputs", "overlap", "paused", "note")
    assert sorted(({k: s[k] for k in fields} for s in listed.json()["items"]), key=str) == sorted(
        ({k: s[k] for k in fields} for s in made), key=str
    )
    assert token is None
    assert sorted(paged) == sorted(s["id"] for s in made)


async def test_scheduled_runs_time_out_with_the_published_timeout(
    api: httpx.AsyncClient, worker: object, client: Client
) -> None:
    patient = {"timeout": 600, "steps": [{"id": "nap", "uses": "sleep", "with": {"seconds": 30}}]}
    process = await create_process(api, patient, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=3600, paused=True))["id"]
    action = (await client.get_schedule_handle(sid).describe()).schedule.action
    assert getattr(action, "execution_timeout", None) == timedelta(seconds=600)

    hasty = {**patient, "timeout": 1}
    await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": hasty})
    assert (await api.post(f"/v2/processes/{process['id']}/publish")).status_code == 200
    action = (await client.get_schedule_handle(sid).describe()).schedule.action
    assert getattr(action, "execution_timeout", None) == timedelta(seconds=1)

    fired = await api.post(f"/v2/schedules/{sid}/trigger", json={"overlap": "allow_all"})
    assert fired.status_code == 202, fired.text
    runs = await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: bool(runs) and runs[0]["state"] == "TimedOut",
        timeout=20,
    )
    assert (await get_run(api, runs[0]["id"]))["error"]["type"] == "TimedOut"


async def test_a_scheduled_runs_child_keeps_the_trigger_not_the_schedule(
    api: httpx.AsyncClient, worker: object
) -> None:
    """A `process` step's child run records the parent's trigger and the step's stage (Draft
    on purpose here); only the parent is the schedule's run (README, "The process step")."""
    doubler = {
        "inputs": {"n": {"type": "integer", "required": True}},
        "steps": [{"id": "double", "uses": "set", "with": {"value": "{{ inputs.n * 2 }}"}}],
        "outputs": {"doubled": "{{ steps.double.value }}"},
    }
    child = await create_process(api, doubler)  # never published: only its Draft exists
    call = {"process_id": child["id"], "stage": "Draft", "inputs": {"n": 2}}
    parent = await create_process(
        api,
        {
            "steps": [{"id": "call", "uses": "process", "with": call}],
            "outputs": {"doubled": "{{ steps.call.doubled }}"},
        },
        publish=True,
    )
    schedule = await create_schedule(api, parent["id"], interval_seconds=3600, paused=True)
    fired = await api.post(f"/v2/schedules/{schedule['id']}/trigger")
    assert fired.status_code == 202, fired.text

    runs = await assert_eventually(
        lambda: scheduled_runs(api, schedule["id"]),
        lambda runs: len(succeeded(runs)) == 1,
        timeout=30,
        message="the fired run succeeded",
    )
    assert len(runs) == 1, runs  # the child is not listed as the schedule's
    parent_run = await get_run(api, runs[0]["id"])
    assert parent_run["outputs"] == {"doubled": 4}
    child_run = await get_run(api, parent_run["steps"][0]["child_run_id"])
    assert child_run["parent_run_id"] == parent_run["id"]
    assert (child_run["trigger"], child_run["schedule_id"]) == ("schedule", None)
    assert (child_run["process_id"], child_run["stage"]) == (child["id"], "Draft")
    read = await get_schedule(api, schedule["id"])
    assert [r["id"] for r in read["recent_runs"]] == [parent_run["id"]]


async def test_a_scheduled_run_whose_inputs_no_longer_fit_fails_naming_them(
    api: httpx.AsyncClient, worker: object
) -> None:
    """The schedule keeps its inputs; a later revision that declares others fails the run
    with a message naming each input, not "Activity task failed"."""
    process = await create_process(api, GREET, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=3600, paused=True,
                                 inputs={"who": "team"}))["id"]  # fmt: skip
    renamed = {"inputs": {"customer": {"type": "string", "required": True}},
               "steps": [{"id": "greet", "uses": "set", "with": {"to": "{{ inputs.customer }}"}}],
               "outputs": {"greeting": "hello {{ inputs.customer }}"}}  # fmt: skip
    saved = await api.put(f"/v2/processes/{process['id']}/draft", json={"definition": renamed})
    assert saved.status_code == 200, saved.text
    assert (await api.post(f"/v2/processes/{process['id']}/publish")).status_code == 200

    fired = await api.post(f"/v2/schedules/{sid}/trigger")
    assert fired.status_code == 202, fired.text
    runs = await assert_eventually(
        lambda: scheduled_runs(api, sid),
        lambda runs: bool(runs) and runs[0]["state"] == "Failed",
        timeout=20,
    )
    error = (await get_run(api, runs[0]["id"]))["error"]
    assert error == {
        "message": "the inputs are not valid: inputs.who: unknown input; "
        "inputs.customer: required input is missing",
        "step": None,
        "type": "InvalidInput",
    }


async def test_concurrent_edits_of_one_schedule_all_land(
    api: httpx.AsyncClient, client: Client
) -> None:
    """Each PATCH and a publish are read-modify-writes of the whole Temporal Schedule; when
    they overlap, each must keep what the others wrote (Temporal's conflict token drops a
    stale write, and the loser starts again from the winner's schedule)."""
    definition = {**GREET, "timeout": 600}
    process = await create_process(api, definition, publish=True)
    sid = (await create_schedule(api, process["id"], interval_seconds=3600, inputs={"who": "a"}))[
        "id"
    ]
    await api.put(
        f"/v2/processes/{process['id']}/draft", json={"definition": {**definition, "timeout": 7}}
    )
    edits: list[dict[str, Any]] = [
        {"paused": True},
        {"note": "edited"},
        {"overlap": "allow_all"},
        {"inputs": {"who": "b"}},
        {"timezone": "Europe/Paris"},
    ]
    answers = await asyncio.gather(
        *(api.patch(f"/v2/schedules/{sid}", json=edit) for edit in edits),
        api.post(f"/v2/processes/{process['id']}/publish"),
    )
    assert [a.status_code for a in answers] == [200] * len(edits) + [200], [a.text for a in answers]
    final = await get_schedule(api, sid)
    assert final["paused"] is True and final["note"] == "edited"
    assert final["overlap"] == "allow_all" and final["inputs"] == {"who": "b"}
    assert final["timezone"] == "Europe/Paris"
    action = (await client.get_schedule_handle(sid).describe()).schedule.action
    assert getattr(action, "execution_timeout", None) == timedelta(seconds=7)
