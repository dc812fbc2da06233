"""The deployment files: docker-compose.yml against the Compose specification, and what our
own deployment needs of it and of the Dockerfile. No Docker engine can start them here."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from compose_spec import PyCompose

from membergraph.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # compose-spec validates against the specification: unknown keys, bad values, bad ports.
    return PyCompose.from_yaml(COMPOSE.read_text()).to_dict()  # type: ignore[no-any-return]


def test_the_compose_file_follows_the_specification_and_refuses_a_typo() -> None:
    assert PyCompose.from_yaml(COMPOSE.read_text()).service_names() == ["mongo", "seed", "gateway"]
    with pytest.raises(ValueError, match="healthchek"):
        PyCompose.from_yaml(COMPOSE.read_text().replace("healthcheck:", "healthchek:", 1))


def test_every_dependency_names_a_service_and_starts_in_order(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
    assert services["seed"]["depends_on"]["mongo"]["condition"] == "service_healthy"
    assert (
        services["gateway"]["depends_on"]["seed"]["condition"] == "service_completed_successfully"
    )


def test_mongodb_7_runs_as_a_replica_set_so_transactions_work(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["image"].startswith("mongo:7")
    assert "--replSet" in mongo["command"] and "rs0" in mongo["command"]
    probe = " ".join(mongo["healthcheck"]["test"])
    assert "rs.initiate" in probe and "isWritablePrimary" in probe
    for service in ("seed", "gateway"):
        for key, value in compose["services"][service]["environment"].items():
            if str(value).startswith("mongodb://"):
                assert "replicaSet=rs0" in value and "@mongo:" not in value, key


def test_the_gateways_variables_are_settings_it_reads(compose: dict[str, Any]) -> None:
    known = {f"MEMBERGRAPH_{name.upper()}" for name in Settings.model_fields}
    for service in ("seed", "gateway"):
        env = compose["services"][service]["environment"]
        assert set(env) <= known, set(env) - known
    gateway = compose["services"]["gateway"]
    assert gateway["ports"] == ["8000:8000"] and gateway["environment"]["MEMBERGRAPH_GRAPHIQL"]
    # Beyond loopback the gateway needs credentials: compose refuses to start without them.
    assert gateway["environment"]["MEMBERGRAPH_API_KEYS"].startswith("${MEMBERGRAPH_API_KEYS:?")
    assert "/readyz" in " ".join(gateway["healthcheck"]["test"])
    seed = " ".join(compose["services"]["seed"]["command"])
    assert "membergraph demo-data" in seed and "membergraph load" in seed


def test_the_image_is_slim_runs_as_a_user_and_checks_readiness() -> None:
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert bases and all(base.endswith("-slim") for base in bases)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*\n?.*/readyz", text, flags=re.M)
    for source in re.findall(r"^COPY\s+(?!--from)(.+)\s+\S+$", text, flags=re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"COPY {path}: no such file"
    assert '"membergraph", "serve"' in text


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    env = {"MEMBERGRAPH_API_KEYS": '{"k": {"name": "n", "scopes": []}}', "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
