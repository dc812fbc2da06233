"""The member graph as an Apollo Federation v2 subgraph: `_service { sdl }` and `_entities`
over real HTTP with the same rules as `member(id:)`, and the SDL composed with a second
subgraph by The Guild's composition library (node), as a router would."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings

ROOT = Path(__file__).parent.parent.parent
KEYS = {
    "reader-key-0000000001": {"name": "reader", "scopes": ["profile:read"]},
    "ingest-key-0000000001": {"name": "till", "scopes": ["ingest:write"]},
}
ENTITIES = """query($reps: [_Any!]!) { _entities(representations: $reps) {
  ... on Member { id profile { lastName } } } }"""


def _sdl(client: TestClient) -> str:
    body = client.post("/graphql", json={"query": "{ _service { sdl } }"}).json()
    return str(body["data"]["_service"]["sdl"])


def test_the_subgraph_sdl_names_member_as_an_entity(client: TestClient) -> None:
    sdl = _sdl(client)
    assert 'type Member @key(fields: "id")' in sdl
    assert "specs.apollo.dev/federation/v2" in sdl


def test_entities_answer_as_member_by_id_and_need_the_same_scope(settings: Settings) -> None:
    keyed = Settings.model_validate({**settings.model_dump(), "api_keys": KEYS})
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        reader = {"x-api-key": "reader-key-0000000001"}
        page = client.post(
            "/graphql",
            json={"query": "{ members(first: 2) { edges { node { id profile { lastName } } } } }"},
            headers=reader,
        ).json()
        members = [edge["node"] for edge in page["data"]["members"]["edges"]]
        reps = [{"__typename": "Member", "id": m["id"]} for m in members]
        reps.append({"__typename": "Member", "id": "m_nosuchmember"})
        answer = client.post(
            "/graphql", json={"query": ENTITIES, "variables": {"reps": reps}}, headers=reader
        ).json()
        assert answer["data"]["_entities"] == [*members, None]

        refused = client.post(
            "/graphql",
            json={"query": ENTITIES, "variables": {"reps": reps[:1]}},
            headers={"x-api-key": "ingest-key-0000000001"},
        ).json()
        assert refused["data"]["_entities"] == [None]
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_the_sdl_composes_with_another_subgraph(client: TestClient, tmp_path: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.skip("node and npm are not installed")
    tools = Path.home() / ".cache" / "membergraph" / "federation-composition"
    tools.mkdir(parents=True, exist_ok=True)
    if not (tools / "node_modules" / "@theguild" / "federation-composition").exists():
        installed = subprocess.run(
            [
                npm,
                "install",
                "--silent",
                "--prefix",
                str(tools),
                "@theguild/federation-composition@0.27",
                "graphql@16",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm could not install the composition library: {installed.stderr[-300:]}")
    script = tools / "compose_supergraph.mjs"
    shutil.copy(ROOT / "scripts" / "compose_supergraph.mjs", script)
    sdl = tmp_path / "membergraph.graphql"
    sdl.write_text(_sdl(client))
    composed = subprocess.run(
        [node, str(script), str(sdl)], capture_output=True, text=True, timeout=120, check=False
    )
    assert composed.returncode == 0, composed.stderr
    assert '@join__type(graph: MEMBERGRAPH, key: "id") @join__type(graph: OFFERS, key: "id")' in (
        composed.stdout
    )
    assert "recommendedOffers: [String!]! @join__field(graph: OFFERS)" in composed.stdout
