"""An erasure racing a push of the person's lines through another gateway over the same store
(SQLite, and MongoDB emulated), each interleaving held in place: the push is stopped at a
step (screened; written; checked against the suppressions) while the erasure runs, then let
go. Whatever the interleaving, her line is refused (``suppressed``) or erased, and nothing of
hers is left in the sources, the identity store, the feed or the audit."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from membergraph.connectors.models import SourceName
from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind
from membergraph.ingest import IngestService
from membergraph.privacy import privacy_of
from membergraph.privacy.erasure import ErasureService, erasure_of
from membergraph.privacy.lease import LEASE
from tests.support.gateways import two_gateways

EMAIL = "rosalind.racewell@racemail.org"
CONTACT = {
    "contact_id": "C-RACE-1",
    "first_name": "Rosalind",
    "last_name": "Racewell",
    "emails": [EMAIL],
    "updated_at": "2026-11-01T00:00:00Z",
}
TRACES = ("rosalind", "Rosalind", "Racewell", "C-RACE-1", "T-RACE-")
BOUND = 60.0  # seconds: a push or an erasure that waits longer is a failure, not a slow run


def _purchase(line_id: str) -> dict[str, object]:
    return {
        "transaction_id": line_id,
        "email": EMAIL,
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 700,
    }


class Hold:
    """A push's ``steps`` hook that stops it at one step until let go."""

    def __init__(self, at: str) -> None:
        self.at = at
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, step: str) -> None:
        if step == self.at:
            self.reached.set()
            await self.go.wait()


async def _stored_text(backend: str, gateway: Gateway, tmp_path: Path) -> list[str]:
    """Every row (SQLite: of every table) or document (MongoDB: of every collection), as text."""
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "one.db") as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return [repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"')]
    db = gateway.identity.store.db  # type: ignore[attr-defined]
    return [
        repr(doc) for name in await db.list_collection_names() async for doc in db[name].find({})
    ]


async def _revenue(backend: str, gateway: Gateway, tmp_path: Path) -> tuple[int, int]:
    """The purchases' amounts and lines as stored, the books' copies included."""
    if backend == "sqlite":
        with sqlite3.connect(tmp_path / "one.db") as db:
            sql = "SELECT body FROM source_lines WHERE source = 'transactions'"
            amounts = [orjson.loads(row[0])["amount_cents"] for row in db.execute(sql)]
    else:
        docs = gateway.sources[SourceName.TRANSACTIONS].collection.find({})  # type: ignore[attr-defined]
        amounts = [doc["amount_cents"] for doc in await docs.to_list()]
    return sum(amounts), len(amounts)


INTERLEAVINGS = [
    pytest.param("screened", None, id="checked-before-erasure-written-after"),
    pytest.param("written", None, id="written-before-erasure-checked-during"),
    pytest.param("checked", None, id="checked-before-erasure-applied-after"),
    pytest.param("screened", "completed", id="sent-again-checked-before-written-after"),
    pytest.param("checked", "completed", id="sent-again-applied-during-erasure"),
    pytest.param("written", "pending", id="newer-version-written-before-erasure"),
    pytest.param("screened", "pending", id="newer-version-checked-before-written-after"),
]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
@pytest.mark.parametrize(("step", "held"), INTERLEAVINGS)
async def test_a_push_held_at_any_step_of_an_erasure_leaves_nothing_of_her(
    backend: str, step: str, held: str | None, tmp_path: Path
) -> None:
    async with two_gateways(backend, tmp_path) as (one, other):
        # Given her contact, taken through one gateway, and maybe a version of her purchase
        # (the same one, or an older one: the push then sends it again, or its newer version)
        pushed = await IngestService(one).push(SourceName.CRM, [CONTACT])
        assert [line["status"] for line in pushed.lines] == ["created"]
        if held is not None:
            first = {**_purchase("T-RACE-1"), "updated_at": "2026-11-20T10:00:00Z"}
            if held == "pending":
                first["updated_at"] = "2026-11-19T10:00:00Z"  # the push brings a newer one
            await IngestService(one).push(SourceName.TRANSACTIONS, [first])
        [member] = pushed.members_changed
        revenue = await _revenue(backend, one, tmp_path)
        # When the other gateway takes her purchase and is held at `step`
        hold = Hold(step)
        sent = {**_purchase("T-RACE-1"), "updated_at": "2026-11-20T10:00:00Z"}
        push = asyncio.create_task(
            IngestService(other, steps=hold).push(SourceName.TRANSACTIONS, [sent])
        )
        await asyncio.wait_for(hold.reached.wait(), BOUND)
        # ... while the first erases her
        erasure = asyncio.create_task(
            (await erasure_of(one)).erase(member, "ticket DPO-RACE", "dpo")
        )
        if step == "screened":
            # (the push has written nothing yet: the erasure does not wait for it)
            request = await asyncio.wait_for(erasure, BOUND)
            hold.go.set()
        else:
            # (her line is written: the erasure waits for the push to be done with it)
            await asyncio.sleep(0.3)
            assert not erasure.done(), "the erasure did not wait for the push in flight"
            # (listed meanwhile, by the other gateway, as pending)
            [listed] = await (await privacy_of(other)).store.requests(10)
            assert (listed.member_id, listed.state) == (member, "pending")
            hold.go.set()
            request = await asyncio.wait_for(erasure, BOUND)
        answer = await asyncio.wait_for(push, BOUND)
        # Then the erasure is done, her line was refused or erased, and nothing of hers stays
        assert request.state == "done", request.steps
        [status] = [line["status"] for line in answer.lines]
        assert status in ("suppressed", "created", "updated", "unchanged"), answer.lines
        if step == "screened":
            assert status == "suppressed"
        # (a purchase she made before the erasure stays for the books, unnamed)
        (total, lines), (total_before, lines_before) = (
            await _revenue(backend, one, tmp_path),
            revenue,
        )
        added = (total - total_before, lines - lines_before)
        assert added in ([(0, 0), (700, 1)] if held is None else [(0, 0)]), added
        stored = await _stored_text(backend, one, tmp_path)
        assert [(t, s) for s in stored for t in TRACES if t in s] == []
        for gateway in (one, other):
            assert await gateway.identity.store.resolve_member_id(member) is None
        # And her line sent again later is refused
        later = await IngestService(other).push(SourceName.TRANSACTIONS, [_purchase("T-RACE-2")])
        assert [line["status"] for line in later.lines] == ["suppressed"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def test_a_push_stopped_after_writing_her_line_leaves_the_erasure_partial_until_healed(
    backend: str, tmp_path: Path
) -> None:
    async with two_gateways(backend, tmp_path) as (one, other):
        # Given her contact, and a push of her purchase stopped after its write (as a
        # process killed there: her line stored and marked, its identity not applied)
        pushed = await IngestService(one).push(SourceName.CRM, [CONTACT])
        [member] = pushed.members_changed

        async def killed(step: str) -> None:
            if step == "checked":
                raise RuntimeError("killed")

        with pytest.raises(RuntimeError, match="killed"):
            await IngestService(other, steps=killed).push(
                SourceName.TRANSACTIONS, [_purchase("T-RACE-1")]
            )
        # When she is erased, the erasure waits for that line, then stops short of the sources
        privacy = await privacy_of(one)
        service = ErasureService(one, privacy, one.folder, push_wait=0.3)
        request = await asyncio.wait_for(service.erase(member, "ticket DPO-9", "dpo"), BOUND)
        assert request.state == "partial"
        assert request.steps["suppress"] == "done"
        assert "not finished yet" in request.steps["sources"]
        [listed] = await privacy.store.requests(10)
        assert (listed.id, listed.state) == (request.id, "partial")
        # Then, once the stopped push is finished (a start does it), the other gateway's retry
        # completes the request: not while a process holds its lease, once it lets go
        assert await IngestService(other).heal() == 1
        retrying = await erasure_of(other)
        now = datetime.now(UTC)
        assert await privacy.store.lease(f"erase:{member}", "alive", now + LEASE, now)
        assert await retrying.retry_unfinished() == []
        await privacy.store.release(f"erase:{member}", "alive")
        [again] = await asyncio.wait_for(retrying.retry_unfinished(), BOUND)
        assert (again.id, again.state) == (request.id, "done")
        stored = await _stored_text(backend, one, tmp_path)
        assert [(t, s) for s in stored for t in TRACES if t in s] == []


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def test_two_gateways_asked_to_erase_her_at_once_answer_one_request(
    backend: str, tmp_path: Path
) -> None:
    async with two_gateways(backend, tmp_path) as (one, other):
        # Given her contact and purchase
        pushed = await IngestService(one).push(SourceName.CRM, [CONTACT])
        await IngestService(one).push(SourceName.TRANSACTIONS, [_purchase("T-RACE-1")])
        [member] = pushed.members_changed
        # When both gateways are asked to erase her at the same moment
        services = [await erasure_of(one), await erasure_of(other)]
        answers = await asyncio.wait_for(
            asyncio.gather(*(s.erase(member, "ticket DPO-2X", "dpo") for s in services)), BOUND
        )
        # Then they answer one request, done once: one ERASED entry, counts kept
        assert answers[0].id == answers[1].id
        assert {a.state for a in answers} == {"done"}
        listed = await (await privacy_of(one)).store.requests(10)
        assert [(r.id, r.state) for r in listed] == [(answers[0].id, "done")]
        assert listed[0].counts["records"] >= 2
        feed = await one.identity.store.feed_after(0, 10_000)
        erased = [e for e in feed if e.kind is ChangeKind.ERASED]
        assert len(erased) == 1


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def test_a_contact_push_that_read_her_version_before_the_erasure_keeps_nothing_of_her(
    backend: str, tmp_path: Path
) -> None:
    async with two_gateways(backend, tmp_path) as (one, other):
        # Given her contact with her consents, taken through one gateway
        chose = {**CONTACT, "consents": {"email": True, "sms": False}}
        pushed = await IngestService(one).push(SourceName.CRM, [chose])
        [member] = pushed.members_changed
        # When the other gateway takes her newer version, held once it read the version it
        # replaces (whose consent facts it keeps), while the first erases her
        hold = Hold("held")
        newer = {**chose, "updated_at": "2026-11-15T00:00:00Z"}
        push = asyncio.create_task(IngestService(other, steps=hold).push(SourceName.CRM, [newer]))
        await asyncio.wait_for(hold.reached.wait(), BOUND)
        request = await asyncio.wait_for(
            (await erasure_of(one)).erase(member, "ticket DPO-RACE", "dpo"), BOUND
        )
        hold.go.set()
        answer = await asyncio.wait_for(push, BOUND)
        # Then her line is refused, and no consent fact (nor anything else) of hers stays
        assert request.state == "done", request.steps
        assert [line["status"] for line in answer.lines] == ["suppressed"]
        stored = await _stored_text(backend, one, tmp_path)
        assert [(t, s) for s in stored for t in TRACES if t in s] == []
