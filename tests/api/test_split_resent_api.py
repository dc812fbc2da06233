"""`splitMember` sent twice over GraphQL (a client retrying after a timeout, a console
resent after a crash): the contact that keeps the member's ID keeps her card, and the
resend writes nothing. Embedded store and emulated MongoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_repeats import _data
from tests.support.gateways import app_client

SAM = {"contact_id": "C-SAM", "first_name": "Sam", "last_name": "Okafor",
       "emails": ["sam.okafor@mailbox.org"], "loyalty_id": "LD0000055"}  # fmt: skip
ADA = {"contact_id": "C-ADA", "first_name": "Ada", "last_name": "Lund",
       "emails": ["ada.lund@mailbox.org"]}  # fmt: skip
PURCHASE = {"transaction_id": "T-1", "loyalty_id": "LD0000055", "store_id": "S1",
            "channel": "store", "occurred_at": "2026-12-01T10:00:00Z", "amount_cents": 20200,
            "currency": "USD", "points_earned": 202, "points_redeemed": 0,
            "status": "completed", "items": []}  # fmt: skip
LINK = """mutation { linkRecords(a: {source: CRM, key: "C-SAM"}, b: {source: CRM, key: "C-ADA"},
  reason: "same person") { id } }"""
SPLIT = """mutation ($m: ID!, $dry: Boolean! = false) { splitMember(memberId: $m,
  records: [{source: CRM, key: "C-SAM"}], reason: "two people", dryRun: $dry) {
  id records { key } loyalty { pointsBalance }
  change { membersNow recordsJoining { key } recordsLeaving { key } pointsNow pointsAfter } } }"""
MEMBER = """query ($m: ID!) { member(id: $m) { records { key } loyalty { pointsBalance }
  identityHistory { id kind rule } } }"""
FEED = """{ changes(first: 1000) { edges { cursor } } }"""


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def started(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (SAM, ADA)))
    (data / "transactions.jsonl").write_bytes(orjson.dumps(PURCHASE) + b"\n")
    with app_client(request.param, data, tmp_path) as client:
        yield client


def _seen(client: TestClient, member: str) -> tuple[Any, Any]:
    return _data(client, MEMBER, m=member)["member"], _data(client, FEED)["changes"]


def test_the_same_split_sent_again_changes_nothing(started: TestClient) -> None:
    # Given Sam (with his card, 202 points) and Ada linked, and Sam split off: he keeps the ID
    [merged] = _data(started, LINK)["linkRecords"]
    first = _data(started, SPLIT, m=merged["id"])["splitMember"]
    sams = next(m for m in first if {"key": "C-SAM"} in m["records"])
    assert sams["id"] == merged["id"]
    assert sorted(r["key"] for r in sams["records"]) == ["C-SAM", "loyalty:LD0000055"]
    assert sams["loyalty"] == {"pointsBalance": 202}
    seen = _seen(started, sams["id"])
    # When the same split is sent again: its dry run, then the split itself
    dry = _data(started, SPLIT, m=merged["id"], dry=True)["splitMember"]
    again = _data(started, SPLIT, m=merged["id"])["splitMember"]
    # Then both answer the two members as the first split left them, nothing moving
    for answer in (dry, again):
        assert [(m["id"], m["records"], m["loyalty"]) for m in answer] == [
            (m["id"], m["records"], m["loyalty"]) for m in first
        ]
        for member in answer:
            change = member["change"]
            assert change["membersNow"] == [member["id"]]
            assert change["recordsJoining"] == change["recordsLeaving"] == []
            assert change["pointsNow"] == change["pointsAfter"]
    # and nothing was written: the same history, no entry on the change feed
    assert _seen(started, sams["id"]) == seen
