"""A source the gateway does not own (a CRM behind an HTTP API) cannot be erased from here:
the erasure asks for it on the change feed (and deletes the copy ``membergraph sync`` keeps),
and suppression keeps the CRM's copy from making the person a member again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl
from tests.connectors.api_server import SourceApi
from tests.privacy.people import add_to_folder
from tests.support.http import serving

runner = CliRunner()
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


def _sync(settings: Settings, url: str) -> str:
    """``membergraph sync --once`` over the CRM API at ``url``: its output."""
    env = {"MEMBERGRAPH_HTTP_SOURCES": orjson.dumps({"crm": {"base_url": url}}).decode()}
    where = ["--data", str(settings.data), "--store", settings.store]
    synced = runner.invoke(app, ["sync", "--once", *where], env=env)
    assert synced.exit_code == 0, synced.output
    return synced.output


@pytest.fixture
def crm_api(data_dir: Path) -> Iterator[str]:
    add_to_folder(data_dir)
    contacts = read_jsonl(data_dir / "crm.jsonl")
    (data_dir / "crm.jsonl").unlink()  # the CRM lives behind its API only
    api = SourceApi("crm", contacts, lambda line: str(line.get("contact_id")))
    with serving(api.app) as address:
        yield f"http://{address}"


ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-3") {
  state counts sources { source state } } }"""
CONFIRM = """mutation($id: ID!, $source: Source!) { confirmSourceDeletion(memberId: $id,
  source: $source) { state sources { source state } } }"""
REQUESTS = "{ privacyRequests { state sources { source state } } }"


def test_an_api_source_gets_a_deletion_request_and_the_request_awaits_it(
    settings: Settings, crm_api: str
) -> None:
    http_sources = Settings(http_sources={"crm": {"base_url": crm_api}}).http_sources
    settings = settings.model_copy(update={"http_sources": http_sources})
    _sync(settings, crm_api)  # her contact reaches identity from the CRM's listing
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        request = gql(client, ERASE, id=member)["data"]["eraseMember"]  # type: ignore[index]
        # Everything the gateway owns is erased; the CRM it only reads is asked, and the
        # request says it waits for that CRM, naming what became of each source.
        assert request["state"] == "AWAITING_SOURCES" and request["counts"]["forwarded"] == 1
        assert request["sources"] == [
            {"source": "CALL_CENTER", "state": "DELETED"},
            {"source": "CRM", "state": "REQUESTED"},
            {"source": "TRANSACTIONS", "state": "DELETED"},
            {"source": "WEB_ANALYTICS", "state": "DELETED"},
        ]
        asked = [n for n in _feed(client) if n["kind"] == "DELETION_REQUESTED"]
        assert asked == [{"kind": "DELETION_REQUESTED", "memberIds": [member], "source": "CRM"}]
        assert gql(client, FIND)["data"] == {"memberByIdentifier": None}
        assert request["counts"]["lines_crm_synced"] == 1  # the synced copy: ours, erased
    # The CRM still lists her at the next sync: her suppressed identifiers keep her out, and
    # the request still waits for the CRM (a restart does not call it done, nor run it again).
    assert "suppressed 1" in _sync(settings, crm_api)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert gql(client, FIND)["data"] == {"memberByIdentifier": None}
        listed = gql(client, REQUESTS)["data"]["privacyRequests"]  # type: ignore[index]
        assert [r["state"] for r in listed] == ["AWAITING_SOURCES"]
        # The CRM's operator confirms: the data-protection officer records it, and only then
        # is the request done.
        done = gql(client, CONFIRM, id=member, source="CRM")["data"]["confirmSourceDeletion"]  # type: ignore[index]
        assert done["state"] == "DONE"
        assert {"source": "CRM", "state": "CONFIRMED"} in done["sources"]
        assert gql(client, REQUESTS)["data"]["privacyRequests"][0]["state"] == "DONE"  # type: ignore[index]
        # Confirming what is not awaited, or for nobody, says so.
        again = gql(client, CONFIRM, id=member, source="CRM")["errors"][0]  # type: ignore[index]
        assert again["extensions"]["code"] == "BAD_USER_INPUT"
        assert "awaits no deletion from 'crm'" in again["message"]
        nobody = gql(client, CONFIRM, id="m_nobody", source="CRM")["errors"][0]  # type: ignore[index]
        assert nobody["extensions"]["code"] == "NOT_FOUND"


def test_the_officer_confirms_from_the_command_line(
    settings: Settings, crm_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the gateway reading its CRM over HTTP (as `serve` reads the environment),
    monkeypatch.setenv("MEMBERGRAPH_HTTP_SOURCES", f'{{"crm": {{"base_url": "{crm_api}"}}}}')
    _sync(settings, crm_api)
    with TestClient(
        create_app(Settings(**_given(settings))), base_url="http://127.0.0.1"
    ) as client:
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
    assert settings.data is not None
    where = ["--data", str(settings.data), "--store", settings.store]
    # when the officer erases at the shell, the request waits for the CRM (exit 0: nothing
    # here failed),
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-8", *where])
    assert erased.exit_code == 0, erased.output
    said = orjson.loads(erased.stdout)
    assert (said["state"], said["sources"]["crm"]) == ("AWAITING_SOURCES", "REQUESTED")
    # then records the CRM operator's confirmation: done, and a second one is refused.
    confirm = ["privacy", "confirm-deletion", member, "--source", "crm", *where]
    done = runner.invoke(app, confirm)
    assert done.exit_code == 0, done.output
    assert orjson.loads(done.stdout)["state"] == "DONE"
    again = runner.invoke(app, confirm)
    assert again.exit_code == 1 and "awaits no deletion from 'crm'" in again.output


def _given(settings: Settings) -> dict[str, object]:
    return {"data": settings.data, "store": settings.store, "cache_dir": settings.cache_dir}


def test_a_narrowed_erasure_asks_the_api_source_for_her_records_not_the_member(
    settings: Settings, crm_api: str, data_dir: Path
) -> None:
    http_sources = Settings(http_sources={"crm": {"base_url": crm_api}}).http_sources
    settings = settings.model_copy(update={"http_sources": http_sources})
    _sync(settings, crm_api)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Given a steward's link of her contact to another customer's, by mistake
        other = gql(client, "{ members(first: 1) { edges { node { records { source key } } } } }")
        his = next(
            r["key"]
            for r in other["data"]["members"]["edges"][0]["node"]["records"]  # type: ignore[index]
            if r["source"] == "CRM"
        )
        link = """mutation($k: String!) { linkRecords(a: {source: CRM, key: "C-ZQ-77"},
          b: {source: CRM, key: $k}, reason: "same caller") { id } }"""
        assert "errors" not in gql(client, link, k=his)
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        before = gql(client, "{ viewer { feedCursor } }")["data"]["viewer"]["feedCursor"]  # type: ignore[index]
        # When only her contact is erased
        erase = """mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-3",
          records: [{source: CRM, key: "C-ZQ-77"}]) { kind state } }"""
        done = gql(client, erase, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert done == {"kind": "erase_records", "state": "AWAITING_SOURCES"}
        # Then the CRM is asked to delete her contact by its id, naming no member (the
        # member lives on, his)
        changes = """query($after: String) { changes(first: 1000, after: $after) {
          edges { node { kind memberIds source lineId } } } }"""
        edges = gql(client, changes, after=before)["data"]["changes"]["edges"]  # type: ignore[index]
        asked = [e["node"] for e in edges if e["node"]["kind"] == "DELETION_REQUESTED"]
        assert asked == [
            {"kind": "DELETION_REQUESTED", "memberIds": [], "source": "CRM", "lineId": "C-ZQ-77"}
        ]
        still = gql(
            client,
            "query($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) { id } }",
            v=his,
        )
        assert still["data"]["memberByIdentifier"] is not None  # type: ignore[index]
