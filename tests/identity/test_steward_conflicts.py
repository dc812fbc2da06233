"""A steward's decision on an identity conflict, on every store adapter: a link gives the
call to the member the agent typed (undone, the conflict is back), a dismissal closes the
conflict and survives reopening the store, and decided conflicts are refused a second time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from membergraph.identity.scope_change import Adjustments, closed_by
from membergraph.identity.service import IdentityService
from membergraph.identity.steward_conflicts import Decision, resolve_conflict
from membergraph.identity.steward_link import link_records
from membergraph.identity.steward_request import Preview, StewardError
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.conflict_state import resolved
from membergraph.identity.store.metrics_port import ConflictQuery
from membergraph.identity.store.port import IdentityEvent
from membergraph.identity.undo import undo_event
from tests.identity.builders import call, crm, purchase
from tests.support.stores import ADAPTERS, open_store, two_processes

CY, DI, CALL = ("crm", "C-CY"), ("crm", "C-DI"), ("call_center", "I-1")


@pytest.fixture(params=ADAPTERS)
async def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _crossed(service: IdentityService) -> IdentityEvent:
    """Cy and Di, and a call from Cy's phone on which the agent typed Di's account."""
    await service.ingest(
        [
            crm("C-CY", first="Cy", last="Young", phones=["+14155550333"], birth="1970-01-01"),
            crm("C-DI", first="Di", last="Ross", phones=["+14155550444"], birth="1980-02-02"),
            call("I-1", phone="+14155550333", ref=("crm_id", "C-DI")),
        ]
    )
    [conflict] = await _open(service)
    return conflict


async def _open(service: IdentityService, state: str = "open") -> list[IdentityEvent]:
    query = ConflictQuery(state=state)  # type: ignore[arg-type]
    return await service.store.metrics().conflicts(query, None, 10)


async def _stewards(service: IdentityService, member: str) -> list[IdentityEvent]:
    [history] = await service.store.member_events([member])
    return [e for e in history if e.actor == "steward-1"]


async def test_a_link_gives_the_call_to_the_typed_account_and_undo_reopens_it(kind: str) -> None:
    async with open_store(kind) as store:
        service = IdentityService(store)
        conflict = await _crossed(service)
        before = await store.assignments([CY, DI, CALL])
        assert before[CALL] == before[CY] != before[DI]  # the rules went with the phone
        assert conflict.id is not None

        # A dry run first: nothing moves
        preview = Preview()
        args = (service, conflict.id, Decision.LINK, "Di called from Cy's phone", "steward-1")
        await resolve_conflict(*args, preview=preview)
        assert [(ref, after) for ref, _, after in preview.moved] == [(CALL, before[DI])]
        assert await store.assignments([CY, DI, CALL]) == before

        # When the steward links it: the call joins Di, and Cy and Di stay two people
        ids = await resolve_conflict(*args)
        after = await store.assignments([CY, DI, CALL])
        assert after[CALL] == after[DI] != after[CY] and sorted(ids) == sorted(set(before.values()))
        assert await _open(service) == [] and len(await _open(service, "resolved")) == 1
        [change] = [e for e in await _stewards(service, after[DI]) if e.kind == "steward"]
        assert change.rule == "resolve_conflict"

        # When that link is undone: the call is back on Cy's member, and the rules' refusal is
        # recorded again: an open conflict over the same records
        assert change.id is not None
        await undo_event(service, change.id, "linked the wrong call", "steward-1")
        assert await store.assignments([CY, DI, CALL]) == before
        [again] = await _open(service)
        assert (again.rule, again.records) == (conflict.rule, conflict.records)


async def test_a_dismissal_closes_the_conflict_for_good_and_its_undo_reopens_it(
    kind: str, tmp_path: Path
) -> None:
    async with open_store(kind, tmp_path) as store:
        service = IdentityService(store)
        conflict = await _crossed(service)
        assert conflict.id is not None
        before = await store.assignments([CY, DI, CALL])
        await resolve_conflict(
            service, conflict.id, Decision.DISMISS, "the phone is right", "steward-1"
        )
        assert await store.assignments([CY, DI, CALL]) == before
        assert await _open(service) == []
        assert await store.metrics().count_conflicts(ConflictQuery(state="resolved")) == 1
        assert await store.metrics().count_conflicts(ConflictQuery()) == 1  # still in history
        # Refused a second time, with the decision named
        with pytest.raises(StewardError) as refused:
            await resolve_conflict(service, conflict.id, Decision.LINK, "again", "steward-1")
        assert refused.value.code == "ALREADY_RESOLVED"
        [dismissal] = await _stewards(service, before[CY])
        assert (dismissal.kind, dismissal.rule) == ("conflict_resolved", "dismiss")
        feed = await store.feed_after(0, 1000)
        assert feed[-1].kind.value == "conflict_decided" and before[CY] in feed[-1].member_ids
        if kind != "sqlite":
            await _undo_reopens(service, dismissal, conflict)
    if kind == "sqlite":  # the decision is in the file: the store opened again keeps it
        async with open_store(kind, tmp_path) as store:
            service = IdentityService(store)
            assert await _open(service) == []
            await _undo_reopens(service, dismissal, conflict)


async def _undo_reopens(
    service: IdentityService, dismissal: IdentityEvent, conflict: IdentityEvent
) -> None:
    assert dismissal.id is not None
    await undo_event(service, dismissal.id, "dismissed too soon", "steward-1")
    assert [c.id for c in await _open(service)] == [conflict.id]


async def test_unknown_and_non_conflict_events_are_refused(kind: str) -> None:
    async with open_store(kind) as store:
        service = IdentityService(store)
        conflict = await _crossed(service)
        assert conflict.id is not None
        for event_id in (conflict.id + 1000, 1):
            with pytest.raises(StewardError) as refused:
                await resolve_conflict(service, event_id, Decision.DISMISS, "x", "steward-1")
            assert refused.value.code == "NOT_FOUND"


def _both_read_before_either_writes(store: IdentityStore, barrier: asyncio.Barrier) -> None:
    """The store's first read of the conflicts' decisions waits until the other steward's
    process has read them too: both see the conflict open (two clicks at one instant)."""
    metrics, waited = store.metrics, []

    def held() -> Any:
        found = metrics()
        read = found.conflict_decisions

        async def decisions(*args: Any) -> Any:
            answer = await read(*args)
            if not waited:
                waited.append(True)
                await barrier.wait()
            return answer

        found.conflict_decisions = decisions
        return found

    store.metrics = held  # type: ignore[method-assign]


@pytest.mark.parametrize(
    "decisions", [(Decision.DISMISS, Decision.DISMISS), (Decision.LINK, Decision.DISMISS)]
)
async def test_two_stewards_deciding_one_conflict_at_once_one_is_refused(
    kind: str, tmp_path: Path, decisions: tuple[Decision, Decision]
) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        conflict = await _crossed(IdentityService(one))
        assert conflict.id is not None
        barrier = asyncio.Barrier(2)
        for store in (one, two):
            _both_read_before_either_writes(store, barrier)
        answers = await asyncio.gather(
            *(
                resolve_conflict(IdentityService(store), conflict.id, d, f"steward {n}", "s")
                for n, (store, d) in enumerate(zip((one, two), decisions, strict=True))
            ),
            return_exceptions=True,
        )

        # One decision is taken; the other steward is told the conflict was resolved
        refused = [a for a in answers if isinstance(a, BaseException)]
        assert len(refused) == 1, answers
        assert isinstance(refused[0], StewardError) and refused[0].code == "ALREADY_RESOLVED"
        decided = await one.metrics().conflict_decisions()
        assert [e.kind for e in decided if e.evidence.get("conflict_id") == conflict.id] == [
            "conflict_resolved"
        ]


async def test_the_queue_reads_oldest_first_over_every_conflict(kind: str) -> None:
    # Adversarial pass (hostile19): the console sorted "oldest first" over the newest 100 it
    # had loaded; the store now pages the queue in either order.
    async with open_store(kind) as store:
        service = IdentityService(store)
        await _crossed_calls(service, 3)  # Given three crossed calls, one after the other
        metrics, query = store.metrics(), ConflictQuery(state="open")
        newest = [e.id for e in await metrics.conflicts(query, None, 10)]
        assert len(newest) == 3 and newest == sorted(newest, key=lambda i: -(i or 0))
        # When the queue is read oldest first, two at a time
        first = await metrics.conflicts(query, None, 2, oldest_first=True)
        rest = await metrics.conflicts(query, first[-1].id, 2, oldest_first=True)
        # Then it starts at the oldest conflict of all and reads on to the newest
        assert [e.id for e in first + rest] == newest[::-1]


async def test_an_undone_move_closes_the_conflicts_it_raised_on_every_store(kind: str) -> None:
    async with open_store(kind) as store:
        # Given Ann and Bob with a card each, and Ann's card moved to Bob by a steward, which
        # raises a conflict (the card's link to Ann's contact now refused: a second CRM id)
        service = IdentityService(store)
        await service.ingest(
            [
                crm("C-ANN", first="Ann", last="Lee", card="LD11110001"),
                crm("C-BOB", first="Bob", last="Ray", birth="1970-05-05", card="LD22220002"),
                purchase(card="LD11110001"),
            ]
        )
        card = ("transactions", "loyalty:LD11110001")
        await link_records(service, ("crm", "C-BOB"), card, "his card", "steward-1", move=True)
        raised = await _open(service)
        assert [c.rule for c in raised] == ["limit"]
        [bob] = (await store.assignments([("crm", "C-BOB")])).values()
        [move] = [e for e in await _stewards(service, bob) if e.kind == "steward"]

        # When the move is undone
        assert move.id is not None
        await undo_event(service, move.id, "moved the wrong card", "steward-2")

        # Then no conflict is open, and the raised one is closed by a decision saying why
        assert await _open(service) == []
        [closed] = await _open(service, "resolved")
        assert closed.id == raised[0].id


def _decisions_read(store: IdentityStore) -> list[int]:
    """Counts the decisions each read of the store's conflict decisions returns."""
    metrics, counts = store.metrics, []

    def counted() -> Any:
        found = metrics()
        read = found.conflict_decisions

        async def decisions(*args: Any) -> Any:
            answer = await read(*args)
            counts.append(len(answer))
            return answer

        found.conflict_decisions = decisions
        return found

    store.metrics = counted  # type: ignore[method-assign]
    return counts


async def test_a_change_reads_only_the_decisions_on_its_conflicts(kind: str) -> None:
    async with open_store(kind) as store:
        # Given four crossed calls whose conflicts stewards dismissed, and Cy's, dismissed too
        service = IdentityService(store)
        await _crossed_calls(service, 4, ("Al", "Stone", "Bea", "Moss"), "X", "6")
        for other in await _open(service):
            assert other.id is not None
            await resolve_conflict(service, other.id, Decision.DISMISS, "the rules", "s")
        conflict = await _crossed(service)
        assert conflict.id is not None
        await resolve_conflict(service, conflict.id, Decision.DISMISS, "his phone", "steward-1")
        read = _decisions_read(store)

        # When Cy's contact changes and its evidence comes back
        await service.ingest([crm("C-CY", first="Cy", last="Young", phones=["+14155550333"],
                                  birth="1970-01-01", emails=["cy@x.org"])])  # fmt: skip

        # Then the change read the one decision on Cy's conflict, not the four others, and
        # opened it again as a new conflict
        assert read == [1]
        [again] = await _open(service)
        assert again.id != conflict.id and again.records == conflict.records


async def _others_dismissed(service: IdentityService, n: int) -> None:
    """``n`` crossed calls whose conflicts stewards dismissed."""
    for i in range(n):
        await service.ingest(
            [
                crm(f"C-A{i}", first="Al", last="Stone", phones=[f"+1415555060{i}"]),
                crm(f"C-B{i}", first="Bea", last="Moss", phones=[f"+1415555070{i}"]),
                call(f"I-X{i}", phone=f"+1415555060{i}", ref=("crm_id", f"C-B{i}")),
            ]
        )
    for other in await _open(service):
        assert other.id is not None
        await resolve_conflict(service, other.id, Decision.DISMISS, "the rules", "s")


async def test_a_decision_and_its_undo_read_only_that_conflicts_decisions(kind: str) -> None:
    async with open_store(kind) as store:
        # Given four conflicts stewards dismissed, and Cy's crossed call, open
        service = IdentityService(store)
        await _others_dismissed(service, 4)
        conflict = await _crossed(service)
        assert conflict.id is not None
        read = _decisions_read(store)

        # When a steward dismisses Cy's conflict, then takes the dismissal back
        await resolve_conflict(service, conflict.id, Decision.DISMISS, "his phone", "steward-1")
        [dismissal] = [e for e in await _stewards(service, conflict.member_id) if e.id]
        assert dismissal.id is not None
        await undo_event(service, dismissal.id, "dismissed too soon", "steward-1")

        # Then each read the decisions on Cy's conflict only (none yet, then the dismissal),
        # not the four others (on main: 4, then 5)
        assert read == [0, 1]
        assert [c.id for c in await _open(service)] == [conflict.id]


async def test_the_queue_filters_by_state_in_the_store(kind: str) -> None:
    async with open_store(kind) as store:
        # Given four dismissed conflicts and Cy's, open
        service = IdentityService(store)
        await _others_dismissed(service, 4)
        conflict = await _crossed(service)
        read, said = _decisions_read(store), []
        if kind == "sqlite":
            await store.run(lambda db: db.set_trace_callback(said.append))  # type: ignore[attr-defined]

        # When the queue's first open conflict and the count of resolved ones are read
        metrics = store.metrics()
        page = await metrics.conflicts(ConflictQuery(state="open"), None, 1)
        count = await metrics.count_conflicts(ConflictQuery(state="resolved"))
        if kind == "sqlite":
            await store.run(lambda db: db.set_trace_callback(None))  # type: ignore[attr-defined]

        # Then the store answered by state: no decision read into the process (on main the
        # MongoDB adapter read the 4 each time, SQLite ran a statement reading them first)
        assert [c.id for c in page] == [conflict.id] and count == 4
        assert read == []
        if kind == "sqlite":
            assert len(said) == 2, said


async def test_the_queue_by_state_is_the_newest_decision_of_each_conflict(kind: str) -> None:
    async with open_store(kind) as store:
        # Given six crossed calls: one left open, one dismissed, one dismissed and undone,
        # one dismissed, undone and dismissed again, one linked, one linked and undone
        service = IdentityService(store)
        await _crossed_calls(service, 6)
        metrics = store.metrics()
        conflicts = await metrics.conflicts(ConflictQuery(), None, 100, oldest_first=True)
        ids = [c.id for c in conflicts]
        assert len(ids) == 6 and None not in ids

        async def decide(n: int, decision: Decision = Decision.DISMISS) -> IdentityEvent:
            i = ids[n]
            assert i is not None
            await resolve_conflict(service, i, decision, "checked", "steward-1")
            return (await metrics.conflict_decisions([i]))[-1]

        async def undo(decision: IdentityEvent) -> None:
            assert decision.id is not None
            conflict = decision.evidence["conflict_id"]
            if decision.evidence.get("beside"):  # (a link: undone through its steward event)
                held = sorted(set((await store.assignments(decision.records)).values()))
                [link] = [
                    e
                    for history in await store.member_events(held)
                    for e in history
                    if e.kind == "steward" and e.evidence.get("conflict_id") == conflict
                ]
                assert link.id is not None
                await undo_event(service, link.id, "not so", "steward-1")
            else:
                await undo_event(service, decision.id, "not so", "steward-1")

        await decide(1)
        await undo(await decide(2))
        await undo(await decide(3))
        await decide(3)
        await decide(4, Decision.LINK)
        await undo(await decide(5, Decision.LINK))

        # When the queue is read by state, in pages of two, either way, and counted
        closed = set(resolved(await metrics.conflict_decisions()))
        everything = await metrics.conflicts(ConflictQuery(), None, 100)
        for state, wanted in (
            ("open", [c.id for c in everything if c.id not in closed]),
            ("resolved", [c.id for c in everything if c.id in closed]),
        ):
            query = ConflictQuery(state=state)  # type: ignore[arg-type]
            for oldest_first in (False, True):
                pages: list[int | None] = []
                before: int | None = None
                while page := await metrics.conflicts(query, before, 2, oldest_first):
                    pages += [c.id for c in page]
                    before = page[-1].id

                # Then it answers as the newest decision about each conflict says (as
                # conflict_state.resolved tells from the decisions themselves)
                assert pages == (wanted[::-1] if oldest_first else wanted), (state, oldest_first)
            assert await metrics.count_conflicts(query) == len(wanted)
        assert closed >= {ids[1], ids[3], ids[4]} and not closed & {ids[0], ids[2]}


async def _crossed_calls(
    service: IdentityService,
    count: int,
    names: tuple[str, str, str, str] = ("Cy", "Young", "Di", "Ross"),
    tag: str = "",
    digit: str = "3",
) -> None:
    """``count`` calls, each from A's phone naming B's contact: a conflict each, one ingest
    after the other (phones +14155550{digit}0N for A, the next digit for B)."""
    first_a, last_a, first_b, last_b = names
    b_digit = str(int(digit) + 1)
    for n in range(count):
        await service.ingest(
            [
                crm(f"C-A{n}", first=first_a, last=last_a, phones=[f"+14155550{digit}0{n}"]),
                crm(f"C-B{n}", first=first_b, last=last_b, phones=[f"+14155550{b_digit}0{n}"]),
                call(f"I-{tag}{n}", phone=f"+14155550{digit}0{n}", ref=("crm_id", f"C-B{n}")),
            ]
        )


@pytest.mark.parametrize(
    ("ends_in", "closed"),
    [
        pytest.param({"A": "m1", "B": "m1"}, True, id="joined"),
        pytest.param({"A": "m1", "B": "m2"}, False, id="parted-by-the-move"),
        pytest.param({"A": "m1"}, False, id="one-left-no-member"),
    ],
)
def test_a_move_closes_only_the_conflicts_it_leaves_in_one_member(
    ends_in: dict[str, str], closed: bool
) -> None:
    at = datetime.now(UTC)
    conflict = IdentityEvent(
        "m1", "conflict", at, "engine", records=(("crm", "A"), ("crm", "B")), id=7
    )
    decision = IdentityEvent("m1", "conflict_resolved", at, "s", evidence={"conflict_id": 7})
    other = IdentityEvent("m1", "steward", at, "s", evidence={"conflict_id": 3})
    member_of = {("crm", key): member for key, member in ends_in.items()}
    for move in (False, True):
        adjust = Adjustments(events=[decision, other], closes=[conflict], closes_if_joined=move)
        closes, events = closed_by(adjust, member_of)
        kept = closed or not move  # without move, the link closes what it joins as it was
        assert (closes == [conflict]) is kept
        assert (decision in events) is kept and other in events
