"""The member graph as an Apollo Federation v2 subgraph: `_service { sdl }` and `_entities`
over real HTTP with the same rules as `member(id:)`, and the SDL composed with a second
subgraph by The Guild's composition library (node), as a router would."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.schema.cost import MAX_REPRESENTATIONS
from membergraph.settings import Settings
from tests.support.http import serving

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


HEAVY_ENTITIES = """query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Member {
  id transactions(first: 100) { edges { node { amountCents } } }
  activity(first: 100) { edges { node { at } } } } } }"""


@pytest.fixture
def subgraph(settings: Settings) -> Iterator[tuple[str, Starlette]]:
    app = create_app(settings)
    with serving(app) as address:
        yield address, app


def _entities(address: str, query: str, reps: object) -> dict[str, Any]:
    response = httpx.post(
        f"http://{address}/graphql",
        json={"query": query, "variables": {"reps": reps}},
        headers={"accept": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _member_ids(address: str, n: int) -> list[str]:
    query = f"{{ members(first: {n}) {{ edges {{ node {{ id }} }} }} }}"
    page = httpx.post(f"http://{address}/graphql", json={"query": query}).json()
    return [edge["node"]["id"] for edge in page["data"]["members"]["edges"]]


def test_entities_cost_grows_with_the_representations(subgraph: tuple[str, Starlette]) -> None:
    address, app = subgraph
    ids = _member_ids(address, 5)
    reps = [{"__typename": "Member", "id": i} for i in ids]

    one = _entities(address, HEAVY_ENTITIES, reps[:1])["extensions"]["cost"]["requested"]
    five = _entities(address, HEAVY_ENTITIES, reps)["extensions"]["cost"]["requested"]
    assert five == 5 * one

    # A hundred of them is over the budget: refused before any source is read.
    calls = sum(source.calls for source in app.state.gateway.sources.values())
    refused = _entities(address, HEAVY_ENTITIES, reps * 20)
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert refused["errors"][0]["extensions"]["cost"] == 100 * one
    assert sum(source.calls for source in app.state.gateway.sources.values()) == calls


def test_inline_representations_are_counted_too(subgraph: tuple[str, Starlette]) -> None:
    address, _ = subgraph
    inline = ", ".join('{__typename: "Member", id: "m_x"}' for _ in range(3))
    query = f"{{ _entities(representations: [{inline}]) {{ ... on Member {{ id profile {{ lastName }} }} }} }}"
    body = httpx.post(f"http://{address}/graphql", json={"query": query}).json()
    assert body["data"]["_entities"] == [None, None, None]
    assert body["extensions"]["cost"]["requested"] == 3 * 2  # each: the member and its profile


def test_too_many_representations_are_refused(subgraph: tuple[str, Starlette]) -> None:
    address, _ = subgraph
    reps = [{"__typename": "Member", "id": f"m_{n}"} for n in range(MAX_REPRESENTATIONS + 1)]
    body = _entities(address, ENTITIES, reps)
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert str(MAX_REPRESENTATIONS) in error["message"]
    assert not body.get("data")


@pytest.mark.parametrize(
    ("representation", "says"),
    [
        pytest.param(
            {"__typename": "Nope", "id": "x"}, "'Nope' is not an entity", id="unknown-type"
        ),
        pytest.param({"id": "x"}, "has no __typename", id="no-typename"),
        pytest.param({"__typename": "Member"}, "needs its key: id", id="no-key"),
        pytest.param({"__typename": "Member", "id": 7}, "needs its key: id", id="key-not-a-string"),
        pytest.param("m_x", "must be an object", id="a-string"),
    ],
)
def test_a_malformed_representation_is_bad_user_input_in_one_log_line(
    subgraph: tuple[str, Starlette],
    caplog: pytest.LogCaptureFixture,
    representation: object,
    says: str,
) -> None:
    address, _ = subgraph
    body = _entities(address, ENTITIES, [representation])
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["message"].startswith("representations[0]") and says in error["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
