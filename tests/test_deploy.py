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
from tests.support import docs

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    # compose-spec validates against the specification: unknown keys, bad values, bad ports.
    return PyCompose.from_yaml(COMPOSE.read_text()).to_dict()  # type: ignore[no-any-return]


def _command(test: str | list[str]) -> str:
    """A command or health check as one text, whichever form the file uses."""
    return test if isinstance(test, str) else " ".join(test)


def test_the_compose_file_follows_the_specification_and_refuses_a_typo() -> None:
    names = PyCompose.from_yaml(COMPOSE.read_text()).service_names()
    assert names == ["mongo-key", "mongo", "seed", "gateway"]
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
    probe = _command(mongo["healthcheck"]["test"])
    assert "rs.initiate" in probe and "isWritablePrimary" in probe
    for service in ("seed", "gateway"):
        for key, value in compose["services"][service]["environment"].items():
            if str(value).startswith("mongodb://"):
                assert "replicaSet=rs0" in value and "@mongo:27017/" in value, key


def test_mongodb_requires_authentication_with_secrets_from_the_environment(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    mongo = services["mongo"]
    # A key file made once by its own service, before mongod starts with it.
    assert mongo["command"][mongo["command"].index("--keyFile") + 1] == "/keys/keyfile"
    assert mongo["depends_on"]["mongo-key"]["condition"] == "service_completed_successfully"
    assert "/keys/keyfile" in _command(services["mongo-key"]["command"])
    # Users: root from the environment, and the gateway's own (readWrite on its database).
    env = mongo["environment"]
    assert env["MONGO_INITDB_ROOT_PASSWORD"].startswith("${MONGO_ROOT_PASSWORD:?")
    assert env["MEMBERGRAPH_DB_PASSWORD"].startswith("${MEMBERGRAPH_DB_PASSWORD:?")
    [init] = [v for v in mongo["volumes"] if "docker-entrypoint-initdb.d" in str(v)]
    script = (ROOT / str(init).split(":")[0]).read_text()
    assert "createUser" in script and "readWrite" in script and "process.env" in script
    # The health check authenticates; the services connect as the gateway's user, by secret.
    assert "$$MONGO_INITDB_ROOT_PASSWORD" in _command(mongo["healthcheck"]["test"])
    for service in ("seed", "gateway"):
        for key, value in services[service]["environment"].items():
            if str(value).startswith("mongodb://"):
                assert value.startswith("mongodb://membergraph:${MEMBERGRAPH_DB_PASSWORD:?"), key
                assert "authSource=admin" in value, key


def test_long_running_services_restart_and_one_shot_jobs_do_not(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["mongo"]["restart"] == services["gateway"]["restart"] == "unless-stopped"
    assert services["seed"]["restart"] == services["mongo-key"]["restart"] == "no"


def test_the_readmes_test_url_reaches_the_compose_database(compose: dict[str, Any]) -> None:
    # Published on the host's loopback only, and reached directly: the replica set names its
    # member mongo:27017, which the host cannot resolve.
    assert compose["services"]["mongo"]["ports"] == ["127.0.0.1:27017:27017"]
    urls = re.findall(r'MEMBERGRAPH_TEST_MONGODB_URL="(mongodb://[^"]+)"', docs.text())
    assert urls, "the documentation says how to run the real-server suites"
    for url in urls:
        assert "@localhost:27017/" in url and "directConnection=true" in url, url
        assert "authSource=admin" in url, url


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
    # Seeded only when empty: over a store holding data (an older release's) it loads
    # nothing, exit 0, and the gateway, waiting for it to succeed, starts (tests/test_seed.py).
    assert "membergraph load --if-empty " in seed


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
    env = {
        "MEMBERGRAPH_API_KEYS": '{"k": {"name": "n", "scopes": []}}',
        "MONGO_ROOT_PASSWORD": "rootpassword1",
        "MEMBERGRAPH_DB_PASSWORD": "gatewaypassword1",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
