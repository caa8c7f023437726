"""A schedule's user-set fields, and the rules for editing them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from openruns.definition.inputs import as_mapping
from openruns.errors import InvalidInput, error_detail
from openruns.schedules.models import Overlap, SchedulePatch


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


def check_spec(config: ScheduleConfig) -> None:
    """Exactly one of ``cron`` and ``interval_seconds`` (422 naming both otherwise)."""
    if (config.cron is None) == (config.interval_seconds is None):
        problem = "give exactly one of cron and interval_seconds"
        raise InvalidInput(
            problem,
            [error_detail(("cron",), problem), error_detail(("interval_seconds",), problem)],
        )


def apply_patch(config: ScheduleConfig, patch: SchedulePatch) -> ScheduleConfig:
    """``config`` with the fields given in ``patch`` changed (cron and interval replace each other)."""
    given = patch.model_fields_set
    if "cron" in given:
        config.cron = patch.cron
        if patch.cron is not None and "interval_seconds" not in given:
            config.interval_seconds = None
    if "interval_seconds" in given:
        config.interval_seconds = patch.interval_seconds
        if patch.interval_seconds is not None and "cron" not in given:
            config.cron = None
    for name in ("timezone", "overlap", "paused"):
        value = getattr(patch, name)
        if name in given and value is not None:
            setattr(config, name, value)
    if "note" in given:
        config.note = patch.note
    if "inputs" in given:
        config.inputs = as_mapping(patch.inputs)
    return config
