"""A source the gateway does not own (a CRM behind an HTTP API) cannot be erased from here:
the erasure asks for it on the change feed, and suppression keeps the CRM's copy from
making the person a member again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl
from tests.connectors.api_server import SourceApi
from tests.privacy.people import add_to_folder
from tests.support.http import serving

FIND = '{ memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }'
CHANGES = """query($after: String) { changes(first: 1000, after: $after) {
  edges { node { kind memberIds source } } pageInfo { hasNextPage endCursor } } }"""


def _feed(client: TestClient) -> list[dict[str, object]]:
    nodes, after = [], None
    while True:
        page = gql(client, CHANGES, after=after)["data"]["changes"]  # type: ignore[index]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@pytest.fixture
def crm_api(data_dir: Path) -> Iterator[str]:
    add_to_folder(data_dir)
    contacts = read_jsonl(data_dir / "crm.jsonl")
    (data_dir / "crm.jsonl").unlink()  # the CRM lives behind its API only
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    with serving(api.app) as address:
        yield f"http://{address}"


def test_an_api_source_gets_a_deletion_request_on_the_feed(
    settings: Settings, crm_api: str
) -> None:
    http_sources = Settings(http_sources={"crm": {"base_url": crm_api}}).http_sources
    settings = settings.model_copy(update={"http_sources": http_sources})
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        erase = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-3") { state counts } }'
        request = gql(client, erase, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert request["state"] == "DONE" and request["counts"]["forwarded"] == 1
        asked = [n for n in _feed(client) if n["kind"] == "DELETION_REQUESTED"]
        assert asked == [{"kind": "DELETION_REQUESTED", "memberIds": [member], "source": "CRM"}]
        assert gql(client, FIND)["data"] == {"memberByIdentifier": None}
    # The CRM still lists her at the next start: her suppressed identifiers keep her out.
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert gql(client, FIND)["data"] == {"memberByIdentifier": None}
