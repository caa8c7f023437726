"""Temporal activities: every side effect of a run (HTTP, files, mail, the database)."""
