"""Examples shipped with OpenRuns; importable from a checkout (the dev install puts its root
on ``sys.path``), e.g. ``OPENRUNS_PLUGINS=examples.plugins.invoice_tools``."""
