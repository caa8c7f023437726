"""Save-time checks of ``process`` steps: the called process exists and calls nobody back.

Only literal ``process_id``s can be seen when a definition is saved; templated ones are left to
the run-time depth limit (``MAX_CALL_DEPTH``). A process "calls" every process named by its
draft or its published revision, since either can run; keeping that graph free of cycles at
every save means publishing can never close one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from openruns.definition import templates
from openruns.definition.model import Definition
from openruns.definition.validate import format_path
from openruns.errors import InvalidInput, NotFound
from openruns.store import processes as repo
from openruns.store.tables import ProcessRow

PROCESS_STEP = "process"


def literal_calls(steps: Iterable[Mapping[str, Any]]) -> Iterator[tuple[int, str]]:
    """``(step index, process_id)`` of every ``process`` step whose target is not templated."""
    for index, step in enumerate(steps):
        target = (step.get("with") or {}).get("process_id")
        if step.get("uses") == PROCESS_STEP and isinstance(target, str):
            if not templates.is_template(target):
                yield index, target


async def _callees(session: AsyncSession, process: ProcessRow) -> set[str]:
    numbers = {process.draft_revision, process.published_revision} - {None}
    found: set[str] = set()
    for number in numbers:
        assert number is not None
        revision = await repo.get_revision(session, process.id, number)
        found |= {target for _, target in literal_calls(revision.definition.get("steps", []))}
    return found


async def _path_to(
    session: AsyncSession, start: ProcessRow, target: str
) -> list[ProcessRow] | None:
    """A chain of calls from ``start`` to ``target`` (both included), if there is one."""
    parents: dict[str, ProcessRow | None] = {start.id: None}
    rows = {start.id: start}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for callee in sorted(await _callees(session, current)):
            if callee in rows:
                continue
            try:
                rows[callee] = await repo.get_process(session, callee)
            except NotFound:
                continue  # deleted since: that call fails at run time, it closes no cycle
            parents[callee] = current
            if callee == target:
                path: list[ProcessRow] = []
                node: ProcessRow | None = rows[callee]
                while node is not None:
                    path.append(node)
                    node = parents[node.id]
                return path[::-1]
            queue.append(rows[callee])
    return None


def _chain(rows: list[ProcessRow]) -> str:
    return " → ".join(repr(row.name) for row in rows)


async def check_calls(
    session: AsyncSession,
    process_id: str | None,
    definition: Definition,
    prefix: str = "definition",
) -> None:
    """422 naming the step when a literal ``process_id`` is unknown or closes a call cycle."""
    caller = await repo.get_process(session, process_id) if process_id else None
    errors = []
    steps = [step.model_dump(by_alias=True) for step in definition.steps]
    for index, target in literal_calls(steps):
        path = f"{prefix}.{format_path(('steps', index, 'with', 'process_id'))}"
        if caller is not None and target == caller.id:
            message = f"a process cannot call itself: {_chain([caller, caller])}"
            errors.append({"path": path, "message": message})
            continue
        try:
            callee = await repo.get_process(session, target)
        except NotFound:
            errors.append({"path": path, "message": f"process {target!r} does not exist"})
            continue
        cycle = await _path_to(session, callee, caller.id) if caller is not None else None
        if cycle is not None and caller is not None:
            message = f"{callee.name!r} calls this process back: {_chain([caller, *cycle])}"
            errors.append({"path": path, "message": message})
    if errors:
        raise InvalidInput("the definition is not valid", errors)
