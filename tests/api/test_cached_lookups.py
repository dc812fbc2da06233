"""A cached answer is never served once what it shows changed, where no change to the member
it names says so, over real HTTP, on both levels of the response cache (each process's
memory, the store's kept answers), on the embedded store and an emulated MongoDB, on one
process and across two: a lookup by a value another member's contact takes (no join: it
finds no one person then, and their member again once a steward merges them), a
steward's decision written only into members' history (a rejected suggestion, a link of
records already one member), and a profile's e-mail that more people give than one can."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.api.test_response_cache import KEYS, MASKED, UNMASKED, Client
from tests.support.http import serving
from tests.support.mongo import EmulatedClient, load
from tests.support.serve import serve_ready, until

URL = "mongodb://mongo.example:27017/lookups?replicaSet=rs0"
LEVELS = {
    "memory": {"response_cache_entries": 1000, "response_cache_stored_entries": 0},
    "stored": {"response_cache_entries": 0, "response_cache_stored_entries": 1000},
}
HITS = {"memory": "hits", "stored": "stored_hits"}
# (Neither a placeholder: "+33612345678" and "@example.org" are, by the rules' patterns.)
SHARED = {"PHONE": "+33645821937", "EMAIL": "family.inbox@young-older.fr"}
FIELD = {"PHONE": "phones", "EMAIL": "emails"}
BEA = {
    "contact_id": "B-1",
    "first_name": "Beatrice",
    "last_name": "Older",
    "emails": ["bea@older.example"],
    "birth_date": "1950-01-01",
    "updated_at": "2024-01-01T00:00:00Z",
}
ANN = {
    "contact_id": "A-1",
    "first_name": "Ann",
    "last_name": "Young",
    "emails": ["ann@young.example"],
    "birth_date": "1999-05-05",
    "updated_at": "2024-01-01T00:00:00Z",
}
# Two contacts a steward may weigh as one person (a suggestion), and a card with its contact.
LEE = {"contact_id": "C-LEE-1", "first_name": "Ann", "last_name": "Lee"}
LEE2 = {"contact_id": "C-LEE-2", "first_name": "Anne", "last_name": "Lee"}
CARD = {"contact_id": "C-CARD", "first_name": "Bo", "last_name": "Ek", "loyalty_id": "LD300"}
PURCHASE = {
    "transaction_id": "T-CARD-1",
    "loyalty_id": "LD300",
    "channel": "store",
    "occurred_at": "2024-02-01T10:00:00Z",
    "amount_cents": 1000,
}
STEWARD = "steward-key-000000000001"
STEWARDS = {**KEYS, STEWARD: {"name": "steward", "scopes": ["profile:read", "identity:write"]}}

LOOKUP = """query L($kind: IdentifierKind!, $v: String!) {
  memberByIdentifier(kind: $kind, value: $v) { id } }"""
HISTORY = """query H($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) {
  id records { source key } identityHistory { kind } } }"""


def _folder(tmp_path: Path, *more: dict[str, object], bought: bool = False) -> Path:
    """Beatrice and ``more`` contacts (``bought``: a purchase on CARD's card)."""
    folder = tmp_path / "data"
    folder.mkdir()
    lines = {"crm": [BEA, *more], "transactions": [PURCHASE] if bought else []}
    for source in ("crm", "transactions", "web_analytics", "call_center"):
        said = "".join(json.dumps(line) + "\n" for line in lines.get(source, []))
        (folder / f"{source}.jsonl").write_text(said)
    return folder


def _carrying(contact: dict[str, Any], kind: str, **more: object) -> dict[str, Any]:
    """``contact`` with the shared value of ``kind`` among its own."""
    return contact | {FIELD[kind]: [*contact.get(FIELD[kind], []), SHARED[kind]], **more}


def _ask(client: Client, query: str, **variables: object) -> Any:
    answer = client.http.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    return answer.json()["data"]["memberByIdentifier"]


def _cached(client: Client, level: str, query: str, **variables: object) -> Any:
    """The answer asked until the cache serves it (the store's are written after it)."""
    hits = client.cache(HITS[level])
    first = _ask(client, query, **variables)
    assert until(
        lambda: _ask(client, query, **variables) == first and client.cache(HITS[level]) > hits
    )
    return first


@contextlib.contextmanager
def _gateway(tmp_path: Path, folder: Path, store: str, level: str) -> Iterator[str]:
    keys = Settings(api_keys=STEWARDS).api_keys
    if store == "sqlite":
        settings = Settings(
            data=folder,
            store=f"sqlite:///{tmp_path / 'id.db'}",
            cache_dir=tmp_path / "cache",
            api_keys=keys,
            **LEVELS[level],
        )
        mongo = None
    else:
        mongo = EmulatedClient()
        asyncio.run(load(folder, URL, mongo))
        settings = Settings(
            store=URL, sources=URL, cache_dir=tmp_path / "cache", api_keys=keys, **LEVELS[level]
        )
    with serving(create_app(settings, mongo_client=mongo)) as address:
        yield address


STORES = ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)]


@pytest.mark.parametrize("kind", ["PHONE", "EMAIL"])
@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("store", STORES)
def test_a_cached_lookup_finds_no_one_person_once_another_contact_takes_the_value(
    store: str, level: str, kind: str, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    with _gateway(tmp_path, _folder(tmp_path, kind), store, level) as address:
        masked, steward = connect(address, MASKED), connect(address, STEWARD)
        # Given Ann, newer than Beatrice, alone carrying a value, and a masked caller's
        # lookup by it served from the cache
        masked.ingest("crm", _carrying(ANN, kind))
        ann = _cached(masked, level, LOOKUP, kind=kind, v=SHARED[kind])
        # When Beatrice's contact gives the same value, which joins no one to her
        masked.ingest("crm", _carrying(BEA, kind, updated_at="2024-06-01T00:00:00Z"))
        # Then the cached caller's very next request finds no one person: two hold it alike
        assert _ambiguous(masked, kind) == 2
        # And once a steward merges the two, the lookup finds their one member again
        merged = steward.http.post("/graphql", json={"query": MERGE}).json()
        assert "errors" not in merged, merged
        assert _cached(masked, level, LOOKUP, kind=kind, v=SHARED[kind])["id"] in {
            m["id"] for m in merged["data"]["linkRecords"]
        }
        assert ann  # (found alone before)


MERGE = """mutation { linkRecords(a: {source: CRM, key: "A-1"}, b: {source: CRM, key: "B-1"},
  reason: "one person") { id } }"""


def _ambiguous(client: Client, kind: str) -> int:
    """How many members the lookup by the shared value says hold it alike."""
    asked = {"query": LOOKUP, "variables": {"kind": kind, "v": SHARED[kind]}}
    answer = client.http.post("/graphql", json=asked).json()
    assert answer["data"] == {"memberByIdentifier": None}, answer
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "AMBIGUOUS_IDENTIFIER", answer
    return int(error["extensions"]["members"])


@pytest.mark.parametrize("level", list(LEVELS))
def test_another_process_stops_serving_a_lookup_once_the_value_finds_no_one_person(
    level: str, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    folder, store = _folder(tmp_path), tmp_path / "one.db"
    settings = {k: str(v) for k, v in LEVELS[level].items()}
    settings["api_keys"] = orjson.dumps(KEYS).decode()
    with (
        serve_ready(folder, store, **settings) as (a, _),
        serve_ready(folder, store, **settings) as (b, _),
    ):
        through_a, read_on_b = connect(a), connect(b)
        through_a.ingest("crm", _carrying(ANN, "PHONE"))
        _caught_up(read_on_b, through_a)  # (else B's follower drops what it keeps next)
        _cached(read_on_b, level, LOOKUP, kind="PHONE", v=SHARED["PHONE"])
        through_a.ingest("crm", _carrying(BEA, "PHONE", updated_at="2024-06-01T00:00:00Z"))
        assert _ambiguous(connect(a, UNMASKED), "PHONE") == 2
        # B's kept answers are checked against the store's feed at each read: at once. Its
        # memory drops the answer at its first read of the feed that holds the change.
        _caught_up(read_on_b, through_a)
        assert _ambiguous(read_on_b, "PHONE") == 2


def _caught_up(reader: Client, writer: Client) -> None:
    """Until ``reader``'s process has read the feed as far as ``writer``'s wrote it."""
    (written,) = writer.figures("feed_position")
    assert until(lambda: reader.figures("feed_position")[0] >= written)


DECISIONS = {
    "reject": (
        (LEE, LEE2),
        'mutation { rejectSuggestion(a: {source: CRM, key: "C-LEE-1"}, '
        'b: {source: CRM, key: "C-LEE-2"}, reason: "two people") { id } }',
        "C-LEE-1",
        "suggestion_rejected",
    ),
    "link-already-one": (
        (CARD,),
        'mutation ($card: String!) { linkRecords(a: {source: CRM, key: "C-CARD"}, '
        'b: {source: TRANSACTIONS, key: $card}, reason: "sure") { id } }',
        "C-CARD",
        "steward",
    ),
}


@pytest.mark.parametrize("decision", list(DECISIONS))
@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("store", STORES)
def test_a_cached_history_shows_a_stewards_decision_that_moved_no_record(
    store: str, level: str, decision: str, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    contacts, mutation, crm_id, written = DECISIONS[decision]
    with _gateway(
        tmp_path, _folder(tmp_path, *contacts, bought=decision == "link-already-one"), store, level
    ) as address:
        masked, steward = connect(address, MASKED), connect(address, STEWARD)
        # Given a member's history, served from the cache
        before = _cached(masked, level, HISTORY, v=crm_id)
        card = [r["key"] for r in before["records"] if r["source"] == "TRANSACTIONS"]
        assert bool(card) == (decision == "link-already-one")  # (the card is hers already)
        # When a steward decides something that moves no record
        asked = {"query": mutation, "variables": {"card": card[0]} if card else {}}
        done = steward.http.post("/graphql", json=asked).json()
        assert "errors" not in done, done
        # Then the very next request shows the decision in her history
        after = _ask(masked, HISTORY, v=crm_id)
        assert after["id"] == before["id"]
        assert written in [e["kind"] for e in after["identityHistory"]]
        assert len(after["identityHistory"]) > len(before["identityHistory"])


HUB = "orders@corner-shop.example"
CHANNELS = """query C($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) {
  id reachableChannels } }"""


def _on_the_hub(n: int) -> dict[str, Any]:
    """The n-th contact giving the shop's e-mail (the first gives no other)."""
    first, last = f"Cy{'x' * n}", f"Hub{'y' * n}"
    own = [] if n == 0 else [f"{first.lower()}.{last.lower()}@mail.example"]
    return {
        "contact_id": f"H-{n}",
        "first_name": first,
        "last_name": last,
        "emails": [HUB, *own],
        "birth_date": f"19{50 + n}-0{1 + n}-1{n}",
        "consents": {"email": True},
        "updated_at": "2024-01-01T00:00:00Z",
    }


@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("store", STORES)
def test_a_cached_profile_drops_an_email_that_more_people_give_than_one_can(
    store: str, level: str, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    hub_max_people = 6  # (default_rules.toml)
    folder = _folder(tmp_path, *map(_on_the_hub, range(hub_max_people)))
    with _gateway(tmp_path, folder, store, level) as address:
        masked = connect(address, MASKED)
        # Given the first contact reachable by the e-mail she shares with five others, served
        # from the cache
        assert _cached(masked, level, CHANNELS, v="H-0")["reachableChannels"] == ["EMAIL"]
        # When a seventh person gives it: a placeholder now (a shop's), which reaches no one
        masked.ingest("crm", _on_the_hub(hub_max_people))
        # Then her next answer no longer calls her reachable by e-mail
        assert _ask(masked, CHANNELS, v="H-0")["reachableChannels"] == []
