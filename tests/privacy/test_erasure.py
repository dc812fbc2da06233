"""The proof issue 20 asks for: a person with CRM, card, online account, web visits and
calls, merged; exported (everything is there); erased; then nothing anywhere finds her, a
restart and a re-load do not bring her back, her lines are refused, the books still add up."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import CONTACT, LINES, add_to_folder, traces_in

FIND = """query($kind: IdentifierKind!, $value: String!) {
  memberByIdentifier(kind: $kind, value: $value) { id records { source key } } }"""
LOOKUPS = [
    ("EMAIL", "zephyrine.quill@quillmail.org"),
    ("PHONE", "(415) 555-0177"),
    ("LOYALTY_ID", "LD-7777-1234"),
    ("CRM_ID", "C-ZQ-77"),
    ("ANONYMOUS_ID", "anon-zq-5150"),
]
ID_OF = ("contact_id", "transaction_id", "event_id", "interaction_id")
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-20") {
  id state memberId steps { name outcome } counts } }"""


@pytest.fixture
def her_settings(data_dir: Path, tmp_path: Path) -> Settings:
    add_to_folder(data_dir)
    return Settings(
        data=data_dir, store=f"sqlite:///{tmp_path / 'store.db'}", cache_dir=tmp_path / "cache"
    )


def _find(client: TestClient) -> list[object]:
    return [gql(client, FIND, kind=k, value=v)["data"]["memberByIdentifier"] for k, v in LOOKUPS]  # type: ignore[index]


def _revenue(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT body FROM source_lines WHERE source = 'transactions'"
        ).fetchall()
    return sum(orjson.loads(r[0])["amount_cents"] for r in rows), len(rows)


def _in_segment(client: TestClient, segment: str) -> set[str]:
    """Every member an analyst lists in a segment (all pages)."""
    query = """query($s: Segment!, $after: String) { members(filter: {segment: $s}, first: 100,
      after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"""
    found: set[str] = set()
    after = None
    while True:
        page = gql(client, query, s=segment, after=after)["data"]["members"]  # type: ignore[index]
        found |= {e["node"]["id"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _members(client: TestClient) -> int:
    return int(gql(client, "{ members(first: 1) { totalCount } }")["data"]["members"]["totalCount"])  # type: ignore[index]


def _files(settings: Settings) -> list[Path]:
    store = Path(settings.store.removeprefix("sqlite:///"))
    assert settings.data is not None
    return [store, Path(f"{store}-wal"), Path(f"{store}-journal"), *settings.data.iterdir()]


def test_export_then_erase_leaves_nothing_that_finds_her(her_settings: Settings) -> None:
    db = Path(her_settings.store.removeprefix("sqlite:///"))
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        # Given one member holding her CRM contact, card, online account, visitor and call.
        found = _find(client)
        member = found[0]["id"]  # type: ignore[index]
        assert {f["id"] for f in found} == {member}  # type: ignore[index]
        assert {r["source"].lower() for r in found[0]["records"]} == set(LINES)  # type: ignore[index]
        revenue, purchases = _revenue(db)
        ready = client.get("/readyz").json()
        hers = gql(client, "query($id: ID!) { member(id: $id) { segments } }", id=member)
        segments = hers["data"]["member"]["segments"]  # type: ignore[index]
        assert segments and all(member in _in_segment(client, s) for s in segments)
        listed = _members(client)

        # Export: everything is there, as a download.
        download = client.get(f"/privacy/members/{member}/export")
        assert download.status_code == 200
        assert "attachment" in download.headers["content-disposition"]
        export = download.json()
        assert export["source_lines"]["crm"][0]["contact_id"] == "C-ZQ-77"
        assert {t["transaction_id"] for t in export["source_lines"]["transactions"]} == {
            "T-ZQ-STORE",
            "T-ZQ-ONLINE",
        }
        assert len(export["source_lines"]["web_analytics"]) == 3
        assert export["source_lines"]["call_center"][0]["notes"].startswith("Zephyrine")
        email = next(c for c in export["consents"] if c["channel"] == "EMAIL")
        assert email["granted"] is False and len(email["history"]) == 2
        assert export["identity_history"], "how she was merged, with evidence"
        # her scores, segments, the links that merged her, and who read her data
        assert export["rfm"]["spend_12m_cents"] == 4200 + 1300  # her two purchases
        assert export["segments"] == segments
        assert export["links"] and all(link["evidence"] for link in export["links"])
        assert isinstance(export["pii_access_log"], list) and export["cut"] == {}
        assert export["lines_outside_records"] == {
            "records_elsewhere": {},
            "shared_devices": {},
            "kept_for_no_one": {},
            "failing_validation": [],
        }
        assert (
            gql(client, "query($id: ID!) { exportMember(id: $id) }", id=member)["data"][
                "exportMember"
            ]["member_id"]
            == member
        )  # type: ignore[index]

        audit = gql(client, "query($id: ID!) { piiAccessLog(memberId: $id) { fields } }", id=member)
        assert {"fields": ["export"]} in audit["data"]["piiAccessLog"]  # type: ignore[index]
        again = client.get(f"/privacy/members/{member}/export").json()
        assert {"export"} <= {e for entry in again["pii_access_log"] for e in entry["fields"]}
        before = traces_in(_files(her_settings))
        assert len(before) >= 5, before
        assert "Zephyrine" in before.get(str(db), []) + before.get(f"{db}-wal", [])

        # Erase.
        request = gql(client, ERASE, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert request["state"] == "DONE", request
        assert request["memberId"] == member
        assert request["counts"]["kept_for_books"] == 2
        again = gql(client, ERASE, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert again["id"] == request["id"], "idempotent: the same request"

        # Then no lookup, query, export or count finds her.
        assert _find(client) == [None] * len(LOOKUPS)
        gone = gql(
            client, "query($id: ID!) { member(id: $id) { id } exportMember(id: $id) }", id=member
        )
        assert gone["data"] == {"member": None, "exportMember": None}
        assert client.get(f"/privacy/members/{member}/export").status_code == 404
        after = client.get("/readyz").json()
        assert all(member not in _in_segment(client, s) for s in segments)
        assert _members(client) == listed - 1
        assert after["store"]["members"] == ready["store"]["members"] - 1
        # her contact, card, online account, call, and her laptop: its events as her login
        # and before she logged in
        assert after["store"]["records"] == ready["store"]["records"] - 6
        lines = {s: after["sources"][s]["lines"] - ready["sources"][s]["lines"] for s in LINES}
        assert lines == {"crm": -1, "transactions": 0, "web_analytics": -3, "call_center": -1}
        listed = gql(client, "{ privacyRequests { id state } }")["data"]["privacyRequests"]  # type: ignore[index]
        assert listed == [{"id": request["id"], "state": "DONE"}]
        # The books: every purchase still counted, none of them hers any more.
        assert _revenue(db) == (revenue, purchases)
        assert traces_in(_files(her_settings)) == {}

        # Her old lines come back from a till or an import: refused.
        for source, sent in LINES.items():
            answer = client.post(f"/ingest/{source}", json=sent).json()
            assert {line["status"] for line in answer["lines"]} == {"suppressed"}, answer
        assert _find(client) == [None] * len(LOOKUPS)

    # A restart over a folder holding her lines again (an old export re-imported): not loaded.
    assert her_settings.data is not None
    add_to_folder(her_settings.data)
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        assert _find(client) == [None] * len(LOOKUPS)
        assert (
            gql(client, "{ members(first: 1) { totalCount } }")["data"]["members"][  # type: ignore[index]
                "totalCount"
            ]
            == after["store"]["members"]
        )
    assert _revenue(db) == (revenue, purchases)
    assert traces_in([db, Path(f"{db}-wal")]) == {}


def test_erasing_an_unknown_member_is_not_found(client: TestClient) -> None:
    answer = gql(client, ERASE, id="m_nobody")
    assert answer["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # type: ignore[index]


def test_contact_still_in_the_crm_export_after_erasure_is_not_loaded(
    her_settings: Settings,
) -> None:
    # The data folder is compacted; a CRM that sends her again is refused at ingest.
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        member = _find(client)[0]["id"]  # type: ignore[index]
        gql(client, ERASE, id=member)
        answer = client.post(
            "/ingest/crm", json=[{**CONTACT, "updated_at": "2026-12-01T00:00:00Z"}]
        )
        # (refused as asked, not the sender's error: 200, counted apart from rejected lines)
        assert answer.status_code == 200
        said = answer.json()
        assert (said["accepted"], said["rejected"], said["suppressed"]) == (0, 0, 1)
        assert said["lines"][0]["status"] == "suppressed"


def test_resolving_an_old_folder_after_erasure_leaves_her_lines_out(
    her_settings: Settings, tmp_path: Path
) -> None:
    # Given an erased person, and a copy of the folder taken before her erasure,
    assert her_settings.data is not None
    old = tmp_path / "old"
    shutil.copytree(her_settings.data, old)
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        member = _find(client)[0]["id"]  # type: ignore[index]
        assert gql(client, ERASE, id=member)["data"]["eraseMember"]["state"] == "DONE"  # type: ignore[index]
    # when `membergraph resolve` runs over the old folder into the same store,
    out = tmp_path / "members.jsonl"
    args = ["resolve", "--data", str(old), "--out", str(out), "--store", her_settings.store]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    # then each of her lines is answered suppressed and resolved into no member,
    answers = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    hers = {
        line[id_field]
        for lines in LINES.values()
        for line in lines
        for id_field in ID_OF
        if id_field in line
    }
    suppressed = [a for a in answers if a.get("suppressed")]
    assert {a["id"] for a in suppressed} == hers
    assert all(a["member_id"] is None for a in suppressed)
    assert f"{len(hers)} line(s) carry a suppressed identifier" in " ".join(result.output.split())
    assert all(
        a["member_id"]
        for a in answers
        if a["id"] not in hers and "error" not in a and "unattributed" not in a
    )
    # and the gateway, started again over the store, finds nothing of hers.
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        assert _find(client) == [None] * len(LOOKUPS)


def test_a_demo_folders_answer_key_forgets_her_erased_lines(her_settings: Settings) -> None:
    # Adversarial pass (adv6, fixed in adv7): truth.jsonl, the demo generator's answer key
    # ({"source", "id", "person"} per line), kept an erased person's line ids, each tied to
    # one person number, after her lines had left every source file.
    # Given a demo folder whose answer key names her lines too
    assert her_settings.data is not None
    truth = her_settings.data / "truth.jsonl"
    hers = [
        (source, str(line[next(f for f in ID_OF if f in line)]))
        for source, lines in LINES.items()
        for line in lines
    ]
    with truth.open("ab") as handle:
        for source, line_id in hers:
            handle.write(orjson.dumps({"source": source, "id": line_id, "person": 9999}) + b"\n")
    before = truth.read_bytes().splitlines()
    # When she is erased
    with TestClient(create_app(her_settings), base_url="http://127.0.0.1") as client:
        member = _find(client)[0]["id"]  # type: ignore[index]
        assert gql(client, ERASE, id=member)["data"]["eraseMember"]["state"] == "DONE"  # type: ignore[index]
    # Then the key names none of her lines, and every other line's entry stays
    after = [orjson.loads(raw) for raw in truth.read_bytes().splitlines()]
    assert not [e for e in after if (e["source"], e["id"]) in set(hers)]
    assert len(after) == len(before) - len(hers)
