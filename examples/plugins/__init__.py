"""Example plugin modules: list them in ``OPENRUNS_PLUGINS`` to turn their steps on."""
