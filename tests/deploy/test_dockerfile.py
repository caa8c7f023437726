"""The Dockerfile builds one sane image: slim Python 3.11, installed with ``pip install .``,
running as a non-root user with ``openruns`` as its entrypoint, and nothing secret inside."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from openruns.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


@pytest.fixture(scope="module")
def final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_every_stage_is_python_311_slim() -> None:
    bases = [args.split()[0] for keyword, args in _instructions() if keyword == "FROM"]
    assert bases and all(base == "python:3.11-slim" for base in bases), bases


def test_runs_as_a_non_root_user(final_stage: list[tuple[str, str]]) -> None:
    users = [args for keyword, args in final_stage if keyword == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0"), users
    keywords = [keyword for keyword, _ in final_stage]
    assert "RUN" not in keywords[keywords.index("USER") :], "nothing runs as root after USER"


def test_entrypoint_is_the_openruns_command(final_stage: list[tuple[str, str]]) -> None:
    args = dict(final_stage)
    assert json.loads(args["ENTRYPOINT"]) == ["openruns"]
    assert json.loads(args["CMD"]) == ["api"]


def test_installs_the_project_with_pip() -> None:
    runs = " ".join(args for keyword, args in _instructions() if keyword == "RUN")
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", runs)
    copied = " ".join(args for keyword, args in _instructions() if keyword == "COPY")
    for source in ("pyproject.toml", "README.md", "worker.py", "src"):
        assert source in copied, source


def test_no_secret_is_baked_into_the_image() -> None:
    env = " ".join(args for keyword, args in _instructions() if keyword in ("ENV", "ARG"))
    assert not re.search(r"KEY|PASSWORD|SECRET|TOKEN", env), env


def test_dockerignore_lets_only_the_build_inputs_in() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # .env, .git, .venv and data/ can never reach the build context
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "worker.py", "src"}


def test_the_wheel_carries_every_package_and_worker_py(tmp_path: Path) -> None:
    """The image runs ``pip install .``: build that wheel and look inside."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("openruns-*.whl")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    packages = {p.name for p in (ROOT / "src").iterdir() if (p / "__init__.py").exists()}
    assert packages <= top_level, packages - top_level
    assert "worker.py" in top_level


def test_compose_runs_commands_the_image_has() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {s["command"][0] for s in services.values() if s.get("build") == "."}
    healthchecks = {
        s["healthcheck"]["test"][2]
        for s in services.values()
        if s.get("build") == "." and "healthcheck" in s
    }
    registered = {
        c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands
    }
    # `openruns smtp` arrives with the email gateway.
    assert commands - registered <= {"smtp"}, commands - registered
    assert healthchecks == {"healthcheck"}
    assert "healthcheck" in registered
