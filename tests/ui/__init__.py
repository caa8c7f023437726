"""Tests of the web UI: over ASGI for the HTTP contract, in Chromium for the pages."""
