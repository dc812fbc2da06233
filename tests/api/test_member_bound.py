"""A frontend app's token bound to one member sees that member only, everywhere; a steward's
reason is free text, masked like other personal text.

Jane and Bob are two customers. A steward merged them by mistake and undid it, so Jane's
history tells of Bob's records. Jane's app holds a JWT bound to her member with every scope
a token can carry: the binding, not the scopes, decides what it sees.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient, WebSocketTestSession

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.sockets import subscribed

SECRET = "jwt-test-secret-of-32-bytes-long!!"
EVERY_SCOPE = "profile:read pii:read analytics:read identity:write ingest:write"
REASON = "Jane Doe says bob.roe@mail.com is her husband, call +1 415 555 0199"
JANE = {"contact_id": "C-JANE", "first_name": "Jane", "emails": ["jane.doe@mail.com"]}
BOB = {
    "contact_id": "C-BOB",
    "first_name": "Bob",
    "emails": ["bob.roe@mail.com"],
    "loyalty_id": "LD22220002",
}
BOB_CARD = {
    "transaction_id": "T-BOB",
    "loyalty_id": "LD22220002",
    "channel": "store",
    "occurred_at": "2026-10-01T00:00:00Z",
    "amount_cents": 100,
}
# What Jane's app must never read: Bob's contact, card, e-mail and the steward's words.
BOBS = ("C-BOB", "LD22220002", "bob.roe", "Bob", "husband")


def _token(**claims: object) -> str:
    # A day: PERSONALIZATION and ANALYST_PII are made as the suite is collected, and a full
    # run on a loaded machine (10 min) outlived a 600 s token before reaching their tests.
    body = {"sub": "app", "exp": int(time.time()) + 86_400, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@dataclass
class World:
    client: TestClient
    jane: str
    bob: str
    steward: str
    jane_app: str

    def ask(self, token: str, query: str) -> dict[str, Any]:
        response = self.client.post(
            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def member_of(self, crm_id: str) -> dict[str, Any]:
        query = f"""{{ memberByIdentifier(kind: CRM_ID, value: "{crm_id}") {{
            id records {{ source key }} }} }}"""
        return self.ask(self.steward, query)["data"]["memberByIdentifier"]  # type: ignore[no-any-return]


@pytest.fixture
def world(settings: Settings, data_dir: Path) -> Iterator[World]:
    yield from served_world(settings, data_dir, [JANE, BOB])


def served_world(
    settings: Settings, data_dir: Path, contacts: list[dict[str, object]]
) -> Iterator[World]:
    """Jane and Bob (``contacts``, and Bob's card) served with JWTs: a steward's, Jane's app's."""
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(b"".join(orjson.dumps(line) + b"\n" for line in contacts))
    with (data_dir / "transactions.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(BOB_CARD) + b"\n")
    secured = settings.model_copy(update={"jwt_secret": SecretStr(SECRET)})
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        steward = _token(sub="steward-sue", scope=EVERY_SCOPE)
        world = World(client, "", "", steward, "")
        world.jane, world.bob = world.member_of("C-JANE")["id"], world.member_of("C-BOB")["id"]
        world.jane_app = _token(sub="jane-app", scope=EVERY_SCOPE, member_id=world.jane)
        yield world


def _merge_and_undo(world: World) -> None:
    """The steward's mistake and its undoing: Jane's history now tells of Bob's records."""
    linked = world.ask(
        world.steward,
        f"""mutation {{ linkRecords(a: {{source: CRM, key: "C-JANE"}},
        b: {{source: CRM, key: "C-BOB"}}, reason: "{REASON}") {{
        identityHistory {{ id kind }} }} }}""",
    )
    [merged] = linked["data"]["linkRecords"]
    event = next(e["id"] for e in merged["identityHistory"] if e["kind"] == "merged")
    undone = world.ask(
        world.steward, f'mutation {{ undoMerge(eventId: "{event}", reason: "wrong") {{ id }} }}'
    )
    assert "errors" not in undone, undone
    assert world.member_of("C-BOB")["id"] == world.bob != world.jane


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ identityConflicts { edges { node { kind } } } }", id="identity-conflicts"),
        pytest.param("{ segmentCounts { segment members } }", id="segment-counts"),
        pytest.param(
            """mutation { linkRecords(a: {source: CRM, key: "C-JANE"},
            b: {source: CRM, key: "C-BOB"}, reason: "mine") { id } }""",
            id="link-a-strangers-record",
        ),
        pytest.param(
            """mutation { linkRecords(a: {source: CRM, key: "C-JANE"},
            b: {source: CRM, key: "C-JANE"}, reason: "mine") { id } }""",
            id="link-own-records",
        ),
        pytest.param(
            """mutation { splitMember(memberId: "{jane}", records: [{source: CRM,
            key: "C-JANE"}], reason: "mine") { id } }""",
            id="split-own-member",
        ),
        pytest.param(
            'mutation { undoMerge(eventId: "1", reason: "mine") { id } }', id="undo-a-merge"
        ),
    ],
)
def test_a_member_bound_token_is_refused_what_spans_members(world: World, query: str) -> None:
    answer = world.ask(world.jane_app, query.replace("{jane}", world.jane))

    assert _codes(answer) == ["FORBIDDEN"]
    assert answer["errors"][0]["message"] == "this token may read only its own member"
    assert world.member_of("C-BOB")["id"] == world.bob, "Bob is still his own member"


@pytest.mark.parametrize(
    ("kind", "value", "unknown"),
    [
        pytest.param("EMAIL", "Bob.Roe@mail.com", "nobody@nowhere.example", id="email"),
        pytest.param("LOYALTY_ID", "ld-2222-0002", "LD99990009", id="card"),
        pytest.param("CRM_ID", "C-BOB", "C-NOBODY", id="contact"),
    ],
)
def test_another_members_identifier_answers_as_an_unknown_one(
    world: World, kind: str, value: str, unknown: str
) -> None:
    lookup = '{{ memberByIdentifier(kind: {kind}, value: "{value}") {{ id }} }}'

    someone = world.ask(world.jane_app, lookup.format(kind=kind, value=value))
    nobody = world.ask(world.jane_app, lookup.format(kind=kind, value=unknown))
    herself = world.ask(world.jane_app, lookup.format(kind="EMAIL", value="jane.doe@mail.com"))

    # Whole answers, extensions too: nothing tells one apart from the other.
    assert someone == nobody
    assert someone["data"] == {"memberByIdentifier": None}
    assert herself["data"] == {"memberByIdentifier": {"id": world.jane}}


def _link_and_split(world: World) -> None:
    """A steward's link of Jane and Bob, then a split of Bob's records off (user27, r5)."""
    linked = world.ask(
        world.steward,
        f"""mutation {{ linkRecords(a: {{source: CRM, key: "C-JANE"}},
        b: {{source: CRM, key: "C-BOB"}}, reason: "{REASON}") {{ id }} }}""",
    )
    [merged] = linked["data"]["linkRecords"]
    split = world.ask(
        world.steward,
        f"""mutation {{ splitMember(memberId: "{merged["id"]}", records: [{{source: CRM,
        key: "C-BOB"}}, {{source: TRANSACTIONS, key: "loyalty:LD22220002"}}], reason: "two") {{
        id }} }}""",
    )
    assert "errors" not in split, split
    assert world.member_of("C-BOB")["id"] != world.member_of("C-JANE")["id"]


def _left_out(value: Any) -> list[Any]:
    """What in an event's evidence still tells of another member: in a list, a value read
    ``***`` or a record (``[source, key]``) not Jane's, alone or in a pair."""
    found: list[Any] = []
    if isinstance(value, dict):
        for item in value.values():
            found += _left_out(item)
    elif isinstance(value, list):
        for item in value:
            if item == "***" or (isinstance(item, list) and "***" in item):
                found.append(item)
            found += _left_out(item)
    return found


# A steward's two ways of joining Jane's records and Bob's, then parting them.
STORIES = pytest.mark.parametrize(
    "story",
    [
        pytest.param(_merge_and_undo, id="merge-then-undo"),
        pytest.param(_link_and_split, id="link-then-split"),
    ],
)


@STORIES
def test_her_history_names_none_of_another_members_records(world: World, story: Any) -> None:
    story(world)
    jane = world.member_of("C-JANE")["id"]
    query = f"""{{ member(id: "{jane}") {{ identityHistory {{
        kind reason evidence records {{ source key }} }} }} }}"""

    seen_by_app = world.ask(world.jane_app, query)["data"]["member"]["identityHistory"]
    seen_by_steward = world.ask(world.steward, query)["data"]["member"]["identityHistory"]

    text = orjson.dumps(seen_by_app).decode()
    assert not [bob for bob in BOBS if bob in text], text
    [merged] = [e for e in seen_by_app if e["kind"] == "merged"]
    assert merged["reason"] == "***", "pii:read or not, a steward's words are not for the app"
    # Bob's records are left out, not masked: how many, of which sources, is Bob's too
    sides = merged["evidence"]["merged_records"] + merged["evidence"]["into_records"]
    assert sides == [["crm", "C-JANE"]]
    assert not [
        (e["kind"], _left_out(e["evidence"])) for e in seen_by_app if _left_out(e["evidence"])
    ]
    assert jane in (merged["evidence"]["merged_id"], merged["evidence"]["into_id"])
    assert "***" in (merged["evidence"]["merged_id"], merged["evidence"]["into_id"])
    text = orjson.dumps(seen_by_steward).decode()
    assert "loyalty:LD22220002" in text and "husband" in text, "a steward sees the whole story"


@STORIES
def test_her_access_export_names_none_of_another_persons_records(world: World, story: Any) -> None:
    # Given a steward's merge of Jane and Bob, undone, or a link split again
    story(world)
    jane = world.member_of("C-JANE")["id"]
    # When a privacy admin exports Jane's data for her (an access request)
    admin = _token(sub="privacy-pat", scope="privacy:admin")
    answer = world.ask(admin, f'{{ exportMember(id: "{jane}") }}')
    assert "errors" not in answer, answer
    export = answer["data"]["exportMember"]
    # Then her history tells what happened to her records, and nothing of Bob's records
    # (the steward's reason is kept as written: its words are the privacy team's to read)
    history = [{**e, "reason": None} for e in export["identity_history"]]
    assert any(e["kind"] == "merged" for e in history), history
    text = orjson.dumps(history).decode()
    assert not [bob for bob in ("C-BOB", "LD22220002", "bob.roe") if bob in text], text
    assert ["crm", "C-JANE"] in [list(r) for e in history for r in e["records"]]


@contextmanager
def _subscribed(world: World, token: str, query: str) -> Iterator[WebSocketTestSession]:
    with world.client.websocket_connect(
        "/graphql",
        subprotocols=["graphql-transport-ws"],
        headers={"authorization": f"Bearer {token}"},
    ) as session:
        subscribed(session, query)
        yield session


@pytest.mark.parametrize(
    "names_bob",
    [pytest.param(True, id="another-member"), pytest.param(False, id="every-member")],
)
def test_a_member_bound_token_follows_no_other_members_changes(
    world: World, names_bob: bool
) -> None:
    argument = f'(id: "{world.bob}")' if names_bob else ""
    query = f"subscription {{ memberChanged{argument} {{ kind memberIds }} }}"
    with _subscribed(world, world.jane_app, query) as session:
        _merge_and_undo(world)  # were it listening, Bob's changes would come first
        refused = session.receive_json()

    assert refused["type"] == "error"
    assert [e["extensions"]["code"] for e in refused["payload"]] == ["FORBIDDEN"]


PERSONALIZATION = _token(sub="p13n", scope="profile:read")
ANALYST_PII = _token(sub="ann", scope="profile:read analytics:read pii:read")


def test_a_stewards_reason_is_free_text_masked_without_pii_read(world: World) -> None:
    _merge_and_undo(world)
    query = f"""{{ jane: member(id: "{world.jane}") {{ ...history }}
        bob: member(id: "{world.bob}") {{ ...history }} }}
        fragment history on Member {{ identityHistory {{ kind reason evidence }} }}"""

    def reasons(token: str) -> tuple[set[str], set[str]]:
        both = world.ask(token, query)["data"]
        history = both["jane"]["identityHistory"] + both["bob"]["identityHistory"]
        stated = {e["reason"] for e in history if e["reason"] is not None}
        return stated, {e["evidence"]["reason"] for e in history if "reason" in e["evidence"]}

    assert reasons(PERSONALIZATION) == ({"***"}, {"***"})
    assert reasons(ANALYST_PII) == ({REASON, "wrong"}, {REASON}), "the manual link's evidence"


def test_a_reason_pushed_to_subscribers_is_masked_without_pii_read(world: World) -> None:
    query = f'subscription {{ memberChanged(id: "{world.bob}") {{ kind reason }} }}'
    with (
        _subscribed(world, PERSONALIZATION, query) as masked,
        _subscribed(world, ANALYST_PII, query) as shown,
    ):
        time.sleep(0.2)  # both subscriptions listen before the change
        _merge_and_undo(world)
        pushed = [session.receive_json()["payload"]["data"] for session in (masked, shown)]

    assert pushed == [
        {"memberChanged": {"kind": "MERGED", "reason": "***"}},
        {"memberChanged": {"kind": "MERGED", "reason": REASON}},
    ]


@pytest.mark.parametrize(
    "member_id",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param(None, id="null"),
    ],
)
def test_a_token_bound_to_no_member_is_not_a_credential(world: World, member_id: object) -> None:
    token = _token(scope="profile:read", member_id=member_id)

    response = world.client.post(
        "/graphql",
        json={"query": "{ members { totalCount } }"},
        headers={"authorization": f"Bearer {token}"},
    )

    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "member_id" in error["message"]


def test_a_member_bound_token_may_push_no_source_line(world: World) -> None:
    # Given Jane's app token, ingest:write among its scopes, and Bob's online account
    bobs_order = {**BOB_CARD, "transaction_id": "T-BOB-WEB", "loyalty_id": None}
    bobs_order |= {"email": "bob.roe@mail.com", "channel": "online"}
    world.client.post(
        "/ingest/transactions",
        json=[bobs_order],
        headers={"authorization": f"Bearer {world.steward}"},
    )
    # When it pushes Jane's own contact with Bob's e-mail added
    takeover = {**JANE, "emails": ["jane.doe@mail.com", "bob.roe@mail.com"]}
    sent = world.client.post(
        "/ingest/crm",
        json=[{**takeover, "updated_at": "2026-12-01T00:00:00Z"}],
        headers={"authorization": f"Bearer {world.jane_app}"},
    )
    # Then it is refused, nothing is taken, and her member holds none of Bob's purchases
    assert sent.status_code == 403
    assert "bound to one member" in sent.json()["error"]
    assert world.member_of("C-BOB")["id"] == world.bob
    mine = world.ask(
        world.jane_app,
        f'{{ member(id: "{world.jane}") {{ records {{ key }} transactions {{ totalCount }} }} }}',
    )["data"]["member"]
    assert mine["transactions"]["totalCount"] == 0
    assert not any("bob" in r["key"] for r in mine["records"])


def test_a_token_of_a_member_merged_away_reads_the_member_it_redirects_to(world: World) -> None:
    # Given a token for each of two members, then the two merged (one ID redirects)
    linked = world.ask(
        world.steward,
        """mutation { linkRecords(a: {source: CRM, key: "C-JANE"},
        b: {source: CRM, key: "C-BOB"}, reason: "one person") { id } }""",
    )
    assert "errors" not in linked, linked
    [survivor] = [m["id"] for m in linked["data"]["linkRecords"]]
    merged_away = world.bob if survivor == world.jane else world.jane
    for bound in (merged_away, survivor):
        token = _token(sub="app", scope="profile:read", member_id=bound)
        # When it asks by either ID, or by the e-mail of either contact
        for asked in (merged_away, survivor):
            answer = world.ask(token, f'{{ member(id: "{asked}") {{ id }} }}')
            # Then it reads the surviving member, not FORBIDDEN
            assert answer["data"] == {"member": {"id": survivor}}, (bound, asked, answer)
        for email in ("jane.doe@mail.com", "bob.roe@mail.com"):
            lookup = f'{{ memberByIdentifier(kind: EMAIL, value: "{email}") {{ id }} }}'
            found = world.ask(token, lookup)["data"]
            assert found == {"memberByIdentifier": {"id": survivor}}
    # And viewer answers the member the token now reads, and the claim it carries
    for bound in (merged_away, survivor):
        token = _token(sub="app", scope="profile:read", member_id=bound)
        viewer = world.ask(token, "{ viewer { memberId tokenMemberId } }")["data"]["viewer"]
        assert viewer == {"memberId": survivor, "tokenMemberId": bound}, (bound, viewer)
    # And a subscription of the token for the merged-away ID may follow the survivor
    token = _token(sub="app", scope="profile:read", member_id=merged_away)
    with world.client.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"]
    ) as socket:
        auth = {"Authorization": f"Bearer {token}"}
        socket.send_json({"type": "connection_init", "payload": auth})
        assert socket.receive_json()["type"] == "connection_ack"
        query = f'subscription {{ memberChanged(id: "{survivor}", after: "0") {{ kind }} }}'
        socket.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        first = socket.receive_json()
        assert first["type"] == "next" and "errors" not in first["payload"], first


def test_her_changes_name_no_other_member(world: World) -> None:
    # Given Jane merged with Bob by mistake, and the merge undone
    _merge_and_undo(world)
    query = f'subscription {{ memberChanged(id: "{world.jane}", after: "0") {{ kind memberIds }} }}'
    # When her app reads her changes from the start
    with _subscribed(world, world.jane_app, query) as session:
        heard = []
        while not {"MERGED", "SPLIT"} <= {h["kind"] for h in heard}:
            message = session.receive_json()
            assert message["type"] == "next", message
            heard.append(message["payload"]["data"]["memberChanged"])
    # Then the merge and the split name her, and Bob's ID reads *** as in her history
    told = [h for h in heard if h["kind"] in ("MERGED", "SPLIT")]
    assert all(world.jane in h["memberIds"] for h in told), told
    assert world.bob not in orjson.dumps(heard).decode()
    assert all("***" in h["memberIds"] for h in told), told


def test_a_cached_answer_is_never_served_to_a_token_bound_to_another_member(
    world: World,
) -> None:
    # Two apps with the same scopes (personal data masked, so answers may be cached), each
    # bound to its own member, send the very same request.
    jane_app = _token(sub="jane-app", scope="profile:read", member_id=world.jane)
    bob_app = _token(sub="bob-app", scope="profile:read", member_id=world.bob)
    query = '{ memberByIdentifier(kind: EMAIL, value: "jane.doe@mail.com") { id } }'
    hits = _cache_hits(world)
    for _ in range(2):
        assert world.ask(jane_app, query)["data"] == {"memberByIdentifier": {"id": world.jane}}
    assert _cache_hits(world) == hits + 1  # Jane's answer is cached

    assert world.ask(bob_app, query)["data"] == {"memberByIdentifier": None}
    assert _cache_hits(world) == hits + 1


def _cache_hits(world: World) -> int:
    metrics = world.client.get("/metrics", headers={"authorization": f"Bearer {world.steward}"})
    [line] = [
        x for x in metrics.text.splitlines() if x.startswith("membergraph_response_cache_hits")
    ]
    return int(float(line.split()[-1]))


def test_a_member_bound_token_reads_no_metrics(world: World) -> None:
    # When Jane's app (a token every customer's browser holds) asks for the metrics
    said = world.client.get("/metrics", headers={"authorization": f"Bearer {world.jane_app}"})
    # Then it is refused, saying why: they count every member and every route's traffic
    assert said.status_code == 403
    assert "bound to a member" in said.json()["error"]
    assert "membergraph_" not in said.text
    # And an operator's credential reads them
    scraped = world.client.get("/metrics", headers={"authorization": f"Bearer {world.steward}"})
    assert scraped.status_code == 200 and "membergraph_identity" in scraped.text
