"""The visibility queries of run lists that leave archived runs out (design: ``run_list``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowExecution

from openruns.services import run_query, visibility
from openruns.services.archive import SAFE_ID, quoted
from openruns.states import run_state
from openruns.store import Database
from openruns.store import archives as repo

WINDOW = 500  # archived runs excluded by one visibility query (its NOT IN list; ~free to 500)
MAX_QUERIES = 5  # visibility queries for one page
MICROSECOND = timedelta(microseconds=1)  # the precision of visibility times
OPEN = "ExecutionStatus = 'Running'"
Page = tuple[list[WorkflowExecution], bytes | None]


@dataclass
class Cursor:
    """A position among closed runs: closed before ``before`` (exclusive), except ``seen``
    (runs already listed that closed in the microsecond just below it)."""

    before: datetime | None = None
    seen: list[str] = field(default_factory=list)

    def after(self, execution: WorkflowExecution) -> Cursor:
        assert execution.close_time is not None
        before = execution.close_time + MICROSECOND
        return Cursor(before, (self.seen if before == self.before else []) + [execution.id])


def at(moment: datetime) -> str:
    """A time literal for a visibility query."""
    return f"'{moment.isoformat()}'"


@dataclass
class Windows:
    """Pages of one filtered run list, minus archived runs."""

    client: Client
    database: Database
    filters: run_query.RunFilters

    def __post_init__(self) -> None:
        self.base = run_query.build_query(self.filters)
        # What the store can filter on; a superset of the matches is always safe to exclude.
        self.unfinished_scope = repo.Scope(
            process_id=self.filters.process_id,
            stages=tuple(stage.value for stage in self.filters.stages),
            triggers=tuple(trigger.value for trigger in self.filters.triggers),
        )
        # Closed runs match only the final states asked for (none asked for: any).
        final = tuple(state.value for state in self.filters.states if state.is_final)
        self.closed_scope = repo.Scope(**{**vars(self.unfinished_scope), "states": final})

    async def page(self, query: str, size: int, token: bytes | None = None) -> Page:
        return await visibility.page(self.client, query, size, token)

    async def archived(self, executions: list[WorkflowExecution]) -> set[str]:
        """Which of these runs are archived (every page is checked); closes seen on the way
        are recorded, so later windows exclude those runs inside the query."""
        async with self.database.sessions() as session:
            rows = await repo.archived_among(session, (e.id for e in executions))
            closes = {}
            for execution in executions:
                row, state = rows.get(execution.id), run_state(execution.status, None)
                if row and row.closed_at is None and execution.close_time and state.is_final:
                    closes[execution.id] = (state.value, execution.close_time)
            if closes:
                await repo.record_closed(session, closes)
                await session.commit()
        return set(rows)

    async def plain(self, size: int, token: bytes | None) -> Page:
        page, next_token = await self.page(self.base, size, token)
        archived = await self.archived(page)
        return [e for e in page if e.id not in archived], next_token

    async def unfinished(self, size: int, token: bytes | None) -> Page:
        query = f"{self.base} AND {OPEN} AND RunArchived IS NULL"
        page, next_token = await self.page(query, size, token)
        archived = await self.archived(page)
        return [e for e in page if e.id not in archived], next_token

    async def _window(self, before: datetime | None) -> tuple[list[str], datetime | None]:
        """The archived runs to exclude below ``before``, and the window's lower bound."""
        async with self.database.session() as session:
            rows = await repo.closed_window(session, self.closed_scope, before, WINDOW + 1)
            if len(rows) <= WINDOW:
                return [run_id for run_id, _ in rows], None
            edge = rows[WINDOW][1]
            ids = [run_id for run_id, closed_at in rows[:WINDOW] if closed_at > edge]
            if ids:
                return ids, edge + MICROSECOND
            # more than WINDOW archived runs closed in one microsecond: take them all at once
            return await repo.closed_at_exactly(session, self.closed_scope, edge), edge

    async def closed(
        self, cursor: Cursor, size: int
    ) -> tuple[list[WorkflowExecution], Cursor | None]:
        """Up to ``size`` closed, unarchived runs below ``cursor``, and where to go on."""
        kept: list[WorkflowExecution] = []
        for _ in range(MAX_QUERIES):
            excluded, low = await self._window(cursor.before)
            clauses = [self.base, "ExecutionStatus != 'Running'"]
            if cursor.before is not None:
                clauses.append(f"CloseTime < {at(cursor.before)}")
            if low is not None:
                clauses.append(f"CloseTime >= {at(low)}")
            excluded = [i for i in excluded + cursor.seen if SAFE_ID.match(i)]
            if excluded:
                clauses.append(f"WorkflowId NOT IN ({quoted(excluded)})")
            page, more = await self.page(" AND ".join(clauses), size - len(kept))
            archived = await self.archived(page)
            for execution in page:
                cursor = cursor.after(execution)
                if execution.id not in archived:
                    kept.append(execution)
            if not more:  # this window is done: go below it, or stop at the end
                if low is None:
                    return kept, None
                cursor = Cursor(low)
            if len(kept) >= size:
                break
        return kept, cursor
