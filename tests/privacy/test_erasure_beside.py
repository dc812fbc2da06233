"""Erasing one person leaves the others resolved as resolving everything that remains does.

Her records weighed on how others were resolved: a family e-mail she also gave counted her
as one more person on it, a hub, so her relatives' two contacts of one person stayed apart.
Once she is erased the members beside her are resolved again (``privacy/beside.py``): the
store's members are those a whole resolution of the remaining records gives, the members
that changed are on the change feed, and nothing of hers comes back with them; a process
killed between her erasure and that resolution finishes it at its retry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.gateway import open_gateway
from membergraph.gateway_parts import Gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import open_privacy, privacy_of
from membergraph.privacy.erasure import ErasureService, erasure_of
from membergraph.settings import Settings
from tests.conftest import gql
from tests.identity.builders import call, crm, event, purchase
from tests.identity.test_closure_edges import (
    Lines,
    Split,
    Undo,
    as_a_whole,
    partition,
    rules,
    steps,
    take_step,
)
from tests.support.mongo import EmulatedClient, load
from tests.support.stores import ADAPTERS, open_store

FAMILY = "fam@x.org"
# Ann Lee entered twice, and Bob: three contacts of one household e-mail.
CONTACTS = [
    {"contact_id": "C1", "first_name": "Ann", "last_name": "Lee", "birth_date": "1980-01-01"},
    {"contact_id": "C2", "first_name": "Ann", "last_name": "Lee", "birth_date": "1980-01-01"},
    {"contact_id": "C3", "first_name": "Bob", "last_name": "Ray", "birth_date": "1970-05-05"},
]
FIND = '{ memberByIdentifier(kind: CRM_ID, value: "%s") { id } }'
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-12") {
  state steps { name outcome } counts } }"""
CHANGES = """query($after: String) { changes(after: $after, first: 100) {
  edges { cursor node { kind memberIds reason } } } }"""
MAX_RUNS = 80  # sequences per adapter under the default profile (a few seconds)


def _folder(tmp: Path) -> Path:
    folder = tmp / "data"
    folder.mkdir()
    lines = [{**c, "emails": [FAMILY], "updated_at": "2026-01-01T00:00:00Z"} for c in CONTACTS]
    (folder / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in lines))
    for name in ("transactions", "web_analytics", "call_center"):
        (folder / f"{name}.jsonl").write_text("")
    (tmp / "rules.toml").write_text("hub_max_people = 1\n")
    return folder


@contextlib.contextmanager
def _sqlite(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any], Any]]:
    db = tmp / "store.db"
    settings = Settings(
        data=folder, store=f"sqlite:///{db}", cache_dir=tmp / "c", rules=tmp / "rules.toml"
    )
    yield settings, {}, lambda: SqliteStore(str(db))


@contextlib.contextmanager
def _mongodb(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any], Any]]:
    url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
    settings = Settings(store=url, sources=url, cache_dir=tmp / "c", rules=tmp / "rules.toml")
    asyncio.run(load(folder, url, client, settings))
    yield settings, {"mongo_client": client}, lambda: MongoStore(url, client=client)


def _member(client: TestClient, contact: str) -> str | None:
    found = gql(client, FIND % contact)["data"]["memberByIdentifier"]  # type: ignore[index]
    return None if found is None else str(found["id"])


async def _held_and_whole(
    store: IdentityStore, rules: Rules
) -> tuple[set[frozenset[RecordKey]], set[frozenset[RecordKey]]]:
    async with store:
        return await partition(store), await as_a_whole(store, rules)


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_erasing_bob_joins_the_two_anns_his_family_email_kept_apart(
    tmp_path: Path, layout: Any
) -> None:
    folder = _folder(tmp_path)
    with layout(folder, tmp_path) as (settings, extra, store):
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            # Given the family e-mail on two people (a hub under hub_max_people = 1): Ann's
            # two contacts are two members
            ann_1, ann_2, bob = (_member(client, c) for c in ("C1", "C2", "C3"))
            assert len({ann_1, ann_2, bob}) == 3
            cursor = gql(client, CHANGES)["data"]["changes"]["edges"][-1]["cursor"]  # type: ignore[index]
            # When Bob is erased
            erased = gql(client, ERASE, id=bob)["data"]["eraseMember"]  # type: ignore[index]
            assert erased["state"] == "DONE", erased
            steps = {s["name"]: s["outcome"] for s in erased["steps"]}
            assert steps["reresolve"] == "done"
            # Then the e-mail is one person's: Ann's contacts are one member, as resolving
            # what remains says
            assert _member(client, "C3") is None
            ann = _member(client, "C1")
            assert ann is not None and _member(client, "C2") == ann
            assert ann in {ann_1, ann_2}
            assert erased["counts"]["resolved_again"] == 2
            # and the feed says so, so other processes and subscribers follow
            after = gql(client, CHANGES, after=cursor)["data"]["changes"]["edges"]  # type: ignore[index]
            merged = [e["node"] for e in after if e["node"]["kind"] == "MERGED"]
            assert [sorted(m["memberIds"]) for m in merged] == [sorted([ann_1, ann_2])]
            assert merged[0]["reason"].startswith("privacy request pr_")
        held, whole = asyncio.run(_held_and_whole(store(), Rules(hub_max_people=1)))
        assert held == whole == {frozenset({("crm", "C1"), ("crm", "C2")})}


class Killed(BaseException):
    """What a SIGKILL amounts to for the code after it: nothing runs, nothing is caught."""


async def _erase_killed(settings: Settings, where: str) -> tuple[Any, Any, str]:
    """Erase Bob in a process that dies ``where``; answers the three members before."""
    gateway, sources, _ = await open_gateway(settings)
    try:
        store = gateway.identity.store
        ann_1, ann_2, bob = [
            await gateway.identity.find_member(IdentifierKind.CRM_ID, c) for c in ("C1", "C2", "C3")
        ]
        assert bob is not None
        privacy = await privacy_of(gateway)
        erase_identity = privacy.store.erase_identity

        async def erased_then_killed(*args: Any) -> Any:
            await erase_identity(*args)
            raise Killed

        async def killed(*args: Any) -> Any:
            raise Killed

        if where == "after her identity went":
            privacy.store.erase_identity = erased_then_killed  # type: ignore[method-assign]
        else:  # as the others' closure is read
            store.closure_state = killed  # type: ignore[method-assign]
        with pytest.raises(Killed):
            await (await erasure_of(gateway)).erase(bob, "ticket DPO-12", "dpo")
        return ann_1, ann_2, bob
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


async def _after(settings: Settings, retry: bool) -> tuple[Any, list[Any], Any]:
    """The request, and Ann's two contacts' members, in a new process (retrying first)."""
    gateway, sources, _ = await open_gateway(settings)
    try:
        if retry:
            await (await erasure_of(gateway)).retry_unfinished()
        [request] = await (await privacy_of(gateway)).store.requests(10)
        find = gateway.identity.find_member
        anns = [await find(IdentifierKind.CRM_ID, c) for c in ("C1", "C2")]
        return request, anns, await find(IdentifierKind.CRM_ID, "C3")
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


@pytest.mark.parametrize("where", ["after her identity went", "as the others are resolved"])
async def test_a_process_killed_before_the_others_were_resolved_finishes_at_its_retry(
    tmp_path: Path, where: str
) -> None:
    folder = _folder(tmp_path)
    with _sqlite(folder, tmp_path) as (settings, _, _):
        # Given Bob's erasure in a process killed once his identity was gone
        ann_1, ann_2, _ = await _erase_killed(settings, where)
        request, anns, bob = await _after(settings, retry=False)
        # Then he is gone, Ann's contacts are still apart, and the request knows whom to
        # resolve again (Ann's contacts, not his)
        assert bob is None and anns == [ann_1, ann_2]
        assert request.state == "pending" and "reresolve" not in request.steps
        assert sorted(request.resolve_again) == [("crm", "C1"), ("crm", "C2")]
        # When another process retries it
        request, anns, bob = await _after(settings, retry=True)
        # Then Ann's contacts are one member, and the request is done and keeps no one's
        # records
        assert bob is None and anns[0] == anns[1] and anns[0] in (ann_1, ann_2)
        assert request.state == "done", request.steps
        assert request.steps["reresolve"] == "done" and request.resolve_again == []


# -- a property: any small record set, any member erased ----------------------------------


async def _named(store: IdentityStore) -> str:
    """Every live member's history and the whole feed, as text."""
    members = sorted(set((await store.all_assignments()).values()))
    history = await store.member_events(members)
    feed = await store.feed_after(0, 100_000)
    return repr([h for h in history]) + repr(feed)


async def _replay(service: IdentityService, sequence: list[object]) -> None:
    """Lines ingested, stewards' links, splits and undos, as the closure's property plays
    them (``tests/identity/test_closure_edges.py``)."""
    for step in sequence:
        await take_step(service, step)


async def _erase_one(adapter: str, rules: Rules, sequence: list[object], pick: int) -> None:
    async with open_store(adapter) as store:
        settings = Settings()
        service = IdentityService(store, rules)
        # Given a store made by lines and stewards' decisions
        await _replay(service, sequence)
        assert await partition(store) == await as_a_whole(store, rules)
        members = sorted(set((await store.all_assignments()).values()))
        if not members:
            return
        member = members[pick % len(members)]
        [refs] = await store.member_records([member])
        mine = await store.load_records(refs)
        values = {(i.kind, i.key) for r in mine.values() for i in r.identifiers}
        carried = await store.carriers(values)
        only_hers = {v for v, by in carried.items() if set(by) <= set(refs)}
        gateway = Gateway(settings=settings, identity=service, sources={})
        privacy = await open_privacy(store, settings)
        gateway.privacy = privacy
        erasure = ErasureService(gateway, privacy)
        # When the member is erased whole (the property: whoever it holds, steward-linked too)
        request = await erasure.erase(member, "ticket DPO-12", "dpo", whole=True)
        # Then the store's members are those resolving what remains gives
        assert request.state == "done", request.steps
        assert await partition(store) == await as_a_whole(store, rules)
        # and nothing of hers is left: her records, the values only she carried, her
        # member; no history or feed entry names her records or those values
        assert not (await store.load_records(refs))
        assert not any((await store.carriers(only_hers)).values())
        assert await store.resolve_member_id(member) is None
        text = await _named(store)
        for source, key in refs:
            assert repr((source, key)) not in text and repr([source, key]) not in text
        for _, key in only_hers:
            assert repr(key) not in text, key
        assert request.resolve_again == [] and request.erased_ids == []


# Found by the property: the erased member, a card's purchases, holds the ID first made for
# a contact and a call (a steward's split, then its undo); resolved again without her, the
# call's new member would be given that ID, derived from its key, had it been forgotten.
HER_ID_WAS_THEIRS = (
    Rules(hub_max_people=2, till_max_people=1, device_max_names=1, hub_max_records=2),
    [
        Lines(
            (
                purchase(card="LD80000002", tid="T0"),
                call("I0", phone="+1 202 555 0101", ref=("email", "shop@store.org")),
            )
        ),
        Lines((crm("C2", "Ann", "Lee", phones=["+1 202 555 0101"]),)),
        Split(0, 1),
        Lines(
            (
                purchase(card="LD80000001", tid="T0"),
                purchase(card="LD80000001", email="shop@store.org", tid="T0"),
                event("d-1", user="C2", eid="E0"),
            )
        ),
        Undo(0),
        Lines(
            (
                purchase(email="a@x.org", tid="T0"),
                crm("C2", "Ann", "Lee", emails=["b@x.org"]),
                call("I1"),
            )
        ),
    ],
    4,
)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_the_others_resolve_as_what_remains_whoever_is_erased(adapter: str) -> None:
    runs = settings.default.max_examples

    @settings(max_examples=runs if runs > 100 else min(runs, MAX_RUNS))
    @given(rules, steps, st.integers(0, 99))
    @example(*HER_ID_WAS_THEIRS)
    def check(rules: Rules, sequence: list[object], pick: int) -> None:
        asyncio.run(_erase_one(adapter, rules, sequence, pick))

    check()
