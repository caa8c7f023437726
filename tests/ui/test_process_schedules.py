"""A process page's schedules over HTTP: Pause, Resume and Run now, as forms with the session's
CSRF token, through the same services as ``PATCH`` and ``POST .../trigger`` of the API."""

from __future__ import annotations

import re

import httpx

from tests.helpers import assert_eventually
from tests.helpers.api import create_process
from tests.helpers.schedules import create_schedule, get_schedule, scheduled_runs
from tests.helpers.ui import log_in


def _schedule_forms(html: str) -> list[tuple[str, str]]:
    """(action URL, button text) of each form in the Schedules section."""
    section = re.search(
        r'<section[^>]*aria-labelledby="schedules-title">(.*?)</section>', html, re.S
    )
    assert section, "no Schedules section"
    return re.findall(
        r'<form method="post" action="([^"]+)".*?<button type="submit">([^<]+)</button>',
        section.group(1),
        re.S,
    )


async def test_pause_resume_and_run_a_schedule_now_from_the_process_page(
    ui_http: httpx.AsyncClient, api: httpx.AsyncClient, api_key: str, worker: object
) -> None:
    process = await create_process(api, {"outputs": {"hello": "world"}}, publish=True)
    schedule = await create_schedule(api, process["id"], interval_seconds=3600)
    sid = schedule["id"]
    try:
        csrf = await log_in(ui_http, api_key)
        page = await ui_http.get(f"/ui/processes/{process['id']}")
        assert _schedule_forms(page.text) == [
            (f"/ui/schedules/{sid}/pause", "Pause"),
            (f"/ui/schedules/{sid}/trigger", "Run now"),
        ]

        refused = await ui_http.post(f"/ui/schedules/{sid}/pause")  # no CSRF token
        assert refused.status_code == 403 and not (await get_schedule(api, sid))["paused"]

        paused = await ui_http.post(f"/ui/schedules/{sid}/pause", data={"csrf_token": csrf})
        assert paused.status_code == 303
        assert paused.headers["location"].startswith(f"/ui/processes/{process['id']}?")
        assert (await get_schedule(api, sid))["paused"] is True
        page = await ui_http.get(paused.headers["location"])
        assert "Schedule paused" in page.text and ">Paused</span>" in page.text
        assert _schedule_forms(page.text)[0] == (f"/ui/schedules/{sid}/resume", "Resume")

        fired = await ui_http.post(f"/ui/schedules/{sid}/trigger", data={"csrf_token": csrf})
        assert fired.status_code == 303  # even while paused, as the API's trigger
        assert "Schedule fired" in (await ui_http.get(fired.headers["location"])).text
        [run] = await assert_eventually(lambda: scheduled_runs(api, sid), timeout=20)
        assert run["process_id"] == process["id"] and run["trigger"] == "schedule"

        resumed = await ui_http.post(f"/ui/schedules/{sid}/resume", data={"csrf_token": csrf})
        assert resumed.status_code == 303 and (await get_schedule(api, sid))["paused"] is False
        page = await ui_http.get(resumed.headers["location"])
        assert "Schedule resumed." in page.text and ">Active</span>" in page.text

        odd = await ui_http.post(f"/ui/schedules/{sid}/explode", data={"csrf_token": csrf})
        assert odd.status_code == 422 and "<html" in odd.text
        gone = await ui_http.post("/ui/schedules/sched-nope/pause", data={"csrf_token": csrf})
        assert gone.status_code == 404 and "<html" in gone.text
    finally:
        await api.delete(f"/v2/schedules/{sid}")
