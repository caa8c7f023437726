"""The HTTP API (FastAPI): triggers, process and run resources, archive metadata."""

from api.app import create_app

__all__ = ["create_app"]
