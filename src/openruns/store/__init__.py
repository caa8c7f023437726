"""The metadata store: what Temporal cannot keep (processes, revisions, keys, archive flags)."""

from openruns.store.db import Database

__all__ = ["Database"]
