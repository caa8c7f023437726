"""Use cases shared by the API, the gateway, the CLI and the worker."""
