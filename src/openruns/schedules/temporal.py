"""An OpenRuns schedule as a Temporal Schedule, and back.

Temporal holds every field, so any API replica answers from it: the spec (interval, time zone),
the overlap policy, ``paused`` and ``note`` (the schedule state's note), the inputs (inside the
action's ``ProcessRunInput``) and the process id (also a schedule search attribute, for lists).
The server compiles cron strings into calendars, so the text as written rides in the action's
memo (``schedule.cron``), which every scheduled run therefore records too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

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

from openruns import search_attributes as attrs
from openruns.errors import NotFound
from openruns.models import ProcessRunInput
from openruns.schedules.models import Overlap
from openruns.services.runs import WORKFLOW_TYPE, start_options
from openruns.states import Stage, Trigger

SCHEDULE_MEMO = "schedule"

OVERLAP_POLICIES = {
    Overlap.SKIP: ScheduleOverlapPolicy.SKIP,
    Overlap.BUFFER_ONE: ScheduleOverlapPolicy.BUFFER_ONE,
    Overlap.ALLOW_ALL: ScheduleOverlapPolicy.ALLOW_ALL,
}
_OVERLAPS = {policy: overlap for overlap, policy in OVERLAP_POLICIES.items()}


@dataclass
class ScheduleConfig:
    """What a user sets on a schedule: the fields of SPEC §7."""

    process_id: str
    cron: str | None = None
    interval_seconds: int | None = None
    timezone: str = "UTC"
    inputs: dict[str, Any] = field(default_factory=dict)
    overlap: Overlap = Overlap.SKIP
    paused: bool = False
    note: str | None = None


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
) -> Schedule:
    """The Temporal Schedule for ``config``; ``timeout_seconds`` is the published timeout."""
    start = run_input(schedule_id, config, process_name)
    options = start_options(start)
    memo = {**options["memo"], SCHEDULE_MEMO: {"id": schedule_id, "cron": config.cron}}
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
