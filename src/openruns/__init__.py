"""OpenRuns: the shared domain every component imports (settings, models, definitions, store)."""

__version__ = "0.1.0"
