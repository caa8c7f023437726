"""The ``openruns`` command."""
