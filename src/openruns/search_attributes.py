"""The custom search attributes runs carry, and their registration with Temporal.

SQL visibility stores (the dev server's SQLite, PostgreSQL, MySQL) have a fixed number of
slots per type — 10 Keyword, 3 Int, 3 Datetime, 3 Text, 3 Bool, 3 Double — so an attribute
exists here only when a visibility query needs it; everything else lives in the memo.
"""

from __future__ import annotations

import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

log = logging.getLogger(__name__)

PROCESS_ID = SearchAttributeKey.for_keyword("ProcessId")
PROCESS_STAGE = SearchAttributeKey.for_keyword("ProcessStage")
PROCESS_REVISION = SearchAttributeKey.for_int("ProcessRevision")
RUN_TRIGGER = SearchAttributeKey.for_keyword("RunTrigger")
RUN_STATE = SearchAttributeKey.for_keyword("RunState")
RUN_STARTED_AT = SearchAttributeKey.for_datetime("RunStartedAt")
# Words users search for with ``q``: run name, email subject and sender, input values.
RUN_SEARCH = SearchAttributeKey.for_text("RunSearch")
RERUN_OF = SearchAttributeKey.for_keyword("RerunOf")
PARENT_RUN_ID = SearchAttributeKey.for_keyword("ParentRun")
SCHEDULE_ID = SearchAttributeKey.for_keyword("OpenRunsScheduleId")
TEST_RUN_ID = SearchAttributeKey.for_keyword("TestRunId")
# Set (by a signal) while an archived run is still running; closed runs' flags live in the DB.
RUN_ARCHIVED = SearchAttributeKey.for_bool("RunArchived")

ALL: tuple[SearchAttributeKey, ...] = (
    PROCESS_ID,
    PROCESS_STAGE,
    PROCESS_REVISION,
    RUN_TRIGGER,
    RUN_STATE,
    RUN_STARTED_AT,
    RUN_SEARCH,
    RERUN_OF,
    PARENT_RUN_ID,
    SCHEDULE_ID,
    TEST_RUN_ID,
    RUN_ARCHIVED,
)


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Register every custom search attribute (idempotent): runs cannot start without them."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        log.info("registering search attributes %s", sorted(missing))
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
