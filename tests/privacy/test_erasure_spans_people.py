"""An erasure erases one person, and only hers: a member a steward linked to another
customer's contact (Erin and Gus) is not erased whole without being told to. A dry run says
what would go and whom; a plain erasure is refused ``ERASURE_SPANS_PEOPLE`` naming the
contacts; ``records`` narrows it to hers (Gus stays whole, unsuppressed); ``wholeMember``
confirms the whole member. The access export warns first; the command line says the same
(docs/privacy.md, "Erasure")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import ApiKey, Settings
from tests.privacy.household import GUS, write_household
from tests.support.mongo import EmulatedClient, load

DPO = "dpo-key-0123456789abcdef"  # privacy:admin with pii:read
DPO_MASKED = "dpo-masked-0123456789ab"  # privacy:admin without
STEWARD = "steward-key-0123456789ab"
INGEST = "ingest-key-0123456789abc"
KEYS = {
    DPO: ["profile:read", "privacy:admin", "pii:read", "analytics:read"],
    DPO_MASKED: ["profile:read", "privacy:admin"],
    STEWARD: ["profile:read", "identity:write"],
    INGEST: ["ingest:write"],
}
PREVIEW = """mutation($id: ID!, $records: [RecordRefInput!]) {
  eraseMember(id: $id, reason: "ticket DPO-1", dryRun: true, records: $records) {
    id state kind preview { memberId spansPeople people
      contacts { crmId firstName lastName birthDate person }
      stewardLinks { a { source key } b { source key } }
      records { source count } suppressed { kind count } leftToOthers
      lines { source count } membersElsewhere } } }"""
ERASE = """mutation($id: ID!, $records: [RecordRefInput!], $whole: Boolean! = false) {
  eraseMember(id: $id, reason: "ticket DPO-1", records: $records, wholeMember: $whole) {
    kind state counts } }"""
FIND = """{ erin: memberByIdentifier(kind: CRM_ID, value: "C-100") { id }
  erinsCard: memberByIdentifier(kind: LOYALTY_ID, value: "LD77770001") { id }
  gus: memberByIdentifier(kind: CRM_ID, value: "C-102") { id records { key } }
  gusCard: memberByIdentifier(kind: LOYALTY_ID, value: "LD88880003") { id }
  gusEmail: memberByIdentifier(kind: EMAIL, value: "gus.other@mail-example.org") { id } }"""
HERS = {"source": "CRM", "key": "C-100"}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_household(tmp_path / "data")


@pytest.fixture
def settings(folder: Path, tmp_path: Path) -> Settings:
    return Settings(
        data=folder,
        store=f"sqlite:///{tmp_path / 's.db'}",
        cache_dir=tmp_path / "cache",
        api_keys={k: ApiKey(name=k[:7], scopes=s) for k, s in KEYS.items()},
    )


@pytest.fixture
def linked(settings: Settings) -> Iterator[TestClient]:
    """The gateway, once a steward linked Gus's contact to Erin's by mistake."""
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        link = """mutation { linkRecords(a: {source: CRM, key: "C-100"},
          b: {source: CRM, key: "C-102"}, reason: "same caller") { id } }"""
        assert "errors" not in _as(client, STEWARD, link)
        yield client


def _as(client: TestClient, key: str, query: str, **variables: object) -> dict[str, object]:
    answer = client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"x-api-key": key}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _member(client: TestClient) -> str:
    found = _as(client, DPO, FIND)["data"]
    return str(found["erin"]["id"])  # type: ignore[index]


def _requests(client: TestClient) -> list[object]:
    said = _as(client, DPO, "{ privacyRequests { id } }")["data"]
    return said["privacyRequests"]  # type: ignore[index,no-any-return]


def test_a_dry_run_says_what_would_go_and_whom_and_changes_nothing(linked: TestClient) -> None:
    member = _member(linked)
    # When the officer asks for a dry run of the whole member
    answer = _as(linked, DPO, PREVIEW, id=member)
    assert "errors" not in answer, answer
    dry = answer["data"]["eraseMember"]  # type: ignore[index]
    # Then it says two people's contacts are in it, and the steward's link
    assert dry["state"] == "DRY_RUN" and dry["id"] == "dry-run"
    preview = dry["preview"]
    assert preview["spansPeople"] is True and preview["people"] == 2
    assert [(c["crmId"], c["person"]) for c in preview["contacts"]] == [("C-100", 0), ("C-102", 1)]
    assert preview["contacts"][1]["firstName"] == "Gus"
    assert preview["stewardLinks"] == [
        {"a": {"source": "CRM", "key": "C-100"}, "b": {"source": "CRM", "key": "C-102"}}
    ]
    records = {r["source"]: r["count"] for r in preview["records"]}
    assert records["CRM"] == 2 and sum(records.values()) >= 6
    assert {s["kind"] for s in preview["suppressed"]} >= {"EMAIL", "PHONE", "CRM_ID"}
    assert {line["source"] for line in preview["lines"]} >= {"CRM", "TRANSACTIONS"}
    # And nothing was done or recorded
    assert _requests(linked) == []
    found = _as(linked, DPO, FIND)["data"]
    assert found["gus"]["id"] == member and found["erinsCard"]["id"] == member  # type: ignore[index]
    # And a caller without pii:read sees the contacts' names masked, their CRM ids as they are
    masked = _as(linked, DPO_MASKED, PREVIEW, id=member)["data"]["eraseMember"]["preview"]  # type: ignore[index]
    assert [c["crmId"] for c in masked["contacts"]] == ["C-100", "C-102"]
    assert {c["firstName"] for c in masked["contacts"]} == {"***"}
    assert {c["birthDate"] for c in masked["contacts"]} <= {"***", None}
    # And narrowed to her contact, the dry run leaves Gus's records out
    narrowed = _as(linked, DPO, PREVIEW, id=member, records=[HERS])["data"]["eraseMember"]  # type: ignore[index]
    assert narrowed["kind"] == "erase_records"
    assert {r["source"]: r["count"] for r in narrowed["preview"]["records"]}["CRM"] == 1
    # And named every record of the member, the dry run says the erasure it would make:
    # the whole member's (the last read: it said erase_records)
    held = _as(linked, DPO, f'{{ member(id: "{member}") {{ records {{ source key }} }} }}')
    every = held["data"]["member"]["records"]  # type: ignore[index]
    assert _as(linked, DPO, PREVIEW, id=member, records=every)["data"]["eraseMember"]["kind"] == (  # type: ignore[index]
        "erase"
    )
    # And a dry run with no reason is refused as the erasure would be (the last read)
    blank = _as(linked, DPO, PREVIEW.replace('"ticket DPO-1"', '"  "'), id=member)
    [error] = blank["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "say why" in error["message"]


def test_erasing_a_member_of_two_people_is_refused_naming_their_contacts(
    linked: TestClient,
) -> None:
    member = _member(linked)
    # Given her access export first: it warns
    export = _as(linked, DPO, "query($id: ID!) { exportMember(id: $id) }", id=member)
    warnings = export["data"]["exportMember"]["warnings"]  # type: ignore[index]
    assert [w["code"] for w in warnings] == ["ERASURE_SPANS_PEOPLE"]
    assert warnings[0]["contacts"] == ["C-100", "C-102"]
    # When the member is erased as before
    answer = _as(linked, DPO, ERASE, id=member)
    # Then it is refused, naming the contacts and the ways on
    [error] = answer["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "ERASURE_SPANS_PEOPLE"
    assert error["extensions"]["contacts"] == ["C-100", "C-102"]
    for said in ("C-100", "C-102", "records", "splitMember", "wholeMember", "dryRun"):
        assert said in error["message"]
    # And nothing was erased
    assert _requests(linked) == []
    found = _as(linked, DPO, FIND)["data"]
    assert found["erin"]["id"] == member and found["gusCard"]["id"] == member  # type: ignore[index]


def test_an_erasure_narrowed_to_her_records_leaves_him_whole(
    linked: TestClient, folder: Path
) -> None:
    member = _member(linked)
    # When the officer names her contact as hers
    erased = _as(linked, DPO, ERASE, id=member, records=[HERS])["data"]["eraseMember"]  # type: ignore[index]
    assert erased["kind"] == "erase_records" and erased["state"] == "DONE", erased
    # Then she is gone: her contact, her card
    found = _as(linked, DPO, FIND)["data"]
    assert found["erin"] is None and found["erinsCard"] is None  # type: ignore[index]
    # And Gus is whole: his contact, card, e-mail, his lines in the folder
    gus = found["gus"]  # type: ignore[index]
    assert gus is not None and found["gusCard"]["id"] == found["gusEmail"]["id"] == gus["id"]  # type: ignore[index]
    assert {"C-102", "loyalty:LD88880003"} <= {r["key"] for r in gus["records"]}
    assert b"C-100" not in (folder / "crm.jsonl").read_bytes()
    assert b"C-102" in (folder / "crm.jsonl").read_bytes()
    assert b"LD88880003" in (folder / "transactions.jsonl").read_bytes()
    # And none of his values was suppressed: his next version of his contact is taken
    sent = linked.post(
        "/ingest/crm",
        json=[{**GUS, "updated_at": "2026-11-20T10:00:00Z"}],
        headers={"x-api-key": INGEST},
    )
    assert sent.json()["lines"][0]["status"] == "updated", sent.text


def test_an_erasure_confirmed_whole_takes_the_member(linked: TestClient) -> None:
    member = _member(linked)
    erased = _as(linked, DPO, ERASE, id=member, whole=True)["data"]["eraseMember"]  # type: ignore[index]
    assert erased["kind"] == "erase" and erased["state"] == "DONE", erased
    found = _as(linked, DPO, FIND)["data"]
    assert found["erin"] is None and found["gus"] is None  # type: ignore[index]


def test_the_command_line_refuses_the_same_and_narrows_the_same(
    linked: TestClient, settings: Settings
) -> None:
    member = _member(linked)
    runner = CliRunner()
    where = ["--store", settings.store]
    # A dry run prints what would go
    dry = runner.invoke(app, ["privacy", "erase", member, "--reason", "t", "--dry-run", *where])
    assert dry.exit_code == 0, dry.output
    said = orjson.loads(dry.stdout)
    assert said["dry_run"] is True and said["spans"]["people"] == 2
    # A plain erasure is refused, naming the contacts and the options
    refused = runner.invoke(app, ["privacy", "erase", member, "--reason", "t", *where])
    assert refused.exit_code == 1
    for word in ("C-100", "C-102", "--record", "--whole-member", "--dry-run"):
        assert word in refused.stderr
    # Narrowed to her contact, it erases her only
    narrowed = runner.invoke(
        app, ["privacy", "erase", member, "--reason", "t", "--record", "crm:C-100", *where]
    )
    assert narrowed.exit_code == 0, narrowed.output
    found = _as(linked, DPO, FIND)["data"]
    assert found["erin"] is None and found["gus"] is not None  # type: ignore[index]


CHANGES = """query($after: String) { changes(after: $after, first: 1000) {
  edges { node { kind memberIds reason } } pageInfo { endCursor } } }"""


def test_the_feed_tells_a_member_it_changed_not_whom_it_stood_beside(linked: TestClient) -> None:
    member = _member(linked)
    before = _as(linked, DPO, CHANGES)["data"]["changes"]["pageInfo"]["endCursor"]  # type: ignore[index]
    # When her records leave the member Gus keeps
    erased = _as(linked, DPO, ERASE, id=member, records=[HERS])["data"]["eraseMember"]  # type: ignore[index]
    assert erased["state"] == "DONE", erased
    # Then every entry the erasure wrote about a member that stays names that member alone,
    # and no request: nothing in it says it stood beside the person erased
    entries = [
        e["node"]
        for e in _as(linked, DPO, CHANGES, after=before)["data"]["changes"]["edges"]  # type: ignore[index]
    ]
    kept = [e for e in entries if e["kind"] in ("LINKED", "SUPPRESSED")]
    assert kept, entries
    assert all(len(e["memberIds"]) == 1 and e["reason"] is None for e in kept), kept
    assert not any(e["kind"] == "ERASED" and member in e["memberIds"] for e in entries)


@pytest.mark.mongodb
def test_refused_then_narrowed_on_mongodb(tmp_path: Path) -> None:
    # Given the household in MongoDB (emulated), Gus linked to Erin by a steward
    url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
    asyncio.run(load(write_household(tmp_path / "data"), url, client))
    keys = {k: ApiKey(name=k[:7], scopes=s) for k, s in KEYS.items()}
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "cache", api_keys=keys)
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        link = """mutation { linkRecords(a: {source: CRM, key: "C-100"},
          b: {source: CRM, key: "C-102"}, reason: "same caller") { id } }"""
        assert "errors" not in _as(http, STEWARD, link)
        member = _member(http)
        # The whole member is refused, naming the contacts
        [error] = _as(http, DPO, ERASE, id=member)["errors"]  # type: ignore[misc]
        assert error["extensions"]["contacts"] == ["C-100", "C-102"]
        # Narrowed to her contact, she goes and Gus stays whole
        erased = _as(http, DPO, ERASE, id=member, records=[HERS])["data"]["eraseMember"]  # type: ignore[index]
        assert erased["state"] == "DONE", erased
        found = _as(http, DPO, FIND)["data"]
        assert found["erin"] is None and found["erinsCard"] is None  # type: ignore[index]
        assert found["gusCard"]["id"] == found["gus"]["id"] == found["gusEmail"]["id"]  # type: ignore[index]
