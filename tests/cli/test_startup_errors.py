"""Every command meets a refused setting, or a store, Temporal or port it cannot use, with one
line naming it and an exit code (2: it cannot start as configured; 1: its work failed), never
a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.helpers import free_port
from tests.helpers.stack import OPENRUNS

COMMANDS = [
    ["setup"],
    ["dev"],
    ["api"],
    ["worker"],
    ["smtp"],
    ["apikey", "list"],
    ["runs", "list"],
    ["schedule", "list", "some-process"],
    ["test", "run", "some-process"],
]
KEY = "ork_" + "k" * 40


def openruns(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``openruns ARGS`` with only these settings (nothing reachable unless given)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENRUNS_")}
    return subprocess.run(
        [OPENRUNS, *args],
        env={**clean, "OPENRUNS_DATA_DIR": str(data_dir), "OPENRUNS_LOG_LEVEL": "WARNING",
             "OPENRUNS_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def unreachable_postgres() -> str:
    return f"postgresql://postgres@127.0.0.1:{free_port()}/openruns"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_refused_setting_is_one_line_naming_it(command: list[str], tmp_path: Path) -> None:
    result = openruns(tmp_path, *command, OPENRUNS_API_PORT="abc")
    assert result.returncode == 2, result.stderr
    assert one_line(result) == (
        "error: OPENRUNS_API_PORT: Input should be a valid integer, unable to parse string as "
        "an integer (got 'abc')"
    )


def test_healthcheck_says_unhealthy_with_exit_code_1(tmp_path: Path) -> None:
    result = openruns(tmp_path, "healthcheck", "api", OPENRUNS_LOG_FORMAT="xml")
    assert result.returncode == 1  # Docker reserves 2
    assert (
        one_line(result)
        == "error: OPENRUNS_LOG_FORMAT: Input should be 'json' or 'text' (got 'xml')"
    )


@pytest.mark.parametrize("args", [["bogus"], []], ids=["unknown", "missing"])
def test_healthcheck_of_no_known_component_is_exit_1_in_one_line(
    args: list[str], tmp_path: Path
) -> None:
    """Docker reserves exit code 2, so not even a usage error gives it."""
    result = openruns(tmp_path, "healthcheck", *args)
    assert result.returncode == 1, result.stderr
    expected = f"no component {args[0]!r} (api" if args else "which component? (api"
    assert one_line(result) == f"error: healthcheck: {expected}, worker or smtp)"


def test_each_refused_setting_has_its_line_and_secrets_are_not_repeated(tmp_path: Path) -> None:
    result = openruns(
        tmp_path, "apikey", "list",
        OPENRUNS_SESSION_HOURS="-1", OPENRUNS_AUTO_SETUP="maybe", OPENRUNS_SMTP_RELAY_TLS="ssl",
        OPENRUNS_LOG_LEVEL="verbose", OPENRUNS_API_KEY="short",
        OPENRUNS_DATABASE_URL="mysql://app:hunter2@db/openruns",
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert sorted(result.stderr.splitlines()) == [
        "error: OPENRUNS_API_KEY: an API key must be at least 20 characters: make one with "
        "`openssl rand -hex 24`",
        "error: OPENRUNS_AUTO_SETUP: Input should be a valid boolean, unable to interpret input "
        "(got 'maybe')",
        "error: OPENRUNS_DATABASE_URL: mysql:// is not supported: use "
        "postgresql://user:password@host:port/database (PostgreSQL) or "
        "sqlite:///path/to/file.db (SQLite)",
        "error: OPENRUNS_LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or "
        "'CRITICAL' (got 'verbose')",
        "error: OPENRUNS_SESSION_HOURS: Input should be greater than 0 (got '-1')",
        "error: OPENRUNS_SMTP_RELAY_TLS: Input should be 'none', 'starttls' or 'tls' (got 'ssl')",
    ]


def test_temporal_tls_files_must_be_readable(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    for command in ("worker", "api", "setup"):
        result = openruns(tmp_path, command, OPENRUNS_TEMPORAL_TLS_CA=missing)
        assert result.returncode == 2
        assert one_line(result) == (
            f"error: OPENRUNS_TEMPORAL_TLS_CA: cannot read {missing!r}: No such file or directory"
        )


def test_smtp_tls_files_are_checked_when_the_gateway_starts(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    smtp = openruns(tmp_path, "smtp", OPENRUNS_SMTP_TLS_CERT=missing, OPENRUNS_SMTP_TLS_KEY=missing)
    assert smtp.returncode == 2
    assert one_line(smtp) == (
        f"error: OPENRUNS_SMTP_TLS_CERT: cannot read {missing!r}: No such file or directory"
    )
    half = openruns(tmp_path, "smtp", OPENRUNS_SMTP_TLS_CERT=missing)
    assert half.returncode == 2
    assert one_line(half) == (
        "error: OPENRUNS_SMTP_TLS_CERT and OPENRUNS_SMTP_TLS_KEY go together: "
        "set both for STARTTLS, or neither"
    )


def test_the_store_and_the_data_directory_are_named_not_temporal(
    tmp_path: Path, client: Client
) -> None:
    url = unreachable_postgres()
    temporal = client.service_client.config.target_host
    for command in (["apikey", "list"], ["setup"], ["worker"], ["smtp"], ["api"]):
        down = openruns(
            tmp_path, *command, OPENRUNS_DATABASE_URL=url, OPENRUNS_TEMPORAL_ADDRESS=temporal
        )
        assert down.returncode == 1, (command, down.stderr)
        assert one_line(down).startswith(
            f"error: the metadata store cannot be used ({url}): Connect call failed"
        ), (command, down.stderr)

    a_file = tmp_path / "a-file"
    a_file.touch()
    not_a_dir = openruns(a_file, "apikey", "list")
    assert not_a_dir.returncode == 2
    assert one_line(not_a_dir) == (
        f"error: OPENRUNS_DATA_DIR: cannot make the data directory {str(a_file)!r}: File exists"
    )


def test_a_worker_without_temporal_says_so(tmp_path: Path) -> None:
    down = openruns(tmp_path, "worker")
    assert down.returncode == 1
    assert one_line(down).startswith("error: Temporal cannot be reached at 127.0.0.1:")


@pytest.mark.parametrize("command", ["api", "smtp"])
def test_a_port_that_cannot_be_bound(command: str, tmp_path: Path, taken_port: int) -> None:
    variable = f"OPENRUNS_{command.upper()}"
    no_setup = {"OPENRUNS_AUTO_SETUP": "false"}  # no warning that Temporal is not there
    taken = openruns(tmp_path, command, **{f"{variable}_PORT": str(taken_port)}, **no_setup)
    assert taken.returncode == 1
    line = one_line(taken)
    assert f"cannot listen on 127.0.0.1:{taken_port} ({variable}_HOST, {variable}_PORT)" in line
    assert "address already in use" in line.lower()

    foreign = openruns(
        tmp_path, command, **{f"{variable}_HOST": "192.0.2.1"}, **no_setup
    )  # TEST-NET-1
    assert foreign.returncode == 1
    assert "cannot assign requested address" in one_line(foreign).lower()


def test_api_urls_that_are_not_urls(tmp_path: Path) -> None:
    bad = openruns(tmp_path, "runs", "list", "--url", "http://[::1", OPENRUNS_API_KEY=KEY)
    assert bad.returncode == 2
    assert one_line(bad).startswith("error: 'http://[::1' (--url or OPENRUNS_API_URL) is not a URL")

    port = free_port()
    anywhere = openruns(
        tmp_path, "runs", "list", OPENRUNS_API_HOST="::", OPENRUNS_API_PORT=str(port),
        OPENRUNS_API_KEY=KEY,
    )  # fmt: skip
    assert anywhere.returncode == 2  # bound to every address: reached on loopback
    assert one_line(anywhere).startswith(f"error: cannot reach the API at http://[::1]:{port}/v2/")
