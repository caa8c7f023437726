"""Schedule use cases: each OpenRuns schedule is exactly one Temporal Schedule.

Nothing about a schedule is stored in the metadata database: it is read back from Temporal on
every request, so any API replica answers, and schedules survive API restarts. The database is
only asked which revision is published (scheduled runs need one) and what inputs it declares.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, ScheduleDescription
from temporalio.client import Schedule as TemporalSchedule
from temporalio.service import RPCError

from openruns.definition.inputs import as_mapping, resolve_inputs
from openruns.errors import Conflict, InvalidInput, NotFound, Unavailable, error_detail
from openruns.ids import new_id
from openruns.models import Page
from openruns.pagination import decode_token, encode_token
from openruns.schedules.config import ScheduleConfig, apply_patch, check_spec
from openruns.schedules.models import (
    Schedule,
    ScheduleCreate,
    SchedulePatch,
    ScheduleRun,
    ScheduleTrigger,
)
from openruns.schedules.temporal import (
    OVERLAP_POLICIES,
    SCHEDULE_ID,
    describe,
    from_temporal,
    list_ids,
    new_write_id,
    schedule_rpc,
    schedule_search_attributes,
    to_temporal,
    write_id,
)
from openruns.schedules.temporal import update as temporal_update
from openruns.services import run_query
from openruns.services.processes import load_definition, revision_for_stage
from openruns.settings import Settings
from openruns.states import Stage, Trigger
from openruns.store import processes as process_repo
from openruns.temporal import is_unavailable

NEXT_RUN_TIMES = 5
UPDATE_ATTEMPTS = 10  # read-modify-write rounds before a schedule that keeps changing is a 409
RECENT_RUNS = 10


async def _published(
    session: AsyncSession, config: ScheduleConfig, *, check_inputs: bool
) -> tuple[str, int]:
    """The process name and published timeout; 409 for a process that was never published."""
    process = await process_repo.get_process(session, config.process_id)
    if process.published_revision is None:
        raise Conflict(
            f"process {process.id!r} has no published revision: publish it first "
            "(scheduled runs always execute the Published revision)",
            [error_detail(("process_id",), "no published revision")],
        )
    definition = load_definition(await revision_for_stage(session, process.id, Stage.PUBLISHED))
    if check_inputs:
        resolve_inputs(definition, config.inputs)  # 422 naming inputs.<name>
    return process.name, definition.timeout


async def _prepare(
    session: AsyncSession,
    settings: Settings,
    schedule_id: str,
    config: ScheduleConfig,
    *,
    check_inputs: bool,
    write: str = "",
) -> TemporalSchedule:
    """Check ``config`` against the published revision and build its Temporal Schedule."""
    check_spec(config)
    name, timeout = await _published(session, config, check_inputs=check_inputs)
    await session.commit()  # no database transaction stays open across Temporal calls
    return to_temporal(
        schedule_id,
        config,
        process_name=name,
        timeout_seconds=timeout,
        task_queue=settings.task_queue,
        write=write,
    )


# ---- use cases -----------------------------------------------------------------------------


async def create(
    client: Client, session: AsyncSession, settings: Settings, process_id: str, body: ScheduleCreate
) -> Schedule:
    """Create the Temporal Schedule for a published process."""
    config = ScheduleConfig(
        process_id=process_id,
        cron=body.cron,
        interval_seconds=body.interval_seconds,
        timezone=body.timezone,
        inputs=as_mapping(body.inputs),
        overlap=body.overlap,
        paused=body.paused,
        note=body.note,
    )
    schedule_id = new_id("sched")
    schedule = await _prepare(session, settings, schedule_id, config, check_inputs=True)
    attributes = schedule_search_attributes(process_id)
    await schedule_rpc(
        schedule_id, client.create_schedule(schedule_id, schedule, search_attributes=attributes)
    )
    return await get(client, settings, schedule_id)


async def _to_model(
    client: Client, settings: Settings, description: ScheduleDescription
) -> Schedule:
    config = await from_temporal(client, description)
    filters = run_query.RunFilters(triggers=(Trigger.SCHEDULE,), schedule_id=description.id)
    recent = await run_query.list_runs(client, settings, filters, RECENT_RUNS, None)
    info = description.info
    return Schedule(
        id=description.id,
        process_id=config.process_id,
        cron=config.cron,
        interval_seconds=config.interval_seconds,
        timezone=config.timezone,
        inputs=config.inputs,
        overlap=config.overlap,
        paused=config.paused,
        note=config.note,
        next_run_times=[] if config.paused else list(info.next_action_times[:NEXT_RUN_TIMES]),
        recent_runs=[
            ScheduleRun(
                id=run.id,
                state=run.state,
                revision=run.revision,
                created_at=run.created_at,
                ended_at=run.ended_at,
            )
            for run in recent.items
        ],
        created_at=info.created_at,
        updated_at=info.last_updated_at,
        temporal_ui_url=f"{settings.temporal_ui_base}/namespaces/{settings.namespace}"
        f"/schedules/{description.id}",
    )


async def get(client: Client, settings: Settings, schedule_id: str) -> Schedule:
    """One schedule with its next fire times and recent runs."""
    return await _to_model(client, settings, await describe(client, schedule_id))


async def list_page(
    client: Client,
    session: AsyncSession,
    settings: Settings,
    process_id: str,
    limit: int,
    token: str | None,
) -> Page[Schedule]:
    """A page of a process's schedules (404 for an unknown process)."""
    await process_repo.get_process(session, process_id)
    await session.commit()
    temporal_token = _token_for(process_id, token) if token else None
    ids, next_token = await list_ids(client, process_id, limit, temporal_token)

    async def one(schedule_id: str) -> Schedule | None:
        try:
            return await get(client, settings, schedule_id)
        except NotFound:  # deleted since the visibility record was read
            return None

    items = [s for s in await asyncio.gather(*(one(i) for i in ids)) if s is not None]
    return Page[Schedule](
        items=items,
        continuation_token=encode_token({"t": next_token.hex(), "s": process_id})
        if next_token
        else None,
    )


def _token_for(process_id: str, token: str) -> bytes:
    state = decode_token(token)
    try:
        if state.get("s") != process_id:
            raise ValueError("issued for another list")
        return bytes.fromhex(state["t"])
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(
            "invalid continuation_token",
            [error_detail(("continuation_token",), "not a token of this list")],
        ) from None


async def update(
    client: Client,
    session: AsyncSession,
    settings: Settings,
    schedule_id: str,
    patch: SchedulePatch,
) -> Schedule:
    """Apply ``patch`` (pause/resume, note, inputs, spec, overlap) in one Temporal update."""
    if not SCHEDULE_ID.match(schedule_id):
        raise NotFound(f"schedule {schedule_id!r} not found")
    await _update(client, session, settings, schedule_id, patch)
    return await get(client, settings, schedule_id)


async def _update(
    client: Client,
    session: AsyncSession,
    settings: Settings,
    schedule_id: str,
    patch: SchedulePatch,
) -> None:
    """Read, patch, write back if nothing changed in between, and check that it landed; when
    another write came first (a concurrent PATCH, a publish), start again from what it wrote,
    so every edit that was answered 200 is kept."""
    current = await describe(client, schedule_id)
    for _ in range(UPDATE_ATTEMPTS):
        config = apply_patch(await from_temporal(client, current), patch)
        write = new_write_id()
        schedule = await _prepare(
            session,
            settings,
            schedule_id,
            config,
            check_inputs="inputs" in patch.model_fields_set,
            write=write,
        )
        attributes = schedule_search_attributes(config.process_id)
        await temporal_update(client, current, schedule, attributes)
        current = await describe(client, schedule_id)  # what landed: ours, or the next round's
        if await write_id(client, current) == write:
            return
    raise Conflict(
        f"schedule {schedule_id!r} kept changing while this update was applied: try again"
    )


async def delete(client: Client, schedule_id: str) -> None:
    """Delete the schedule; runs it started stay in Temporal."""
    await from_temporal(client, await describe(client, schedule_id))
    await schedule_rpc(schedule_id, client.get_schedule_handle(schedule_id).delete())


async def trigger(
    client: Client, settings: Settings, schedule_id: str, body: ScheduleTrigger
) -> Schedule:
    """Fire now, even while paused; the overlap policy applies unless ``body`` overrides it."""
    description = await describe(client, schedule_id)
    await from_temporal(client, description)
    overlap = OVERLAP_POLICIES[body.overlap] if body.overlap else None
    await schedule_rpc(
        schedule_id, client.get_schedule_handle(schedule_id).trigger(overlap=overlap)
    )
    return await _to_model(client, settings, await describe(client, schedule_id))


# ---- hooks from process use cases ----------------------------------------------------------


async def on_publish(
    client: Client, session: AsyncSession, settings: Settings, process_id: str
) -> None:
    """Rewrite the process's schedules: their runs' execution timeout is the published one."""
    try:
        ids, _ = await list_ids(client, process_id)
        for schedule_id in ids:
            try:
                await _update(client, session, settings, schedule_id, SchedulePatch())
            except NotFound:
                pass  # deleted concurrently
    except (RPCError, RuntimeError) as exc:
        if not is_unavailable(exc):
            raise
        raise Unavailable(
            "the revision is published, but Temporal is unavailable, so the process's schedules "
            "(if any) still carry the previous execution timeout: publish again once Temporal "
            "is back"
        ) from exc


async def on_delete(client: Client, process_id: str) -> None:
    """Delete every schedule of a process that is being deleted."""
    ids, _ = await list_ids(client, process_id)
    for schedule_id in ids:
        try:
            await schedule_rpc(schedule_id, client.get_schedule_handle(schedule_id).delete())
        except NotFound:
            pass  # deleted concurrently
