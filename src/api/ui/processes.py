"""Processes pages: the list (stage, last run) and one process (definition, Draft/Published
revisions, Publish, email address, schedules with Pause/Resume and Run now, recent runs, its
Run forms)."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from temporalio.client import Client

from api.deps import DatabaseDep, SessionDep, SettingsDep, TemporalDep
from api.ui.auth import CsrfSessionDep, UiSessionDep
from api.ui.render import page
from api.ui.run_form import forms_for
from openruns.models import Run
from openruns.run_actions import ArchivedFilter
from openruns.schedules.models import SchedulePatch, ScheduleTrigger
from openruns.services import email_triggers, processes, run_list, run_query, schedules
from openruns.services.processes import revision_for_stage
from openruns.settings import Settings
from openruns.states import Stage

router = APIRouter(prefix="/ui", include_in_schema=False)
PAGE_SIZE = 20
SCHEDULE_DONE = {
    "pause": "Schedule paused: it starts no runs until it is resumed.",
    "resume": "Schedule resumed.",
    "trigger": "Schedule fired: its run starts in a moment.",
}


async def _last_run(client: Client, settings: Settings, process_id: str) -> Run | None:
    """The run lists show first: one still going, else the one that ended last."""
    found = await run_query.list_runs(
        client, settings, run_query.RunFilters(process_id=process_id), 1, None
    )
    return found.items[0] if found.items else None


@router.get("")
async def processes_page(
    request: Request,
    ui: UiSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    continuation_token: str | None = None,
) -> Response:
    items, token = await processes.list_page(session, PAGE_SIZE, continuation_token)
    await session.commit()
    last = await asyncio.gather(*(_last_run(temporal, settings, p.id) for p in items))
    return page(
        request,
        "processes.html",
        ui,
        nav="processes",
        rows=list(zip(items, last, strict=True)),
        next_token=token,
        paged=continuation_token is not None,
    )


@router.get("/processes/{process_id}")
async def process_page(
    process_id: str,
    request: Request,
    ui: UiSessionDep,
    session: SessionDep,
    database: DatabaseDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    published: int | None = None,
    schedule: str | None = None,
    saved: int | None = None,
    created: bool = False,
) -> Response:
    process = await processes.get(session, process_id)
    both = process.published_revision == process.draft_revision
    revisions = [
        {
            "label": "Draft and Published" if both else "Draft",
            "revision": process.draft_revision,
            "definition": process.definition,
        }
    ]
    if process.published_revision and not both:
        published_row = await revision_for_stage(session, process_id, Stage.PUBLISHED)
        revisions.append(
            {
                "label": "Published",
                "revision": published_row.revision,
                "definition": published_row.definition,
            }
        )
    forms = await forms_for(session, process)
    trigger = await email_triggers.get(session, process_id, settings.email_domain)
    filters = run_query.RunFilters(process_id=process_id)
    scheduled, recent = await asyncio.gather(
        schedules.list_page(temporal, session, settings, process_id, 50, None),
        run_list.list_runs(temporal, database, settings, filters, ArchivedFilter.FALSE, 5, None),
    )
    return page(
        request,
        "process.html",
        ui,
        nav="processes",
        process=process,
        revisions=revisions,
        forms=forms,
        trigger=trigger,
        schedules=scheduled.items,
        recent=recent.items,
        published=published,
        saved=saved,
        created=created,
        schedule_done=SCHEDULE_DONE.get(schedule or ""),
    )


@router.post("/processes/{process_id}/publish")
async def publish(
    process_id: str,
    _: CsrfSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Publish the draft revision; the process's schedules follow it (as in the API)."""
    process = await processes.publish(session, process_id, temporal, settings)
    return RedirectResponse(
        f"/ui/processes/{process_id}?published={process.published_revision}", status_code=303
    )


@router.post("/schedules/{schedule_id}/{action}")
async def schedule_action(
    schedule_id: str,
    action: Literal["pause", "resume", "trigger"],
    _: CsrfSessionDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> Response:
    """Pause, resume or fire a schedule now, through the services the API uses."""
    if action == "trigger":
        done = await schedules.trigger(temporal, settings, schedule_id, ScheduleTrigger())
    else:
        patch = SchedulePatch(paused=action == "pause")
        done = await schedules.update(temporal, session, settings, schedule_id, patch)
    return RedirectResponse(
        f"/ui/processes/{done.process_id}?schedule={action}#schedules-title", status_code=303
    )
