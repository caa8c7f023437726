"""An OpenRuns schedule as a Temporal Schedule, and back.

Temporal holds every field, so any API replica answers from it: the spec (interval, time zone),
the overlap policy, ``paused`` and ``note`` (the schedule state's note), the inputs (inside the
action's ``ProcessRunInput``) and the process id (also a schedule search attribute, for lists).
The server compiles cron strings into calendars, so the text as written rides in the action's
memo (``schedule.cron``), which every scheduled run therefore records too, with the id of the
write that made the schedule what it is (``schedule.write``: how an update knows it landed).

Also here: the Temporal calls about one schedule, with their errors mapped to 404/422.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.workflowservice.v1 import UpdateScheduleRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleDescription,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import encode_search_attributes
from temporalio.service import RPCError, RPCStatusCode

from openruns import search_attributes as attrs
from openruns.errors import InvalidInput, NotFound, error_detail
from openruns.models import ProcessRunInput
from openruns.schedules.config import ScheduleConfig
from openruns.schedules.models import Overlap
from openruns.services.run_records import WORKFLOW_TYPE
from openruns.services.run_start import start_options
from openruns.states import Stage, Trigger

SCHEDULE_MEMO = "schedule"
SCHEDULE_ID = re.compile(r"^sched-[0-9a-z]{26}$")
_PROCESS_ID = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,64}$")
T = TypeVar("T")

OVERLAP_POLICIES = {
    Overlap.SKIP: ScheduleOverlapPolicy.SKIP,
    Overlap.BUFFER_ONE: ScheduleOverlapPolicy.BUFFER_ONE,
    Overlap.ALLOW_ALL: ScheduleOverlapPolicy.ALLOW_ALL,
}
_OVERLAPS = {policy: overlap for overlap, policy in OVERLAP_POLICIES.items()}


def schedule_search_attributes(process_id: str) -> TypedSearchAttributes:
    """The schedule's own search attributes: ``ProcessId`` lists a process's schedules."""
    return TypedSearchAttributes([SearchAttributePair(attrs.PROCESS_ID, process_id)])


def run_input(schedule_id: str, config: ScheduleConfig, process_name: str) -> ProcessRunInput:
    """What every fire starts: the Published stage, resolved when the run begins."""
    return ProcessRunInput(
        process_id=config.process_id,
        process_name=process_name,
        stage=Stage.PUBLISHED,
        inputs=config.inputs,
        trigger=Trigger.SCHEDULE,
        name=f"{process_name} (scheduled)",
        schedule_id=schedule_id,
    )


def to_temporal(
    schedule_id: str,
    config: ScheduleConfig,
    *,
    process_name: str,
    timeout_seconds: int,
    task_queue: str,
    write: str = "",
) -> Schedule:
    """The Temporal Schedule for ``config``; ``timeout_seconds`` is the published timeout and
    ``write`` the id of this write (see ``update``)."""
    start = run_input(schedule_id, config, process_name)
    options = start_options(start)
    marker = {"id": schedule_id, "cron": config.cron, "write": write or new_write_id()}
    memo = {**options["memo"], SCHEDULE_MEMO: marker}
    action = ScheduleActionStartWorkflow(
        WORKFLOW_TYPE,
        start,
        id=f"run-{schedule_id}",  # Temporal appends the fire time: run-sched-…-<UTC time>Z
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=timeout_seconds),
        typed_search_attributes=options["search_attributes"],
        memo=memo,
        static_summary=options["static_summary"],
    )
    intervals = []
    if config.interval_seconds is not None:
        intervals = [ScheduleIntervalSpec(every=timedelta(seconds=config.interval_seconds))]
    spec = ScheduleSpec(
        cron_expressions=[config.cron] if config.cron else [],
        intervals=intervals,
        time_zone_name=config.timezone,
    )
    return Schedule(
        action=action,
        spec=spec,
        policy=SchedulePolicy(overlap=OVERLAP_POLICIES[config.overlap]),
        state=ScheduleState(paused=config.paused, note=config.note or ""),
    )


def new_write_id() -> str:
    return uuid.uuid4().hex


async def write_id(client: Client, description: ScheduleDescription) -> str | None:
    """The id of the write that made the schedule what ``description`` shows."""
    action = description.schedule.action
    memo = action.memo if isinstance(action, ScheduleActionStartWorkflow) else None
    if not memo or SCHEDULE_MEMO not in memo:
        return None
    [marker] = await client.data_converter.decode([memo[SCHEDULE_MEMO]], [dict])
    return marker.get("write")


async def update(
    client: Client,
    description: ScheduleDescription,
    schedule: Schedule,
    search_attributes: TypedSearchAttributes,
) -> None:
    """Replace the schedule ``description`` was read from with ``schedule``, unless it has
    changed since: Temporal then drops the update (silently), and ``write_id`` of a fresh
    description tells the caller. The SDK's ``ScheduleHandle.update`` sends no conflict token
    (its own TODO), so two concurrent read-modify-writes lost one of the edits."""
    request = UpdateScheduleRequest(
        namespace=client.namespace,
        schedule_id=description.id,
        schedule=await schedule._to_proto(client),  # the SDK's own conversion (private)
        conflict_token=description.raw_description.conflict_token,
        identity=client.identity,
        request_id=str(uuid.uuid4()),
    )
    request.search_attributes.indexed_fields.clear()  # set, even when empty: replaces them
    encode_search_attributes(search_attributes, request.search_attributes)
    await schedule_rpc(description.id, client.workflow_service.update_schedule(request, retry=True))


async def from_temporal(client: Client, description: ScheduleDescription) -> ScheduleConfig:
    """Read the config back; a schedule that OpenRuns did not write is a 404."""
    schedule = description.schedule
    action = schedule.action
    if (
        not isinstance(action, ScheduleActionStartWorkflow)
        or action.workflow != WORKFLOW_TYPE
        or len(action.args) != 1
    ):
        raise NotFound(f"schedule {description.id!r} not found")
    converter = client.data_converter
    [start] = await converter.decode(list(action.args), [ProcessRunInput])
    memo: dict[str, Any] = {}
    if action.memo and SCHEDULE_MEMO in action.memo:
        [memo] = await converter.decode([action.memo[SCHEDULE_MEMO]], [dict])
    spec = schedule.spec
    interval = int(spec.intervals[0].every.total_seconds()) if spec.intervals else None
    return ScheduleConfig(
        process_id=start.process_id,
        cron=memo.get("cron") if interval is None else None,
        interval_seconds=interval,
        timezone=spec.time_zone_name or "UTC",
        inputs=start.inputs,
        overlap=_OVERLAPS.get(schedule.policy.overlap, Overlap.SKIP),
        paused=schedule.state.paused,
        note=schedule.state.note or None,
    )


async def schedule_rpc(schedule_id: str, call: Awaitable[T]) -> T:
    """Await a Temporal call about one schedule: unknown → 404, refused spec → 422."""
    try:
        return await call
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise NotFound(f"schedule {schedule_id!r} not found") from None
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            field = "timezone" if "time zone" in exc.message else "cron"
            raise InvalidInput(
                f"Temporal refused the schedule: {exc.message}",
                [error_detail((field,), exc.message)],
            ) from None
        raise


async def describe(client: Client, schedule_id: str) -> ScheduleDescription:
    """Describe one of our schedules (ids that cannot be ours are 404 without asking)."""
    if not SCHEDULE_ID.match(schedule_id):
        raise NotFound(f"schedule {schedule_id!r} not found")
    return await schedule_rpc(schedule_id, client.get_schedule_handle(schedule_id).describe())


async def list_ids(
    client: Client, process_id: str, limit: int = 1000, token: bytes | None = None
) -> tuple[list[str], bytes | None]:
    """Ids of a process's schedules: a visibility query on the schedules' ``ProcessId``."""
    if not _PROCESS_ID.match(process_id):
        raise NotFound(f"process {process_id!r} not found")
    iterator = await client.list_schedules(
        f"ProcessId = '{process_id}'", page_size=limit, next_page_token=token
    )
    await iterator.fetch_next_page()
    return sorted(s.id for s in iterator.current_page or []), iterator.next_page_token
