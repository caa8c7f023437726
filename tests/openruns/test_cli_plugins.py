"""A component whose plugin cannot be loaded stops at once, naming the plugin."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from openruns.cli.dev import EXAMPLE_PLUGINS, with_example_plugins
from openruns.cli.main import app
from openruns.settings import Settings


@pytest.mark.parametrize("command", ["worker", "api", "dev"])
def test_bad_plugin_module_stops_the_component(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [command],
        env={"OPENRUNS_PLUGINS": "acme.nope_steps", "OPENRUNS_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 2, result.output
    assert (
        "error: plugin module 'acme.nope_steps' (OPENRUNS_PLUGINS) could not be imported: "
        "ModuleNotFoundError" in result.stderr
    )


def test_dev_loads_the_example_plugin_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENRUNS_PLUGINS", "")
    monkeypatch.delenv("OPENRUNS_PLUGINS")
    assert with_example_plugins(Settings()).plugins == [EXAMPLE_PLUGINS]

    monkeypatch.setenv("OPENRUNS_PLUGINS", "")
    assert with_example_plugins(Settings()).plugins == []
