"""Run lists with the archive filter: correct, and bounded when most runs are archived.

Every list is in visibility order: unfinished runs first, then the most recently closed.
``archived=all`` is the plain visibility listing. ``archived=true`` pages through the archive
rows in the database (archived runs whose close is not recorded, then archived closed runs by
close time) and asks Temporal for each page's runs with one ``WorkflowId IN (...)`` query,
bounded by the page's close times so visibility seeks instead of scanning; the first phase
records the close of those runs that have closed since they were archived, so the second
lists them. ``archived=false`` (the default) must leave archived runs out *inside* the
visibility query, or one page could scan the whole history:

1. Unfinished runs: ``ExecutionStatus = 'Running' AND RunArchived IS NULL`` — a running run
   carries the ``RunArchived`` search attribute (set by a signal when it is archived).
2. Closed runs, newest close first, in windows: the database knows the close time of every
   archived closed run (immutable after close), so for the next ``WINDOW`` archived runs that
   closed before the cursor one query asks for ``CloseTime < cursor AND CloseTime >= <the
   oldest of them> AND WorkflowId NOT IN (<them>)``. Every archived run in that range is
   excluded, so each visibility query skips up to ``WINDOW`` archived runs and a page costs at
   most ``MAX_QUERIES`` queries (after a long stretch of archived runs a page may come back
   short, with a token to go on). A run archived while running has its close time recorded
   when a page first meets it closed (it is dropped from that page by the check below).

Every page is also checked against the database, so a run archived a moment ago never shows.
When nothing matching the filters is archived, the plain visibility query is used.
"""

from __future__ import annotations

import asyncio
import hashlib
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowExecution

from openruns.errors import InvalidInput, error_detail
from openruns.models import Page, Run
from openruns.pagination import decode_token, encode_token
from openruns.run_actions import ArchivedFilter
from openruns.services import run_query, run_records, run_windows
from openruns.services.archive import SAFE_ID, quoted, with_flags
from openruns.services.run_windows import MICROSECOND, Cursor, Windows, at
from openruns.settings import Settings
from openruns.states import run_state
from openruns.store import Database
from openruns.store import archives as repo
from openruns.store.tables import RunArchiveRow

Found = tuple[list[WorkflowExecution], dict[str, Any] | None]  # runs, next token state
# Runs listed that closed in the same microsecond, carried in a token (``Cursor.seen``): a
# handful at most; a NOT IN list the size of a window, as a visibility query takes.
MAX_SEEN = 500


def _bad_token(message: str, detail: str) -> InvalidInput:
    return InvalidInput(message, [error_detail(("continuation_token",), detail)])


def _parse(token: str, key: str) -> dict[str, Any]:
    """The typed state inside ``token``; 422 for a token of another query or not ours (every
    field is checked: a value of the wrong type or shape must not reach a query)."""
    state = decode_token(token)
    if state.get("q") != key:
        raise _bad_token(
            "this continuation_token belongs to a different query",
            "filters changed since it was issued",
        )
    try:
        seen = state.get("s") or []
        if not isinstance(seen, list) or len(seen) > MAX_SEEN:
            raise ValueError("s")
        return {
            "m": _one_of(state.get("m"), "p", "w"),
            "p": _one_of(state.get("p"), "o", "c"),
            "t": bytes.fromhex(state["t"]) if state.get("t") is not None else None,
            "b": _moment(state.get("b")),
            "s": [_text(run_id) for run_id in seen],
            "a": _moment(state.get("a")),
            "i": _text(state.get("i") or ""),
        }
    except (TypeError, ValueError, OverflowError):
        raise _bad_token("invalid continuation_token", "not a token this API issued") from None


def _one_of(value: Any, *choices: str) -> str | None:
    if value is not None and value not in choices:
        raise ValueError(value)
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _moment(value: Any) -> datetime | None:
    """A time of the token in UTC: visibility refuses one without a zone, and the store
    compares UTC times."""
    if value is None:
        return None
    moment = datetime.fromisoformat(_text(value))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment.astimezone(UTC)


def _closed_token(cursor: Cursor | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    before = cursor.before.isoformat() if cursor.before else None
    return {"m": "w", "p": "c", "b": before, "s": cursor.seen}


async def _unarchived(windows: Windows, limit: int, state: dict[str, Any]) -> Found:
    wants_open, wants_closed = windows.filters.wants_open, windows.filters.wants_closed
    mode = state.get("m")
    if mode is None:
        async with windows.database.sessions() as session:
            mode = "w" if await repo.any_archived(session, windows.unfinished_scope) else "p"
    if mode == "p":
        page, token = await windows.plain(limit, state.get("t"))
        return page, {"m": "p", "t": token.hex()} if token else None
    if (state.get("p") or ("o" if wants_open else "c")) == "c":
        page, cursor = await windows.closed(Cursor(state.get("b"), state.get("s") or []), limit)
        return page, _closed_token(cursor)
    # Unfinished runs first; for the first page the closed ones are fetched at the same time.
    ahead = None
    if not state and wants_closed:
        ahead = asyncio.create_task(windows.closed(Cursor(), limit))
    try:
        page, token = await windows.unfinished(limit, state.get("t"))
        if token or not wants_closed:
            return page, {"m": "w", "p": "o", "t": token.hex()} if token else None
        if ahead is None:
            closed, cursor = await windows.closed(Cursor(), limit - len(page))
            return page + closed, _closed_token(cursor)
        closed, cursor = await ahead
        ahead = None
    finally:
        if ahead is not None:
            ahead.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await ahead
    room = limit - len(page)
    if len(closed) > room:  # fetched ahead for a whole page: keep what fits
        closed, cursor = closed[:room], Cursor()
        for execution in closed:
            cursor = cursor.after(execution)
    return page + closed, _closed_token(cursor)


async def _archived_only(windows: Windows, limit: int, state: dict[str, Any]) -> Found:
    """Archived runs in the same order as every list (unfinished first, then the most recently
    closed): pages of ids from the database, then one ``WorkflowId IN (...)`` query for each
    (which applies every other filter) — bounded by the page's close times for closed runs,
    so visibility seeks to them instead of scanning. At most ``MAX_QUERIES`` queries a page."""
    budget = run_windows.MAX_QUERIES
    kept: list[WorkflowExecution] = []
    if (state.get("p") or "o") == "o":
        after = (state["a"], state["i"]) if state.get("a") else None
        kept, cursor, budget = await _not_known_closed(windows, limit, after, budget)
        if cursor is not None:
            return kept, {"p": "o", "a": cursor[0].isoformat(), "i": cursor[1]}
        if not windows.filters.wants_closed:
            return kept, None
        if not budget or len(kept) >= limit:
            return kept, {"p": "c"}
        state = {}
    after = (state["b"], state["i"]) if state.get("b") else None
    for _ in range(budget):
        need = limit - len(kept)
        async with windows.database.session() as session:
            rows = await repo.archived_page(session, windows.closed_scope, after, need, closed=True)
        if not rows:
            return kept, None
        closes = [row.closed_at for row in rows if row.closed_at]
        bounds = f"CloseTime >= {at(min(closes))} AND CloseTime < {at(max(closes) + MICROSECOND)}"
        kept += await _fetch(windows, rows, f"ExecutionStatus != 'Running' AND {bounds}")
        if len(rows) < need:
            return kept, None
        after = (closes[-1], rows[-1].run_id)
        if len(kept) >= limit:
            break
    assert after is not None
    return kept, {"p": "c", "b": after[0].isoformat(), "i": after[1]}


async def _not_known_closed(
    windows: Windows, limit: int, after: tuple[datetime, str] | None, budget: int
) -> tuple[list[WorkflowExecution], tuple[datetime, str] | None, int]:
    """The first phase of ``archived=true``: every archived run whose close the database does
    not know (archived while running), most recently archived first, whatever their number.
    Visibility is asked for their status: the unfinished ones are listed (unless the filter
    wants a final state) and the closed ones get their close recorded, which puts them in
    the second phase, by close time. Up to ``limit`` runs, the cursor to go on from (None
    once every such run has been seen) and what is left of ``budget``.

    Closes are recorded here, as the list walks these runs, rather than ahead of every page
    (that checked the 500 most recently archived of them, the same unfinished ones on every
    call, and never reached a run that closed behind them), so each page walks on from its
    cursor at a bounded cost. The closed phase could not take such a run in by itself: its
    close time, the order of that phase, is what is unknown."""
    listing = windows.filters.wants_open
    kept: list[WorkflowExecution] = []
    size = limit if listing else run_windows.WINDOW
    while budget:
        budget -= 1
        async with windows.database.session() as session:
            rows = await repo.archived_page(
                session, windows.unfinished_scope, after, size, closed=False
            )
        executions = await _fetch(windows, rows)
        closes, last = {}, None
        for execution in executions:
            state = run_state(execution.status, None)
            if state.is_final and execution.close_time is not None:
                closes[execution.id] = (state.value, execution.close_time)
            elif listing and len(kept) < limit:
                kept.append(execution)
                last = execution.id
        if closes:
            async with windows.database.session() as session:
                await repo.record_closed(session, closes)
        if len(rows) < size:
            return kept, None, budget
        if len(kept) >= limit:  # go on after the last run listed
            row = next(row for row in rows if row.run_id == last)
        else:  # bigger windows from here on: these rows were mostly closed runs
            row, size = rows[-1], run_windows.WINDOW
        assert row.archived_at is not None
        after = (row.archived_at, row.run_id)
        if len(kept) >= limit:
            break
    return kept, after, budget


async def _fetch(
    windows: Windows, rows: list[RunArchiveRow], clause: str | None = None
) -> list[WorkflowExecution]:
    """The runs of ``rows`` that match the filters and ``clause``, in the order of ``rows``."""
    ids = [row.run_id for row in rows if SAFE_ID.match(row.run_id)]
    if not ids:
        return []
    clauses = [windows.base, *([clause] if clause else []), f"WorkflowId IN ({quoted(ids)})"]
    found = {e.id: e for e in (await windows.page(" AND ".join(clauses), len(ids)))[0]}
    return [found[run_id] for run_id in ids if run_id in found]


async def list_runs(
    client: Client,
    database: Database,
    settings: Settings,
    filters: run_query.RunFilters,
    archived: ArchivedFilter,
    limit: int,
    token: str | None,
) -> Page[Run]:
    """A page of runs for ``archived`` = false (the default), true or all."""
    if archived == ArchivedFilter.ALL:
        page = await run_query.list_runs(client, settings, filters, limit, token)
        items = await flagged(database, page.items)
        return Page[Run](items=items, continuation_token=page.continuation_token)
    windows = Windows(client, database, filters)
    key = hashlib.sha256(f"{archived}|{windows.base}".encode()).hexdigest()[:12]
    state = _parse(token, key) if token else {}
    if archived == ArchivedFilter.TRUE:
        executions, next_state = await _archived_only(windows, limit, state)
    else:
        executions, next_state = await _unarchived(windows, limit, state)
    summaries = [run_records.run_summary(e, settings, client) for e in executions]
    if archived == ArchivedFilter.FALSE:  # every page was checked against the database
        items = [with_flags(run, None) for run in summaries]
    else:
        items = await flagged(database, summaries)
    return Page[Run](
        items=items,
        continuation_token=encode_token({**next_state, "q": key}) if next_state else None,
    )


async def flagged(database: Database, items: list[Run]) -> list[Run]:
    """``items`` with their ``archived`` / ``archived_at`` from the database."""
    async with database.sessions() as session:
        rows = await repo.archived_among(session, (run.id for run in items))
    return [with_flags(run, rows.get(run.id)) for run in items]
