"""A till's own card: a cashier's card scanned for every guest who has none, told by how
many purchases it carries a day (``till_busy_day``, ``till_busy_days``), in a batch and by
ingest alike."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import crm, purchase, world
from tests.support.stores import ADAPTERS, after_whole_read, open_store, two_processes

CASHIER_CARD = "LD70000456"
BAG = ("transactions", f"loyalty:{CASHIER_CARD}")


def _sales(
    per_day: list[int], card: str | None = CASHIER_CARD, email: str | None = None, again: int = 1
) -> list[RecordData]:
    """Purchases on ``card`` (or keyed by ``email``): ``per_day[d]`` distinct ones on day
    ``d``, each line sent ``again`` times (a till sending a line twice)."""
    return [
        purchase(
            card=card, email=email, tid=f"T{d}-{n}", at=f"2026-03-{d + 1:02d}T{9 + n:02d}:00:00Z"
        )
        for d, count in enumerate(per_day)
        for n in range(count)
        for _ in range(again)
    ]


def _together(result: object, a: tuple[str, str], b: tuple[str, str]) -> bool:
    return any(a in c and b in c for c in result.components)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("per_day", "again", "till"),
    [
        pytest.param([1] * 30, 1, False, id="a-regular-shopper"),
        pytest.param([3, 2, 4, 3, 4, 1], 1, False, id="a-heavy-shopper-a-few-a-day"),
        pytest.param([8, 9, 1, 1], 1, False, id="two-busy-days-a-party"),
        pytest.param([8, 6, 7], 1, True, id="three-busy-days-a-cashiers-card"),
        pytest.param([12] * 20, 1, True, id="every-day-at-one-till"),
        pytest.param([3, 3, 3], 2, False, id="each-line-sent-twice-counts-once"),
    ],
)
def test_a_card_used_many_times_a_day_on_many_days_is_the_tills(
    per_day: list[int], again: int, till: bool
) -> None:
    # Given a cashier's contact with her card, and purchases on the card by day
    cashier = crm("C1", first="Cara", card=CASHIER_CARD)
    result = resolve(world(cashier, *_sales(per_day, again=again)))
    # Then past a few purchases a day on several days the card is a till's own: its
    # purchases are nobody's, listed with why, and it joins no one, not even the cashier
    assert (BAG in result.unattributed) is till
    assert _together(result, ("crm", "C1"), BAG) is not till
    if till:
        assert result.unattributed[BAG].startswith(f"placeholder card {CASHIER_CARD}: more than")


def test_a_stores_address_typed_for_every_guest_is_the_tills() -> None:
    # Given a store's own address typed at its till for guests, eight times a day
    store = "store12@shopmail.com"
    result = resolve(world(*_sales([8, 8, 8, 8], card=None, email=store)))
    # Then its "online customer" is nobody's
    [(ref, why)] = result.unattributed.items()
    assert ref == ("transactions", f"online:{store}") and why.startswith(
        f"placeholder e-mail {store}"
    )


@pytest.mark.parametrize(
    ("rules", "till"),
    [
        pytest.param(Rules(), True, id="defaults"),
        pytest.param(Rules(till_busy_days=0), False, id="rule-off"),
        pytest.param(Rules(till_busy_days=5), False, id="five-days-asked"),
        pytest.param(Rules(till_busy_day=9), False, id="ten-a-day-asked"),
        pytest.param(Rules(till_busy_day=2, till_busy_days=2), True, id="stricter"),
    ],
)
def test_the_thresholds_are_rules(rules: Rules, till: bool) -> None:
    # Given a card with 6, 7 and 8 purchases on three days
    result = resolve(world(*_sales([6, 7, 8])), rules)
    # Then it is a till's as the rules say
    assert (BAG in result.unattributed) is till


def test_guests_e_receipt_addresses_on_a_tills_card_stay_theirs() -> None:
    # Given a till's card where two guests gave their own e-mail for the receipt
    guests = [crm(f"G{n}", first=f"Guest{n}", emails=[f"g{n}@mail.org"]) for n in range(2)]
    sales = _sales([6, 6, 6])
    sales += [purchase(card=CASHIER_CARD, email=f"g{n}@mail.org", tid=f"E{n}") for n in range(2)]
    result = resolve(world(crm("C1", first="Cara", card=CASHIER_CARD), *guests, *sales))
    # Then the card is nobody's and each guest stays alone: the card joins no two of them
    assert BAG in result.unattributed
    assert not _together(result, ("crm", "G0"), ("crm", "G1"))


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_a_card_that_turns_out_the_tills_by_ingest_leaves_its_member(
    service: IdentityService,
) -> None:
    # Given the cashier's contact and her card, used by her on a day: one member
    await service.ingest([crm("C1", first="Cara", card=CASHIER_CARD), *_sales([1])])
    [member] = set((await service.store.all_assignments()).values())
    assert (await service.store.all_assignments())[BAG] == member
    # When the till's purchases come in one at a time, day after day (some sent twice)
    results = [await service.ingest([sale]) for sale in _sales([1, 6, 7, 8], again=2)]
    # Then once three busy days are in, the card and every purchase on it, the earlier
    # ones too, leave her member, with why; her contact stays hers
    assigned = await service.store.all_assignments()
    assert BAG not in assigned and assigned[("crm", "C1")] == member
    turned = next(n for n, r in enumerate(results) if BAG in r.unattributed)
    # at the fifth purchase of the third busy day (each line sent twice)
    assert turned == (1 + 6 + 7) * 2 + 4 * 2
    assert "more than 4 purchases a day on 3 days" in results[turned].unattributed[BAG]
    [history] = await service.store.member_events([member])
    assert any(e.kind == "unattributed" and e.records == (BAG,) for e in history)
    # And a whole resolution of the store (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned
    # and the store kept each day's purchases once
    stored = (await service.store.load_records([BAG]))[BAG]
    assert stored.days is not None and sorted(map(len, stored.days.values())) == [1, 6, 7, 8]


async def test_a_store_written_before_purchase_days_opens_and_keeps_them(tmp_path: Path) -> None:
    # Given a SQLite store file whose records table has no days yet (an older version)
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE records (source TEXT NOT NULL, key TEXT NOT NULL, role TEXT NOT NULL,"
            " member_id TEXT, origin_member_id TEXT, previous_member_id TEXT, first_name TEXT,"
            " last_name TEXT, birth_date TEXT, address TEXT, PRIMARY KEY (source, key))"
            " WITHOUT ROWID"
        )
    # When the gateway opens it and a till's purchases come in
    async with SqliteStore(str(path)) as store:
        service = IdentityService(store)
        await service.ingest(_sales([5, 5, 5]))
        # Then they are counted by day as in a new store
        assert BAG not in await store.all_assignments()
        assert len((await store.load_records([BAG]))[BAG].days or {}) == 3


async def test_a_purchase_on_a_new_day_walks_no_closure_until_it_matters(
    service: IdentityService,
) -> None:
    # Given a shopper's contact and her card, used on a day
    store = service.store
    await service.ingest([crm("C1", first="Cara", card=CASHIER_CARD), *_sales([1])])
    walked: list[object] = []
    walk = store.closure_state

    async def counted(*args: object) -> object:
        walked.append(args)
        return await walk(*args)  # type: ignore[arg-type]

    store.closure_state = counted  # type: ignore[method-assign]
    # When she buys again on other days
    for day in (2, 3, 4):
        await service.ingest(
            [purchase(card=CASHIER_CARD, tid=f"D{day}", at=f"2026-03-{day:02d}T10:00:00Z")]
        )
    # Then no closure is walked: only the card's days moved, and the store keeps them
    assert walked == []
    stored = (await store.load_records([BAG]))[BAG]
    assert sorted(stored.days or {}) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert (await store.all_assignments())[BAG] == (await store.all_assignments())[("crm", "C1")]
    # But a purchase that brings the card a new e-mail walks it
    await service.ingest([purchase(card=CASHIER_CARD, email="cara@example.org", tid="D5")])
    assert len(walked) == 1
    # and so does the day the card turns out to be the till's (its member changes)
    await service.ingest(_sales([0, 0, 0, 0, 0, 6, 6, 6]))
    assert len(walked) == 2 and BAG not in await store.all_assignments()


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_two_processes_keeping_one_cards_new_days_at_once_keep_both(
    kind: str, tmp_path: Path
) -> None:
    # Given a card known to the store, and two gateways (workers) over it
    async with two_processes(kind, tmp_path) as (one, two):
        await IdentityService(one).ingest(
            [crm("C1", first="Cara", card=CASHIER_CARD), *_sales([1])]
        )
        first, second = IdentityService(one), IdentityService(two)
        # When each takes a purchase of the card on a new day at the same time
        await asyncio.gather(
            first.ingest([purchase(card=CASHIER_CARD, tid="A", at="2026-03-02T10:00:00Z")]),
            second.ingest([purchase(card=CASHIER_CARD, tid="B", at="2026-03-03T10:00:00Z")]),
        )
        # Then the card keeps both days (neither write undoes the other's)
        stored = (await one.load_records([BAG]))[BAG]
    assert sorted(stored.days or {}) == ["2026-03-01", "2026-03-02", "2026-03-03"]


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_whole_resolution_beside_a_process_keeping_a_cards_new_day_keeps_it(
    kind: str, tmp_path: Path
) -> None:
    # Given a card known to the store, a gateway serving over it, and another starting: its
    # folder brings the card a purchase on a new day, so its resolution rewrites the card
    async with two_processes(kind, tmp_path) as (starting, serving):
        await IdentityService(serving).ingest(
            [crm("C1", first="Cara", card=CASHIER_CARD), *_sales([1])]
        )
        folder = world(
            crm("C1", first="Cara", card=CASHIER_CARD),
            *_sales([1]),
            purchase(card=CASHIER_CARD, tid="A", at="2026-03-02T10:00:00Z"),
        )
        kept = after_whole_read(  # the serving one keeps a new day meanwhile
            starting,
            lambda: IdentityService(serving).ingest(
                [purchase(card=CASHIER_CARD, tid="B", at="2026-03-03T10:00:00Z")]
            ),
        )
        # When the starting one resolves the whole store after it read the store
        await IdentityService(starting).resolve_all(folder)
        stored = (await serving.load_records([BAG]))[BAG]
    # Then the card keeps the day the serving one kept meanwhile, and the folder's
    assert kept and sorted(stored.days or {}) == ["2026-03-01", "2026-03-02", "2026-03-03"]
