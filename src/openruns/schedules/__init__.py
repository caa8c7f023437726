"""Schedules: recurring runs of a published process, each one Temporal Schedule.

``models`` holds the API shapes, ``cron`` the field checks, ``temporal`` the translation to and
from Temporal Schedules; the use cases live in ``openruns.services.schedules``.
"""
