"""``visibility.record_attributes`` decodes a run record's search attributes exactly as the
SDK's ``decode_typed_search_attributes`` does (the list test compares whole records on a real
server; this one covers the values a server should never send but could)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload, SearchAttributes
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import decode_typed_search_attributes, encode_search_attributes

from openruns import search_attributes as attrs
from openruns.services.visibility import RECORD_ATTRIBUTES, record_attributes


def _encoded(pairs: list[SearchAttributePair[Any]]) -> dict[str, Payload]:
    api = SearchAttributes()
    encode_search_attributes(TypedSearchAttributes(pairs), api)
    return dict(api.indexed_fields)


def _json(data: bytes, kind: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain", "type": kind}, data=data)


def _sdk(fields: dict[str, Payload]) -> dict[Any, Any]:
    """What the SDK decodes, limited to the attributes a run record reads."""
    decoded = decode_typed_search_attributes(SearchAttributes(indexed_fields=fields))
    return {p.key: p.value for p in decoded if p.key.name in RECORD_ATTRIBUTES}


def _ours(fields: dict[str, Payload]) -> dict[Any, Any]:
    return {p.key: p.value for p in record_attributes(fields)}


EVERY_KIND: list[SearchAttributePair[Any]] = [
    SearchAttributePair(attrs.PROCESS_ID, "proc-1"),
    SearchAttributePair(attrs.PROCESS_STAGE, "Published"),
    SearchAttributePair(attrs.PROCESS_REVISION, 7),
    SearchAttributePair(attrs.RUN_TRIGGER, "email"),
    SearchAttributePair(attrs.RUN_STATE, "Running"),
    SearchAttributePair(attrs.RUN_STARTED_AT, datetime(2026, 12, 1, 12, 0, 1, 250, tzinfo=UTC)),
    SearchAttributePair(attrs.RUN_SEARCH, "ada lovelace"),
    SearchAttributePair(attrs.RERUN_OF, "run-0"),
    SearchAttributePair(attrs.PARENT_RUN_ID, "run-p"),
    SearchAttributePair(attrs.SCHEDULE_ID, "sched-1"),
    SearchAttributePair(attrs.TEST_RUN_ID, "test-1"),
    SearchAttributePair(attrs.RUN_ARCHIVED, True),
]


def test_every_attribute_a_record_reads_decodes_as_the_sdk_decodes_it() -> None:
    fields = _encoded(EVERY_KIND)
    fields["BuildIds"] = _json(b'["unversioned"]', b"KeywordList")  # Temporal's own
    ours = _ours(fields)
    assert ours == _sdk(fields)
    assert {key.name for key in ours} == RECORD_ATTRIBUTES  # all but the search text
    assert ours[attrs.RUN_STARTED_AT] == datetime(2026, 12, 1, 12, 0, 1, 250, tzinfo=UTC)
    assert ours[attrs.PROCESS_REVISION] == 7 and ours[attrs.RUN_ARCHIVED] is True


@pytest.mark.parametrize(
    "name, payload",
    [
        ("ProcessId", _json(b'["proc-1"]', b"Keyword")),  # a one-value list: the value
        ("ProcessId", _json(b'["proc-1", "proc-2"]', b"Keyword")),  # several: left out
        ("ProcessRevision", _json(b'"7"', b"Int")),  # not the registered type: left out
        ("ProcessRevision", _json(b"7", b"Keyword")),  # registered under another type
        ("RunState", _json(b"null", b"Keyword")),  # removed by an upsert
        ("RunState", Payload(metadata={"encoding": b"binary/null"})),  # not JSON: the SDK's way
        ("RunState", Payload(metadata={"encoding": b"json/plain"}, data=b'"Running"')),  # no type
        ("RunStartedAt", _json(b'"2026-12-01T12:00:01.123456789Z"', b"Datetime")),  # nanoseconds
    ],
)
def test_odd_values_decode_as_the_sdk_decodes_them(name: str, payload: Payload) -> None:
    fields = {name: payload}
    assert _ours(fields) == _sdk(fields)
