"""One contract for every identity store adapter: SQLite, MongoDB emulated, MongoDB real."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from membergraph.identity.engine import Link
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store import Change, IdentityEvent, IdentityStore, StoreError
from membergraph.identity.store.format import STORE_FORMAT, StoreMark
from membergraph.identity.store.port import contact_values
from tests.identity.builders import crm, purchase, visitor
from tests.support.stores import ADAPTERS, open_store

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as adapter:
        yield adapter


def _first_change() -> Change:
    ann, card = crm("C1", emails=["ann@x.org"], card="LD11110000"), purchase(card="LD11110000")
    return Change(
        records=[ann, card],
        assignments={ann.ref: "m_ann", card.ref: "m_ann"},
        new_members=["m_ann"],
        links_added=[
            Link(ann.ref, card.ref, "loyalty_id", {"kind": "LOYALTY_ID", "value": "LD11110000"})
        ],
        link_members=["m_ann"],
        events=[IdentityEvent("m_ann", "conflict", NOW, "test", rule="limit", records=(ann.ref,))],
        actor="test",
        reason="first load",
        at=NOW,
    )


async def test_member_parts_are_the_records_and_identifiers_read_alone(
    store: IdentityStore,
) -> None:
    # Given a member with two records, when its parts are read (a request's one read), then
    # they are exactly what the two reads answer, in the same order; unknown: empty.
    await store.apply(_first_change())
    ids = ["m_ann", "m_none"]
    parts = await store.member_parts(ids)
    assert [p.records for p in parts] == await store.member_records(ids)
    assert [p.identifiers for p in parts] == await store.member_identifiers(ids)
    assert len(parts[0].identifiers) == 4 and parts[1] == ([], [])
    # A lookup by identifier reads the member and its parts together.
    assert await store.find_member_parts(IdentifierKind.EMAIL, "ann@x.org") == ("m_ann", parts[0])
    assert await store.find_member_parts(IdentifierKind.EMAIL, "nobody@x.org") is None
    # With the records carrying its e-mails and phones (as ``carriers`` says, at most one
    # more than max_records) and the records of those carried more than ``floor`` times,
    # in the same read.
    values = contact_values(parts[0])
    alone = await store.carriers(values)
    for floor, max_records in ((0, 5), (0, 0), (5, 9)):
        found = await store.find_member_carried(
            IdentifierKind.EMAIL, "ann@x.org", floor, max_records
        )
        assert found is not None and (found.member, found.parts) == ("m_ann", parts[0])
        assert values and set(found.carried) == set(values)
        assert {v: set(r) for v, r in found.carried.items()} == {
            v: set(alone[v][: max_records + 1]) for v in values
        }
        weighed = {r for v in values if floor < len(alone[v]) <= max_records for r in alone[v]}
        assert found.records == (await store.load_records(weighed) if weighed else {})
    assert await store.find_member_carried(IdentifierKind.EMAIL, "nobody@x.org", 0, 5) is None


async def test_a_lookup_weighs_its_own_records_and_others_as_they_are_stored(
    store: IdentityStore,
) -> None:
    # Given ann's e-mail on her contact and her online orders, and on another member's
    # contact (a shared address), when her lookup reads what weighs it, then the carriers'
    # records are those load_records reads, hers and the other member's alike.
    ann = crm("C1", emails=["ann@x.org"], phones=["+14155550134"], card="LD11110000")
    card, online = purchase(card="LD11110000"), purchase(email="ann@x.org", channel="online")
    bob = crm("C2", first="Bob", emails=["ann@x.org"])
    await store.apply(
        Change(
            records=[ann, card, online, bob],
            assignments={
                ann.ref: "m_ann",
                card.ref: "m_ann",
                online.ref: "m_ann",
                bob.ref: "m_bob",
            },
            new_members=["m_ann", "m_bob"],
            actor="test",
            reason="first load",
            at=NOW,
        )
    )
    [parts] = await store.member_parts(["m_ann"])
    found = await store.find_member_carried(IdentifierKind.PHONE, "+14155550134", 0, 5)
    assert found is not None and (found.member, found.parts) == ("m_ann", parts)
    assert set(found.records) == {ann.ref, online.ref, bob.ref}
    assert found.records == await store.load_records([ann.ref, online.ref, bob.ref])


async def test_a_change_reads_back_through_every_lookup(store: IdentityStore) -> None:
    await store.apply(_first_change())
    loaded = await store.load_records([("crm", "C1"), ("crm", "nope")])
    assert set(loaded) == {("crm", "C1")}
    assert {i.kind for i in loaded[("crm", "C1")].identifiers} == {
        IdentifierKind.CRM_ID,
        IdentifierKind.EMAIL,
        IdentifierKind.LOYALTY_ID,
    }
    assert loaded[("crm", "C1")].first_name == "Ann"
    carriers = await store.carriers([(IdentifierKind.LOYALTY_ID, "LD11110000")])
    assert sorted(carriers[(IdentifierKind.LOYALTY_ID, "LD11110000")]) == [
        ("crm", "C1"),
        ("transactions", "loyalty:LD11110000"),
    ]
    assert await store.assignments([("crm", "C1")]) == {("crm", "C1"): "m_ann"}
    assert await store.member_records(["m_ann", "m_none"]) == [
        [("crm", "C1"), ("transactions", "loyalty:LD11110000")],
        [],
    ]
    assert await store.find_members(IdentifierKind.EMAIL, "ann@x.org") == ["m_ann"]
    assert await store.page_members(None, 10) == ["m_ann"]
    assert await store.count_members() == 1 and await store.count_members("call_center") == 0
    [events] = await store.member_events(["m_ann"])
    assert sorted(e.kind for e in events) == ["conflict", "linked"]
    # An added link is its member's "linked" event, written before the change's events.
    [linked] = [e for e in events if e.kind == "linked"]
    assert (linked.rule, linked.actor, linked.reason, linked.at) == (
        "loyalty_id",
        "test",
        "first load",
        NOW,
    )
    assert linked.evidence == {"kind": "LOYALTY_ID", "value": "LD11110000"}
    assert linked.records == (("crm", "C1"), ("transactions", "loyalty:LD11110000"))
    [conflict] = [e for e in events if e.kind == "conflict"]
    assert linked.id is not None and conflict.id is not None and linked.id < conflict.id
    [link] = await store.active_links([("crm", "C1")])
    assert link.rule == "loyalty_id" and link.actor == "test"
    assert await store.ping() == {"records": 2, "members": 1, "links": 1}
    # When a member was created: the change's time; an unknown member is left out.
    assert await store.member_created(["m_ann", "m_none"]) == {"m_ann": NOW}


async def test_a_merged_away_id_redirects_and_a_revived_one_stops_redirecting(
    store: IdentityStore,
) -> None:
    await store.apply(_first_change())
    await store.apply(Change(new_members=["m_bob"], assignments={("crm", "C1"): "m_bob"}))
    await store.apply(Change(redirects={"m_bob": "m_ann"}, assignments={("crm", "C1"): "m_ann"}))
    assert await store.resolve_member_id("m_bob") == "m_ann"
    assert await store.taken_member_ids(["m_bob", "m_new"]) == {"m_bob"}
    await store.apply(Change(new_members=["m_bob"], assignments={("crm", "C1"): "m_bob"}))
    assert await store.resolve_member_id("m_bob") == "m_bob"
    assert await store.origins([("crm", "C1")]) == {("crm", "C1"): "m_ann"}
    assert await store.resolve_member_id("m_unknown") is None


async def test_retracted_links_leave_the_active_set_but_not_history(store: IdentityStore) -> None:
    await store.apply(_first_change())
    await store.apply(
        Change(
            links_retracted=[(("crm", "C1"), ("transactions", "loyalty:LD11110000"), "loyalty_id")]
        )
    )
    assert await store.active_links([("crm", "C1")]) == []
    [events] = await store.member_events(["m_ann"])
    assert events, "history stays"


async def test_a_failing_change_writes_nothing(store: IdentityStore) -> None:
    change = _first_change()
    change.events.append(IdentityEvent("m_ann", "linked", NOW, "test", evidence={"bad": object()}))
    with pytest.raises((StoreError, TypeError)):
        await store.apply(change)
    assert await store.ping() == {"records": 0, "members": 0, "links": 0}
    await store.apply(_first_change())
    assert (await store.ping())["members"] == 1


async def test_conflicts_are_listed_newest_first(store: IdentityStore) -> None:
    events = [IdentityEvent("m_ann", "conflict", NOW, "test", rule=f"r{i}") for i in range(3)]
    await store.apply(Change(events=events))
    assert [e.rule for e in await store.list_conflicts(2)] == ["r2", "r1"]


async def test_a_change_too_large_for_one_transaction_is_written_whole_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from membergraph.identity.store import mongodb

    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 2)
    async with open_store("mongodb-emulated") as store:
        await store.apply(_first_change())  # 2 records + 2 assignments + 1 link + 1 event
        assert await store.ping() == {"records": 2, "members": 1, "links": 1}
        assert await store.member_records(["m_ann"]) == [
            [("crm", "C1"), ("transactions", "loyalty:LD11110000")]
        ]


async def test_a_store_keeps_what_made_it(store: IdentityStore) -> None:
    # Given a new store: marked with this release's format as it opens, no rules yet
    assert await store.mark() == StoreMark(STORE_FORMAT, "")
    assert not await store.holds_records()
    # When a change writes records and a resolution marks its rules, both read back
    await store.apply(_first_change())
    assert await store.holds_records()
    await store.set_mark(StoreMark(STORE_FORMAT, "rules-a"))
    await store.set_mark(StoreMark(STORE_FORMAT + 1, "rules-b"))
    assert await store.mark() == StoreMark(STORE_FORMAT + 1, "rules-b")


async def test_a_cards_number_finds_the_member_holding_the_card_first(
    store: IdentityStore,
) -> None:
    # Given a card a steward split off the contact that names it: the contact's member is
    # the older, and both hold the number (the contact's line still names it)
    ann, card = crm("C1", emails=["ann@x.org"], card="LD11110000"), purchase(card="LD11110000")
    await store.apply(
        Change(
            records=[ann],
            assignments={ann.ref: "m_ann"},
            new_members=["m_ann"],
            actor="test",
            reason="first load",
            at=NOW,
        )
    )
    await store.apply(
        Change(
            records=[card],
            assignments={card.ref: "m_card"},
            new_members=["m_card"],
            actor="test",
            reason="split",
            at=datetime(2026, 11, 2, tzinfo=UTC),
        )
    )
    # When the till looks the number up, then the card's member (its balance) answers
    # first; by the contact's e-mail, hers
    assert await store.find_members(IdentifierKind.LOYALTY_ID, "LD11110000") == [
        "m_card",
        "m_ann",
    ]
    assert await store.find_members(IdentifierKind.EMAIL, "ann@x.org") == ["m_ann"]


async def test_a_lookup_names_the_members_holding_a_value_alike(store: IdentityStore) -> None:
    # Given a card held by its purchase record's member and named by another's contact, and
    # a family's e-mail on two members' contacts and on a third's web login
    card, bob = purchase(card="LD11110000"), crm("C2", first="Bob", card="LD11110000")
    cy, dee = (
        crm("C3", first="Cy", emails=["fam@x.org"]),
        crm("C4", first="Dee", emails=["fam@x.org"]),
    )
    web = visitor("a-1", emails=("fam@x.org",))
    members = {
        card.ref: "m_card",
        bob.ref: "m_bob",
        cy.ref: "m_c3",
        dee.ref: "m_c4",
        web.ref: "m_v",
    }
    await store.apply(
        Change(
            records=[card, bob, cy, dee, web],
            assignments=members,
            new_members=sorted(members.values()),
            actor="test",
            reason="first load",
            at=NOW,
        )
    )
    # When each is looked up, then every holder comes with its rank: the card's own record
    # first, then profile records, then leaves; those of the first rank are tied
    card_key, family = (
        (IdentifierKind.LOYALTY_ID, "LD11110000"),
        (IdentifierKind.EMAIL, "fam@x.org"),
    )
    assert await store.ranked_members(*card_key) == [("m_card", 0), ("m_bob", 1)]
    assert await store.ranked_members(*family) == [("m_c3", 1), ("m_c4", 1), ("m_v", 2)]
    assert await store.find_members(*family) == ["m_c3", "m_c4", "m_v"]
    by_card = await store.find_member_carried(*card_key, 0, 5)
    assert by_card is not None and (by_card.member, by_card.tied) == ("m_card", ("m_card",))
    by_family = await store.find_member_carried(*family, 0, 5)
    assert by_family is not None and (by_family.member, by_family.tied) == (
        "m_c3",
        ("m_c3", "m_c4"),
    )
    # Found by ID: no value, no tie
    by_id = await store.member_carried("m_c4", 0, 5)
    assert by_id is not None and by_id.tied == ()
