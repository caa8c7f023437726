"""deploy/haproxy.cfg sends HTTP to every api replica and SMTP to every email-gateway replica,
on the ports the components listen on, and is a configuration HAProxy accepts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from api.routes.runs import MAX_WAIT_SECONDS
from openruns.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "haproxy.cfg"


def _sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in CONFIG.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not raw.startswith((" ", "\t")):
            current = line
            sections[current] = []
        else:
            sections[current].append(line.strip())
    return sections


def test_backends_reach_every_replica_on_the_component_ports() -> None:
    sections = _sections()
    defaults = Settings()
    api = " ".join(sections["backend api"])
    gateway = " ".join(sections["backend email-gateway"])
    assert re.search(rf"server-template \w+ \d+ api:{defaults.api_port} .*resolvers docker", api)
    assert re.search(
        rf"server-template \w+ \d+ email-gateway:{defaults.smtp_port} .*resolvers docker", gateway
    )
    assert "nameserver dns 127.0.0.11:53" in sections["resolvers docker"]  # Docker's DNS
    assert "option smtpchk HELO proxy.openruns.internal" in sections["backend email-gateway"]


def test_frontends_match_the_ports_compose_publishes() -> None:
    sections = _sections()
    proxy = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["proxy"]
    published = {int(port.rsplit(":", 1)[1]) for port in proxy["ports"]}
    binds = {
        int(line.split(":")[1]) for s in sections.values() for line in s if line.startswith("bind")
    }
    assert published <= binds
    health = " ".join(proxy["healthcheck"]["test"])
    assert "http://127.0.0.1:8404/healthz" in health
    assert "bind :8404" in sections["frontend health"]
    assert "monitor-uri /healthz" in sections["frontend health"]


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_haproxy_accepts_the_configuration() -> None:
    result = subprocess.run(
        ["haproxy", "-c", "-f", str(CONFIG)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m|h)?", value).groups()  # type: ignore[union-attr]
    return int(number) * {"ms": 0.001, "s": 1, None: 0.001, "m": 60, "h": 3600}[unit]


def test_http_timeouts_outlast_the_longest_waiting_request() -> None:
    """A request may wait up to MAX_WAIT_SECONDS for its run; the proxy must not answer 504
    first (the run has started by then, and a retry without a key would start another)."""
    defaults = dict(
        line.split()[1:3] for line in _sections()["defaults"] if line.startswith("timeout")
    )
    for name in ("client", "server"):
        assert _seconds(defaults[name]) >= MAX_WAIT_SECONDS + 15, (name, defaults[name])
