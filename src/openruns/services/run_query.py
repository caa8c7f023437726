"""Finding runs in Temporal visibility: the ``RunSearch`` words a run is found by (written
when it starts), the visibility query for a filtered list, and a page of that list.

This is the plain listing (``archived=all``); ``run_list`` leaves archived runs out or lists
only them.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from openruns.errors import InvalidInput, error_detail
from openruns.models import EmailInfo, Page, Run
from openruns.pagination import decode_token, encode_token
from openruns.services import visibility
from openruns.services.run_records import WORKFLOW_TYPE, run_summary
from openruns.settings import Settings
from openruns.states import RunState, Stage, Trigger, visibility_filter

SEARCH_TEXT_LIMIT = 2000
SAFE_VALUE = r"^[A-Za-z0-9_.:@+\-]{1,128}$"  # ids in visibility queries (OpenAPI too)
_SAFE_VALUE = re.compile(SAFE_VALUE)
_WORD = re.compile(r"[\w@.+\-]+", re.UNICODE)


def search_text(name: str, inputs: dict[str, Any], email: EmailInfo | None) -> str:
    """The words ``q`` matches: run name, email subject and sender, input values."""
    words: list[str] = [name]
    if email:
        words += [email.subject or "", email.sender or ""]

    def walk(value: Any) -> None:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            words.append(str(value))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({k: v for k, v in inputs.items() if k != "email"})
    # Only the words ``q`` can match, and as many as fit: Temporal limits the attribute to
    # 2,048 bytes as the payload encodes it, where JSON writes a character past ASCII as
    # \uXXXX (6 bytes; 12 past the BMP) and a control character the same way.
    kept: list[str] = []
    size = 2  # the quotes
    text = " ".join(w for w in words if w)
    if not text.isascii():  # é as one character or as e + a combining accent: one spelling
        text = unicodedata.normalize("NFC", text)
    for match in _WORD.finditer(text):
        word = match.group()
        cost = len(word) + 1 if word.isascii() else sum(_json_char_size(c) for c in word) + 1
        if size + cost > SEARCH_TEXT_LIMIT:
            break
        kept.append(word)
        size += cost
    return " ".join(kept)


def _json_char_size(char: str) -> int:
    return 1 if char.isascii() else 6 if ord(char) < 0x10000 else 12


@dataclass
class RunFilters:
    """What a run list is filtered by: a run matches one of the values of each filter given
    (empty: any value; no ``triggers``: any but ``test``)."""

    process_id: str | None = None
    stages: tuple[Stage, ...] = ()
    states: tuple[RunState, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    q: str | None = None
    schedule_id: str | None = None

    @property
    def wants_open(self) -> bool:
        """Whether unfinished runs (Pending, Running) can match."""
        return not self.states or any(not state.is_final for state in self.states)

    @property
    def wants_closed(self) -> bool:
        """Whether finished runs can match."""
        return not self.states or any(state.is_final for state in self.states)


def _literal(name: str, value: str) -> str:
    if not _SAFE_VALUE.match(value):
        raise InvalidInput(f"invalid {name}", [error_detail((name,), "unexpected characters")])
    return f"'{value}'"


def _one_of(attribute: str, values: list[str]) -> str:
    if len(values) == 1:  # as a single filter always read (tokens issued before stay good)
        return f"{attribute} = '{values[0]}'"
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{attribute} IN ({quoted})"


def build_query(filters: RunFilters) -> str:
    """The Temporal visibility query for ``filters`` (test runs only when asked for).

    The values of a filter are written in their declared order, whatever the request's, so
    the same filters are the same query (and take the same continuation tokens)."""
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    if filters.process_id:
        clauses.append(f"ProcessId = {_literal('process_id', filters.process_id)}")
    if filters.stages:
        clauses.append(_one_of("ProcessStage", [s.value for s in Stage if s in filters.stages]))
    if filters.triggers:
        clauses.append(_one_of("RunTrigger", [t.value for t in Trigger if t in filters.triggers]))
    else:
        clauses.append(f"RunTrigger != '{Trigger.TEST.value}'")
    if filters.states:
        states = [f"({visibility_filter(s)})" for s in RunState if s in filters.states]
        clauses.append(states[0] if len(states) == 1 else f"({' OR '.join(states)})")
    if filters.schedule_id:
        clauses.append(f"OpenRunsScheduleId = {_literal('schedule_id', filters.schedule_id)}")
    query = unicodedata.normalize("NFC", filters.q or "")  # as the search text is written
    words = [w for w in _WORD.findall(query) if any(c.isalnum() for c in w)]
    for word in words[:10]:  # each word must occur (README, "HTTP API": `q`)
        clauses.append(f"RunSearch = '{word.replace(chr(39), '')}'")
    return " AND ".join(clauses)


async def list_runs(
    client: Client, settings: Settings, filters: RunFilters, limit: int, token: str | None
) -> Page[Run]:
    """A page of runs in Temporal's visibility order (unfinished first, then newest ended)."""
    query = build_query(filters)
    query_hash = hashlib.sha256(query.encode()).hexdigest()[:12]
    temporal_token = None
    if token:
        state = decode_token(token)
        if state.get("q") != query_hash:
            raise InvalidInput(
                "this continuation_token belongs to a different query",
                [error_detail(("continuation_token",), "filters changed since it was issued")],
            )
        try:
            temporal_token = bytes.fromhex(state["t"])
        except (KeyError, TypeError, ValueError):  # tampered with: not hex, not a string
            raise InvalidInput(
                "invalid continuation_token",
                [error_detail(("continuation_token",), "not a token this API issued")],
            ) from None
    executions, page_token = await visibility.page(client, query, limit, temporal_token)
    items = [run_summary(e, settings, client) for e in executions]
    next_token = None
    if page_token:
        next_token = encode_token({"t": page_token.hex(), "q": query_hash})
    return Page[Run](items=items, continuation_token=next_token)
