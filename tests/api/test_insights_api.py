"""Insights over HTTP: fresh after ingestion, batched through loaders, pageable by segment."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.identity.store.port import StoreError
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl

NIA = {
    "contact_id": "C-NIA",
    "first_name": "Nia",
    "last_name": "Park",
    "emails": ["nia.park@mail.com"],
    "phones": ["+1 415 555 0199"],
    "birth_date": "1990-09-09",
    "consents": {"email": True, "sms": True},
    "updated_at": "2026-10-01T00:00:00Z",
}
SIGNUP = {
    "event_id": "E-NIA-1",
    "anonymous_id": "a-nia",
    "user_id": "C-NIA",
    "type": "identify",
    "name": "Logged In",
    "occurred_at": "2026-10-02T00:00:00Z",
}
REDEEMED = {
    "event_id": "E-NIA-2",
    "anonymous_id": "a-nia",
    "type": "track",
    "name": "Offer Redeemed",
    "occurred_at": "2026-11-20T12:00:00Z",
    "properties": {"offer": "signup-bonus"},
}

NIA_QUERY = """{ memberByIdentifier(kind: CRM_ID, value: "C-NIA") {
  offers { offer redeemed redeemedAt }
  activity(first: 5) { totalCount edges { node { kind at webEvent { name } } } }
  consents { channel granted source } reachableChannels
  profile { email { value } lineage { field value source record } } } }"""


def test_a_redeemed_bonus_shows_in_the_next_query(client: TestClient) -> None:
    assert client.post("/ingest/crm", json=[NIA]).status_code == 200
    assert client.post("/ingest/web_analytics", json=[SIGNUP]).status_code == 200
    before = gql(client, NIA_QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert before["offers"] == []
    # The member redeems the sign-up bonus; the SMS reminder service asks again.
    assert client.post("/ingest/web_analytics", json=[REDEEMED]).status_code == 200
    after = gql(client, NIA_QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert after["offers"] == [
        {"offer": "signup-bonus", "redeemed": True, "redeemedAt": "2026-11-20T12:00:00+00:00"}
    ]
    newest = after["activity"]["edges"][0]["node"]
    assert newest["kind"] == "WEB" and newest["webEvent"]["name"] == "Offer Redeemed"
    assert {c["channel"]: c["granted"] for c in after["consents"]} == {
        "EMAIL": True,
        "SMS": True,
        "PUSH": None,
        "PHONE": None,
    }
    assert after["reachableChannels"] == ["EMAIL", "SMS"]
    lineage = {item["field"]: item for item in after["profile"]["lineage"]}
    assert lineage["first_name"] == {
        "field": "first_name",
        "value": "Nia",
        "source": "CRM",
        "record": "C-NIA",
    }


PAGE = """query ($first: Int!) { members(first: $first) { edges { node {
  profile { firstName email { value } } loyalty { pointsBalance tier rolling12mSpendCents }
  rfm { recency frequency monetary engagement } segments } } } }"""


def test_a_page_of_100_members_with_insights_makes_constant_backend_calls(
    client: TestClient,
) -> None:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]

    def calls() -> dict[str, int]:
        return {name.value: conn.calls for name, conn in gateway.sources.items()}

    gql(client, "{ segmentCounts { segment members } }")  # the population is scored once
    made = {}
    for first in (10, 100):
        before = calls()
        answer = gql(client, PAGE, first=first)
        assert "errors" not in answer, answer
        assert len(answer["data"]["members"]["edges"]) == first  # type: ignore[index]
        made[first] = {k: v - before[k] for k, v in calls().items()}
    # Ten times the members, the same calls: a batch per source per resolver level.
    assert made[100] == made[10]
    assert all(n <= 3 for n in made[100].values()), made


def test_members_page_through_a_segment(client: TestClient) -> None:
    counts = {
        c["segment"]: c["members"]
        for c in gql(client, "{ segmentCounts { segment members } }")["data"]["segmentCounts"]
    }  # type: ignore[index]
    segment = max(counts, key=lambda s: counts[s])
    assert counts[segment] > 0
    seen: list[str] = []
    after = None
    while True:
        page = gql(
            client,
            """query ($s: Segment!, $after: String) { members(first: 7, after: $after, filter: {segment: $s}) {
            totalCount edges { node { id segments } } pageInfo { hasNextPage endCursor } } }""",
            s=segment,
            after=after,
        )["data"]["members"]  # type: ignore[index]
        assert page["totalCount"] == counts[segment]
        seen += [e["node"]["id"] for e in page["edges"] if segment in e["node"]["segments"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == counts[segment]


def test_segment_thresholds_come_from_settings(settings: object) -> None:
    from membergraph.app import create_app
    from membergraph.settings import Settings

    assert isinstance(settings, Settings)
    counts = {}
    for dormant in (30, 3000):
        tuned = settings.model_copy(
            update={"segments": settings.segments.model_copy(update={"dormant_days": dormant})}
        )
        with TestClient(create_app(tuned), base_url="http://127.0.0.1") as client:
            answer = gql(client, "{ segmentCounts { segment members } }")
        counts[dormant] = {c["segment"]: c["members"] for c in answer["data"]["segmentCounts"]}  # type: ignore[index]
    assert counts[30]["ZOMBIE"] > counts[3000]["ZOMBIE"] == 0


@pytest.fixture
def dated(settings: Settings) -> Settings:
    """The tests' settings, scored as of a fixed day: an update and a rebuild then agree."""
    return settings.model_copy(update={"reference_date": date(2026, 11, 21)})


@pytest.fixture
def card(data_dir: Path) -> str:
    """A loyalty card of the demo data, with purchases."""
    lines = read_jsonl(data_dir / "transactions.jsonl")
    return next(str(line["loyalty_id"]) for line in lines if line.get("loyalty_id"))


def big_purchase(transaction_id: str, card: str, at: str) -> dict[str, object]:
    """A purchase on ``card`` large enough to rank its member first in spend."""
    return {
        "transaction_id": transaction_id,
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": at,
        "amount_cents": 9_900_000,
    }


SCORES = """query ($card: String!) { memberByIdentifier(kind: LOYALTY_ID, value: $card) {
  id rfm { recency frequency monetary engagement } segments }
  segmentCounts { segment members } }"""


def test_a_purchase_rescores_its_member_without_reading_everyone_again(
    dated: Settings, card: str
) -> None:
    # A personalization service asks for segments while purchases stream in: each purchase
    # must show in the next answer, without the whole population measured again each time.
    with TestClient(create_app(dated), base_url="http://127.0.0.1") as client:
        keeper = client.app.state.gateway.scores  # type: ignore[attr-defined]
        before = gql(client, SCORES, card=card)["data"]
        measured = keeper.measured
        purchase = big_purchase("T-BIG-SPEND", card, "2026-11-21T10:00:00Z")
        assert client.post("/ingest/transactions", json=[purchase]).status_code == 200
        after = gql(client, SCORES, card=card)["data"]
        member = after["memberByIdentifier"]  # type: ignore[index]
        assert member["rfm"] != before["memberByIdentifier"]["rfm"]  # type: ignore[index]
        assert member["rfm"]["monetary"] == 5 and member["rfm"]["recency"] == 5
        # Only the member the purchase named was measured again, not the population.
        assert keeper.measured - measured == 1
        # The same answer as figures measured whole from the sources.
        client.portal.call(keeper.rebuild)  # type: ignore[union-attr]
        assert gql(client, SCORES, card=card)["data"] == after
        assert keeper.measured - measured > 50  # the whole rebuild did measure everyone


def _kept(client: TestClient) -> dict[str, object]:
    """Every member's kept row, scores and segments, as the store holds them."""
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    keeper = gateway.scores

    async def read() -> dict[str, object]:
        await keeper.catch_up()
        ids: list[str] = []
        after = None
        while page := await gateway.identity.store.page_members(after, 500):
            ids += page
            after = page[-1]
        return dict(zip(ids, await keeper.metrics.scored(ids), strict=True))

    return client.portal.call(read)  # type: ignore[union-attr,no-any-return]


def test_members_merged_by_an_ingest_are_scored_as_a_whole_rebuild_scores_them(
    dated: Settings,
) -> None:
    contact = {
        "contact_id": "C-ADA",
        "first_name": "Ada",
        "last_name": "Bridge",
        "emails": ["ada@mail.com"],
        "updated_at": "2026-11-01T00:00:00Z",
    }
    online = {  # an order with no card: an online customer of its own
        "transaction_id": "T-ADA",
        "email": "ada.work@mail.com",
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1234,
    }
    member_of = """query ($email: String!) {
      memberByIdentifier(kind: EMAIL, value: $email) { id } }"""
    counts = "{ segmentCounts { segment members } }"
    with TestClient(create_app(dated), base_url="http://127.0.0.1") as client:
        assert client.post("/ingest/crm", json=[contact]).status_code == 200
        assert client.post("/ingest/transactions", json=[online]).status_code == 200
        gql(client, counts)  # scored, with Ada twice
        ids = {
            gql(client, member_of, email=e)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
            for e in ("ada@mail.com", "ada.work@mail.com")
        }
        assert len(ids) == 2
        # Ada gives the CRM her work address too: her two members merge, one ID retires.
        update = {**contact, "emails": ["ada@mail.com", "ada.work@mail.com"]}
        assert client.post("/ingest/crm", json=[update]).status_code == 200
        merged = gql(client, member_of, email="ada.work@mail.com")["data"]
        survivor = merged["memberByIdentifier"]["id"]  # type: ignore[index]
        answer = gql(client, counts)["data"]
        incremental = _kept(client)
        assert not (ids - {survivor}) & incremental.keys()
        kept = incremental[survivor]
        assert kept is not None and kept.row.figures["monetary_cents"] == 1234  # type: ignore[attr-defined]
        client.portal.call(client.app.state.gateway.scores.rebuild)  # type: ignore[attr-defined,union-attr]
        assert gql(client, counts)["data"] == answer
        assert _kept(client) == incremental  # the same members, figures, scores, segments


def test_the_gateway_holds_no_member_figures(dated: Settings) -> None:
    # Scores are the store's: after start and a question, the process keeps no figures.
    with TestClient(create_app(dated), base_url="http://127.0.0.1") as client:
        gql(client, "{ segmentCounts { segment members } }")
        keeper = client.app.state.gateway.scores  # type: ignore[attr-defined]
        held = [v for v in vars(keeper).values() if isinstance(v, dict | list | set)]
        assert held == []


def test_a_purchase_whose_identity_step_failed_still_counts_once_sent_again(
    dated: Settings, card: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    purchase = big_purchase("T-RETRIED", card, "2026-11-21T10:00:00Z")
    with TestClient(
        create_app(dated), base_url="http://127.0.0.1", raise_server_exceptions=False
    ) as client:
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        before = gql(client, SCORES, card=card)["data"]["memberByIdentifier"]["rfm"]  # type: ignore[index]

        async def down(*_: object, **__: object) -> None:
            raise StoreError("the identity store is down")

        with monkeypatch.context() as patch:
            patch.setattr(gateway.identity, "ingest", down)
            failed = client.post("/ingest/transactions", json=[purchase])
        assert failed.status_code >= 500
        again = client.post("/ingest/transactions", json=[purchase])
        assert again.status_code == 200 and again.json()["lines"][0]["status"] == "unchanged"
        after = gql(client, SCORES, card=card)["data"]["memberByIdentifier"]["rfm"]  # type: ignore[index]
        assert after != before and after["monetary"] == 5


def test_a_purchase_made_after_the_scores_were_built_counts_at_once(
    settings: Settings, card: str
) -> None:
    # No reference date: scores are as of now, and now moves on after the population was
    # built. A purchase made since must count in the very next answer.
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        gql(client, SCORES, card=card)  # built as of now
        purchase = big_purchase("T-JUST-NOW", card, datetime.now(UTC).isoformat())
        assert client.post("/ingest/transactions", json=[purchase]).status_code == 200
        rfm = gql(client, SCORES, card=card)["data"]["memberByIdentifier"]["rfm"]  # type: ignore[index]
        assert rfm["recency"] == 5 and rfm["monetary"] == 5


def test_an_offer_sent_by_sms_and_used_at_the_till_is_redeemed_everywhere(
    client: TestClient,
) -> None:
    # Given Nia, sent a bonus by SMS,
    assert client.post("/ingest/crm", json=[NIA]).status_code == 200
    assert client.post("/ingest/web_analytics", json=[SIGNUP]).status_code == 200
    sent = {
        "event_id": "E-NIA-SENT",
        "anonymous_id": "a-nia",
        "type": "track",
        "name": "Offer Sent",
        "occurred_at": "2026-11-18T09:00:00Z",
        "properties": {"offer": "BONUS-10", "channel": "sms", "expires_at": "2026-12-31T00:00:00Z"},
    }
    assert client.post("/ingest/web_analytics", json=[sent]).status_code == 200
    ledger = """{ memberByIdentifier(kind: CRM_ID, value: "C-NIA") { id
      offers { offer state sentOn redeemed redeemedVia redeemedRef expiresAt } } }"""
    before = gql(client, ledger)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert before["offers"] == [
        {
            "offer": "BONUS-10",
            "state": "SENT",
            "sentOn": ["sms"],
            "redeemed": False,
            "redeemedVia": None,
            "redeemedRef": None,
            "expiresAt": "2026-12-31T00:00:00+00:00",
        }
    ]
    cursor = gql(client, "{ changes(first: 1000) { pageInfo { endCursor } } }")
    last = cursor["data"]["changes"]["pageInfo"]["endCursor"]  # type: ignore[index]
    # when she uses it at the till with her e-mail (an online order), the code typed in
    # lower case (adversarial pass, finding 18: the bonus stayed SENT, the reminder went), then
    till = {
        "transaction_id": "T-NIA-BONUS",
        "email": "nia.park@mail.com",
        "channel": "store",
        "store_id": "S-7",
        "occurred_at": "2026-11-20T15:00:00Z",
        "amount_cents": 4200,
        "offer_code": "bonus-10 ",  # as the till keyed it: the case and a space differ
    }
    assert client.post("/ingest/transactions", json=[till]).status_code == 200
    after = gql(client, ledger)["data"]["memberByIdentifier"]  # type: ignore[index]
    [offer] = after["offers"]
    assert offer["state"] == "REDEEMED" and offer["redeemed"] is True
    assert (offer["redeemedVia"], offer["redeemedRef"]) == ("store", "T-NIA-BONUS")
    # and the change feed says so to every channel that follows it.
    news = gql(
        client,
        "query ($after: String) { changes(after: $after) { edges { node { kind memberIds lineId } } } }",
        after=last,
    )["data"]["changes"]["edges"]  # type: ignore[index]
    assert {"kind": "OFFER_REDEEMED", "memberIds": [after["id"]], "lineId": "T-NIA-BONUS"} in [
        e["node"] for e in news
    ]
