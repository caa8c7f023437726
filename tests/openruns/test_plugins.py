"""Loading plugins: modules, entry points, and errors that name the culprit."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from pydantic import BaseModel

from openruns.definition import parse_definition
from openruns.definition.steps import get_step_type
from openruns.plugins import PluginError, load_plugins, plugin_module, step


def _module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A fresh importable module holding ``source``; returns its name."""
    name = f"plugin_{uuid.uuid4().hex[:10]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


GOOD = """
    from pydantic import BaseModel
    from openruns.plugins import step

    class Args(BaseModel):
        n: int

    @step("{name}", args=Args)
    def double(args: Args) -> int:
        '''Double `n`.'''
        return args.n * 2
"""


def test_a_module_registers_its_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step_name = f"double_{uuid.uuid4().hex[:6]}"
    module = _module(tmp_path, monkeypatch, GOOD.format(name=step_name))
    loaded = load_plugins([module])
    assert step_name in [p.step_type.name for p in loaded]
    step_type = get_step_type(step_name)
    assert step_type is not None
    assert (step_type.kind, step_type.activity, step_type.description) == (
        "activity",
        f"plugin.{step_name}",
        "Double `n`.",
    )
    assert plugin_module(step_name) == module
    load_plugins([module])  # loading again is harmless
    parse_definition({"steps": [{"id": "d", "uses": step_name, "with": {"n": 1}}]})


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "plugin module '{module}' (OPENRUNS_PLUGINS) could not be imported: "
               "ModuleNotFoundError"),
        ("raise RuntimeError('no licence key')",
         "plugin module '{module}' (OPENRUNS_PLUGINS) could not be imported: "
         "RuntimeError: no licence key"),
        ("import definitely_not_installed_xyz", "ModuleNotFoundError"),
        ("X = 1", "plugin module '{module}' defines no steps"),
        (GOOD.format(name="http"), "plugin module '{module}': step type 'http' is already "
                                   "registered"),
    ],
)  # fmt: skip
def test_a_bad_plugin_module_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str | None, expected: str
) -> None:
    module = _module(tmp_path, monkeypatch, source) if source else "no_such_plugin_module_xyz"
    with pytest.raises(PluginError) as info:
        load_plugins([module])
    assert expected.format(module=module) in str(info.value)


def test_entry_point_plugins_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    step_name = f"ep_{uuid.uuid4().hex[:6]}"
    module = _module(tmp_path, monkeypatch, GOOD.format(name=step_name))
    dist = tmp_path / "acme_steps-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-steps\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[openruns.steps]\nacme = {module}:double\n")
    assert step_name in [p.step_type.name for p in load_plugins([])]

    (dist / "entry_points.txt").write_text("[openruns.steps]\nbroken = acme_missing_xyz\n")
    with pytest.raises(PluginError) as info:
        load_plugins([])
    assert "plugin entry point 'broken' = 'acme_missing_xyz' (openruns.steps)" in str(info.value)


class Args(BaseModel):
    n: int


def test_the_decorator_checks_its_declaration() -> None:
    with pytest.raises(ValueError, match="must match"):
        step("Bad Name", args=Args)
    with pytest.raises(TypeError, match="pydantic model"):
        step("fine", args=dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"function\(args\[, context\]\)"):
        step("fine", args=Args)(lambda: None)
    with pytest.raises(ValueError, match="max_attempts"):
        step("fine", args=Args, retry={"max_attempts": 0})
