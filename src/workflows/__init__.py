"""Temporal workflows: pure, deterministic orchestration of runs."""
