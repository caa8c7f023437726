"""``make dev`` brings the whole stack up as separate processes; a run started with curl
succeeds; Ctrl-C (SIGINT) stops every process it started."""

from __future__ import annotations

import json
import os
import re
import signal
import smtplib
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest

from openruns.devstack import port_in_use
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[dict]:
    ports = {name: free_port() for name in ("API", "SMTP", "TEMPORAL", "TEMPORAL_UI")}
    env = {
        **os.environ,
        "OPENRUNS_DATA_DIR": str(tmp_path / "data"),
        **{f"OPENRUNS_{name}_PORT": str(port) for name, port in ports.items()},
    }
    log = (tmp_path / "dev.log").open("w+")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "dev"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        key = None
        while key is None:
            assert process.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, Path(log.name).read_text()
            match = re.search(r"Dev API key\s+(\S+)", Path(log.name).read_text())
            key = match.group(1) if match else None
            time.sleep(0.2)
        yield {"process": process, "ports": ports, "key": key, "log": Path(log.name)}
    finally:
        if process.poll() is None:
            # Ctrl-C first: the stack's children live in sessions of their own, so a SIGKILL
            # of make's group would orphan them (and their ports) after a failed test.
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def assert_email_starts_a_run(http: httpx.Client, smtp_port: int) -> None:
    """The gateway `make dev` started turns a message into a Succeeded run."""
    definition = {"outputs": {"subject": "{{ inputs.email.subject }}"}}
    process = http.post("/v2/processes", json={"name": "mailbox", "definition": definition})
    assert process.status_code == 201, process.text
    address = process.json()["email_address"]
    assert http.post(f"/v2/processes/{process.json()['id']}/publish").status_code == 200
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "ann@example.test", address, "hi there"
    message.set_content("hello")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        assert smtp.send_message(message) == {}
    deadline = time.monotonic() + 30
    while True:
        runs = http.get("/v2/runs", params={"process_id": process.json()["id"]}).json()["items"]
        if runs and runs[0]["state"] == "Succeeded":
            break
        assert time.monotonic() < deadline, runs
        time.sleep(0.1)
    run = http.get(f"/v2/runs/{runs[0]['id']}").json()
    assert run["trigger"] == "email" and run["outputs"] == {"subject": "hi there"}


def test_make_dev_runs_a_process_started_with_curl(dev_stack: dict) -> None:
    base = f"http://127.0.0.1:{dev_stack['ports']['API']}"
    headers = {"x-api-key": dev_stack["key"]}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        assert http.get("/v2/health").json() == {"status": "OK"}
        login = http.get("/ui/login")  # the web UI is served by the API process
        assert login.status_code == 200 and "Log in to OpenRuns" in login.text
        definition = {
            "inputs": {"who": {"type": "string", "required": True}},
            "steps": [{"id": "greet", "uses": "set", "with": {"text": "hello {{ inputs.who }}"}}],
            "outputs": {"greeting": "{{ steps.greet.text }}"},
        }
        process = http.post("/v2/processes", json={"name": "hello", "definition": definition})
        assert process.status_code == 201, process.text
        curl = subprocess.run(
            ["curl", "-sS", "-X", "POST", f"{base}/v2/runs",
             "-H", f"x-api-key: {dev_stack['key']}", "-H", "content-type: application/json",
             "-d", json.dumps({"process_id": process.json()["id"], "stage": "Draft",
                               "inputs": {"who": "world"}})],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        run_id = json.loads(curl.stdout)["id"]
        deadline = time.monotonic() + 30
        while (run := http.get(f"/v2/runs/{run_id}").json())["state"] != "Succeeded":
            assert run["state"] in ("Pending", "Running"), run
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
        assert run["outputs"] == {"greeting": "hello world"}
        assert_email_starts_a_run(http, dev_stack["ports"]["SMTP"])
        ui = httpx.get(f"http://127.0.0.1:{dev_stack['ports']['TEMPORAL_UI']}/", timeout=10)
        assert ui.status_code == 200

    os.killpg(dev_stack["process"].pid, signal.SIGINT)  # Ctrl-C reaches make and openruns dev
    # make reports the interrupt itself (-SIGINT); what matters is that everything stopped.
    assert dev_stack["process"].wait(timeout=60) in (0, -signal.SIGINT, 130, 2)
    assert "stopping OpenRuns" in dev_stack["log"].read_text()
    for port in dev_stack["ports"].values():
        assert not port_in_use(port), f"port {port} still open after Ctrl-C"


def test_make_dev_loads_the_example_plugin_and_runs_the_example_process(
    dev_stack: dict,
) -> None:
    base = f"http://127.0.0.1:{dev_stack['ports']['API']}"
    assert "Plugins       examples.plugins.invoice_tools" in dev_stack["log"].read_text()
    # The import command the README documents (jq + curl), against this stack.
    imported = subprocess.run(
        "jq -Rs '{name: \"invoice-total\", description: \"Totals an invoice and refuses one"
        " above a limit.\", definition: .}' examples/processes/invoice_total.yaml"
        f" | curl -sS -H 'x-api-key: {dev_stack['key']}' -H 'content-type: application/json'"
        f" -d @- {base}/v2/processes",
        shell=True, cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    process = json.loads(imported.stdout)
    assert process["name"] == "invoice-total", process
    assert process["description"] == "Totals an invoice and refuses one above a limit."
    with httpx.Client(base_url=base, headers={"x-api-key": dev_stack["key"]}, timeout=10) as http:
        types = http.get("/v2/step-types", params={"limit": 100}).json()["items"]
        assert "invoice_total" in [t["name"] for t in types]
        rows = [{"description": "widget", "quantity": "4", "unit_price": "2.50"}]
        body = {"process_id": process["id"], "stage": "Draft", "inputs": {"rows": rows}}
        run_id = http.post("/v2/runs", json=body).json()["id"]
        deadline = time.monotonic() + 30
        while (run := http.get(f"/v2/runs/{run_id}").json())["state"] != "Succeeded":
            assert run["state"] in ("Pending", "Running"), run
            assert time.monotonic() < deadline, run
            time.sleep(0.1)
    assert run["outputs"] == {"subtotal": 10.0, "tax": 2.0, "total": 12.0, "lines": 1}
