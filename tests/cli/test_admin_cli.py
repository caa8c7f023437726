"""``openruns apikey`` and ``openruns setup`` as a user meets them: errors are one line and
exit code 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from temporalio.client import Client

from tests.helpers import free_port
from tests.helpers.stack import OPENRUNS


def _openruns(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENRUNS, *args],
        env={**os.environ, "OPENRUNS_DATA_DIR": str(data_dir), "OPENRUNS_LOG_LEVEL": "WARNING",
             "OPENRUNS_DATABASE_URL": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def test_apikey_on_a_fresh_data_directory_and_an_unknown_key(tmp_path: Path) -> None:
    listed = _openruns(tmp_path, "apikey", "list")
    assert (listed.returncode, listed.stdout, listed.stderr) == (0, "", "")
    unknown = _openruns(tmp_path, "apikey", "revoke", "key-does-not-exist")
    assert unknown.returncode == 1
    assert unknown.stderr == "error: API key 'key-does-not-exist' not found\n"


def test_setup_without_temporal_says_so_in_one_line(tmp_path: Path) -> None:
    down = _openruns(tmp_path, "setup", OPENRUNS_TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    assert down.returncode == 1
    assert down.stderr.startswith("error: Temporal cannot be reached"), down.stderr
    assert "Traceback" not in down.stderr and len(down.stderr.splitlines()) == 1


def test_apikey_migrates_without_logging_each_step(tmp_path: Path) -> None:
    created = _openruns(tmp_path, "apikey", "create", "--name", "ci", OPENRUNS_LOG_LEVEL="INFO")
    assert created.returncode == 0 and created.stdout.startswith("ork_"), created.stderr
    assert created.stderr == ""  # alembic's "Running upgrade …" lines were INFO noise here


def test_setup_with_a_revoked_key_says_so_in_one_line(tmp_path: Path, client: Client) -> None:
    key = f"ork_{uuid.uuid4().hex}"
    temporal = {"OPENRUNS_TEMPORAL_ADDRESS": client.service_client.config.target_host}
    assert _openruns(tmp_path, "setup", OPENRUNS_API_KEY=key, **temporal).returncode == 0
    key_id = _openruns(tmp_path, "apikey", "list").stdout.split("\t")[0]
    assert _openruns(tmp_path, "apikey", "revoke", key_id).returncode == 0
    again = _openruns(tmp_path, "setup", OPENRUNS_API_KEY=key, **temporal)
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == (
        f"error: OPENRUNS_API_KEY was revoked (API key {key_id}) and is refused;"
        " choose another key\n"
    )
