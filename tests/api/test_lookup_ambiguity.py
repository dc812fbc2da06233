"""``memberByIdentifier`` by a value that identifies no one, or several members, over real
HTTP on the embedded store and an emulated MongoDB: a placeholder (the rules' blocklist or
pattern, or one the data shows on many different people) answers null with
``PLACEHOLDER_IDENTIFIER``; a value several members hold alike (two contacts giving a
family's e-mail) answers null with ``AMBIGUOUS_IDENTIFIER`` and how many, never one of
them picked; a value former for one of them finds the other; a member-bound token gets
its own member among them, else null with no error; the rest of the answer still comes
back."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from pydantic import SecretStr

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.api.test_response_cache import Client
from tests.support.http import serving
from tests.support.mongo import EmulatedClient, load

URL = "mongodb://mongo.example:27017/ambiguity?replicaSet=rs0"
SECRET = "jwt-test-secret-of-32-bytes-long!!"
FAMILY, FORMER, HUB = "the.family@inbox.example", "old.family@inbox.example", "till@shop.example"


def _contact(cid: str, first: str, last: str, born: str, *emails: str, **more: Any) -> Any:
    return {
        "contact_id": cid,
        "first_name": first,
        "last_name": last,
        "emails": list(emails),
        "birth_date": born,
        "updated_at": "2024-01-01T00:00:00Z",
    } | more


BARB = _contact("C-BARB", "Barbara", "Hernan", "1961-02-03", FAMILY, "barb@hernan.example")
WILL = _contact("C-WILL", "William", "Hernandes", "1990-07-08", FAMILY, "will@hernandes.example")
ED = _contact("C-ED", "Edward", "Nobody", "1970-01-01", "no@email.com", "ed@nobody.example")
# Fay gave the old family address, then dropped it; Gus gives it now.
FAY_THEN = _contact("C-FAY", "Fay", "Moved", "1980-03-04", FORMER, "fay@moved.example")
FAY_NOW = FAY_THEN | {"emails": ["fay@moved.example"], "updated_at": "2024-06-01T00:00:00Z"}
GUS = _contact("C-GUS", "Gus", "Stayed", "1955-05-06", FORMER, "gus@stayed.example")


def _on_the_till(n: int) -> Any:
    """The n-th of seven people a till typed its shop's address for (hub_max_people = 6)."""
    first, last = f"Cy{'x' * n}", f"Hub{'y' * n}"
    own = f"{first.lower()}.{last.lower()}@mail.example"
    return _contact(f"H-{n}", first, last, f"19{50 + n}-0{1 + n}-1{n}", HUB, own)


# Pat's contact gives her address; her daughter Kim's own contact does not, but Kim's card's
# web orders are placed under her mother's address (a student ordering from home).
PARENT = "pat.quill@mail-example.org"
PAT = _contact("C-PAT", "Patricia", "Quill", "1968-09-10", PARENT)
KIM = _contact(
    "C-KIM", "Kim", "Quill", "2004-04-05", "kim.q@mail-example.org", loyalty_id="LD55660001"
)
KIMS_ORDERS = [
    {
        "transaction_id": f"T-KIM-{n}",
        "loyalty_id": "LD55660001",
        "email": PARENT,
        "channel": "online",
        "occurred_at": f"2024-0{n}-12T19:00:00Z",
        "amount_cents": 2500,
    }
    for n in (2, 5)
]
CONTACTS = [BARB, WILL, ED, FAY_THEN, FAY_NOW, GUS, PAT, KIM, *map(_on_the_till, range(7))]
TILL_CARD = "LD70011002"
# The till's own card, scanned for every guest: 5 purchases a day on 3 days (till_busy_day 4).
TILL = [
    {
        "transaction_id": f"T-TILL-{day}-{n}",
        "loyalty_id": TILL_CARD,
        "channel": "store",
        "occurred_at": f"2024-03-0{day}T1{n}:00:00Z",
        "amount_cents": 500,
    }
    for day in (1, 2, 3)
    for n in range(5)
]
STORES = ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)]
ED_FIELD = 'ed: memberByIdentifier(kind: CRM_ID, value: "C-ED") { id }'
LOOKUP = f"""query L($kind: IdentifierKind!, $v: String!) {{
  found: memberByIdentifier(kind: $kind, value: $v) {{ id }}
  {ED_FIELD} }}"""


APPS: dict[str, Any] = {}  # each served gateway's app, by its address (its store, counted)


def _token(**claims: object) -> str:
    body = {"sub": "app", "exp": int(time.time()) + 86_400, "scope": "profile:read", **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@contextlib.contextmanager
def _gateway(tmp_path: Path, store: str) -> Iterator[str]:
    folder = tmp_path / "data"
    folder.mkdir()
    lines = {"crm": CONTACTS, "transactions": TILL + KIMS_ORDERS}
    for source in ("crm", "transactions", "web_analytics", "call_center"):
        said = "".join(json.dumps(line) + "\n" for line in lines.get(source, []))
        (folder / f"{source}.jsonl").write_text(said)
    secret = SecretStr(SECRET)
    if store == "sqlite":
        settings = Settings(
            data=folder,
            store=f"sqlite:///{tmp_path / 'id.db'}",
            cache_dir=tmp_path / "cache",
            jwt_secret=secret,
        )
        mongo = None
    else:
        mongo = EmulatedClient()
        asyncio.run(load(folder, URL, mongo))
        settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache", jwt_secret=secret)
    app = create_app(settings, mongo_client=mongo)
    with serving(app) as address:
        APPS[address] = app
        yield address


def _ask(
    client: Client, kind: str, value: str, beside: bool | None = True
) -> tuple[Any, list[dict[str, Any]]]:
    """The lookup's member and its errors; Ed's lookup beside it comes back (``beside``: a
    caller who may read Ed; None: not asked)."""
    query = LOOKUP if beside is not None else LOOKUP.replace(ED_FIELD, "")
    answer = client.http.post(
        "/graphql", json={"query": query, "variables": {"kind": kind, "v": value}}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if beside is not None:
        assert (body["data"]["ed"] is not None) == beside, body  # the rest still comes back
    return body["data"]["found"], body.get("errors", [])


@pytest.fixture(params=STORES)
def served(
    request: pytest.FixtureRequest, tmp_path: Path, connect: Callable[..., Client]
) -> Iterator[Callable[..., Client]]:
    with _gateway(tmp_path, request.param) as address:
        yield lambda **claims: connect(address, _token(**claims))


def _member(client: Client, crm_id: str) -> str:
    found, errors = _ask(client, "CRM_ID", crm_id)
    assert not errors and found is not None
    return str(found["id"])


@pytest.mark.parametrize(
    ("kind", "value", "why"),
    [
        pytest.param("EMAIL", "No@Email.com ", "a placeholder e-mail (blocklist)", id="blocklist"),
        pytest.param("PHONE", "+1 555 555 5555", "a placeholder phone (pattern)", id="pattern"),
        pytest.param("CRM_ID", "0", "a placeholder CRM id (pattern)", id="crm-id-pattern"),
        pytest.param(
            "EMAIL", HUB, "a placeholder e-mail (carried by many different people)", id="data"
        ),
        pytest.param("LOYALTY_ID", TILL_CARD, "a placeholder card (a till's own)", id="till"),
    ],
)
def test_a_placeholder_identifies_no_one_and_says_why(
    served: Callable[..., Client], kind: str, value: str, why: str
) -> None:
    analyst = served()
    # Given Ed, whose contact gives an e-mail the blocklist names, and seven people a till
    # typed its shop's address for: when each placeholder is looked up, for anyone or for
    # a member-bound token (Ed's own app, or the first of the seven's)
    ed, first = _member(analyst, "C-ED"), _member(analyst, "H-0")
    for caller, reads_ed in (
        (analyst, True),
        (served(member_id=ed), True),
        (served(member_id=first), False),
    ):
        found, errors = _ask(caller, kind, value, reads_ed)
        # Then it finds no one, and says so and why
        assert found is None
        [error] = errors
        assert error["extensions"] == {"code": "PLACEHOLDER_IDENTIFIER"}
        assert error["message"] == f"this value identifies no one: {why}"
        assert error["path"] == ["found"]


def test_a_value_two_members_hold_alike_is_ambiguous_not_a_guess(
    served: Callable[..., Client],
) -> None:
    analyst = served()
    barb, will = _member(analyst, "C-BARB"), _member(analyst, "C-WILL")
    assert barb != will  # (two people giving one family address)
    # When the family's address is looked up, then no one of them is picked
    found, [error] = _ask(analyst, "EMAIL", FAMILY.upper())
    assert found is None
    assert error["extensions"] == {"code": "AMBIGUOUS_IDENTIFIER", "members": 2}
    assert "2 members hold this value alike" in error["message"]
    assert "a card number, a CRM id" in error["message"]
    # and the value each holds alone finds each
    assert _ask(analyst, "EMAIL", "barb@hernan.example")[0] == {"id": barb}


def test_a_member_bound_token_gets_its_own_member_among_those_holding_a_value(
    served: Callable[..., Client],
) -> None:
    analyst = served()
    barb, will, ed = (_member(analyst, c) for c in ("C-BARB", "C-WILL", "C-ED"))
    # Barbara's and William's apps find their own member by the family's address
    for own in (barb, will):
        assert _ask(served(member_id=own), "EMAIL", FAMILY, False) == ({"id": own}, [])
    # Ed's app finds no one, and is told nothing of who holds it (no oracle of customers)
    assert _ask(served(member_id=ed), "EMAIL", FAMILY) == (None, [])  # (Ed's is his)


def test_a_value_former_for_one_holder_finds_the_one_it_is_current_for(
    served: Callable[..., Client],
) -> None:
    analyst = served()
    fay, gus = _member(analyst, "C-FAY"), _member(analyst, "C-GUS")
    assert fay != gus
    # Given the old family address Fay's contact dropped and Gus's gives now: it finds Gus
    assert _ask(analyst, "EMAIL", FORMER) == ({"id": gus}, [])
    # Fay's app finds no one by it (hers no more), Gus's app finds him
    assert _ask(served(member_id=fay), "EMAIL", FORMER, False) == (None, [])
    assert _ask(served(member_id=gus), "EMAIL", FORMER, False) == ({"id": gus}, [])


TRIPS = (
    "find_member_carried",
    "ranked_members",
    "find_members",
    "find_member_parts",
    "member_parts",
    "member_carried",
    "resolve_member_id",
    "carriers",
)


def test_a_value_one_member_holds_costs_no_store_trip_more(
    served: Callable[..., Client],
) -> None:
    # Given a gateway whose store's reads are counted
    analyst = served()
    address = str(analyst.http.base_url).removeprefix("http://")
    store = APPS[address].state.gateway.identity.store
    counted: dict[str, int] = {}
    for name in TRIPS:
        original = getattr(store, name)

        def counting(*a: Any, _original: Any = original, _name: str = name, **k: Any) -> Any:
            counted[_name] = counted.get(_name, 0) + 1
            return _original(*a, **k)

        setattr(store, name, counting)
    barb = _member(analyst, "C-BARB")
    counted.clear()
    # When a value only Barbara holds is looked up
    assert _ask(analyst, "EMAIL", "barb@hernan.example", beside=None)[0] == {"id": barb}
    # Then whether others hold it alike came with the lookup's own read: no read of another
    # member, no second look for the value's holders (the ``ed`` field beside is not asked)
    sqlite = {"find_member_carried": 1}
    # (MongoDB: the port's lookup, its holders ranked in the read that finds her)
    mongodb = {"find_member_carried": 1, "ranked_members": 1, "member_parts": 1, "carriers": 1}
    assert counted in (sqlite, mongodb), counted


def test_an_address_a_contact_gives_finds_her_not_a_card_it_was_ordered_under(
    served: Callable[..., Client],
) -> None:
    analyst = served()
    pat, kim = _member(analyst, "C-PAT"), _member(analyst, "C-KIM")
    assert pat != kim  # (the engine keeps a mother and her daughter apart)
    # When the mother's address is looked up: it is hers on file; the daughter's card's web
    # orders under it say where the daughter ordered from, not who she is
    assert _ask(analyst, "EMAIL", PARENT) == ({"id": pat}, [])
    # Kim's own app still finds Kim by it (her token says who she is), Pat's finds Pat
    assert _ask(served(member_id=kim), "EMAIL", PARENT, False) == ({"id": kim}, [])
    assert _ask(served(member_id=pat), "EMAIL", PARENT, False) == ({"id": pat}, [])
    # and her card finds her
    assert _ask(analyst, "LOYALTY_ID", "LD55660001") == ({"id": kim}, [])
