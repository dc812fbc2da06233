"""The response cache over real HTTP: never an answer after a change to a member it read (on
one process and across two), never one caller's answer to a caller who sees differently,
within its bound, with ETags on GET."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving
from tests.support.serve import serve_ready, until

KEYS = {
    "personalization-key-0001": {
        "name": "personalization",
        "scopes": ["profile:read", "ingest:write", "identity:write"],
    },
    "pii-reader-key-000000001": {"name": "dpo", "scopes": ["profile:read", "pii:read"]},
}
MASKED, UNMASKED = "personalization-key-0001", "pii-reader-key-000000001"
GRAPHQL_JSON = "application/graphql-response+json"
CONTACT = {
    "contact_id": "C-CACHE",
    "first_name": "Cas",
    "last_name": "Che",
    "emails": ["cas.che@cheshire-cats.net"],
    "loyalty_id": "LD-5555-0001",
}
PROFILE = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id profile { email { value } } loyalty { pointsBalance } records { source key } } }"""


def _purchase(n: int, points: int) -> dict[str, object]:
    return {
        "transaction_id": f"T-CACHE-{n}",
        "loyalty_id": "LD55550001",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": points,
    }


class Client:
    """One caller of a served gateway."""

    def __init__(self, address: str, key: str | None = MASKED) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = httpx.Client(base_url=f"http://{address}", headers=headers, timeout=10)

    def profile(self, email: str = "cas.che@cheshire-cats.net") -> dict[str, object] | None:
        answer = self.http.post("/graphql", json={"query": PROFILE, "variables": {"e": email}})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert "errors" not in body, body
        return body["data"]["memberByIdentifier"]  # type: ignore[no-any-return]

    def ingest(self, source: str, *lines: dict[str, object]) -> None:
        assert self.http.post(f"/ingest/{source}", json=list(lines)).status_code == 200

    def cache(self, name: str) -> int:
        return self.figures(f"response_cache_{name}")[0]

    def figures(self, *names: str) -> tuple[int, ...]:
        """``membergraph_<name>`` of each name, read from one scrape (together)."""
        text = self.http.get("/metrics").text
        found = [
            re.search(rf"^membergraph_{n}(?:_total)? (\d+)(?:\.0)?$", text, re.M) for n in names
        ]
        assert all(found), text
        return tuple(int(f.group(1)) for f in found if f)


def _points(member: dict[str, object] | None) -> int:
    assert member is not None
    return member["loyalty"]["pointsBalance"]  # type: ignore[index, no-any-return]


def demo_emails(source: Path, count: int) -> list[str]:
    """The first ``count`` e-mails of the demo's CRM contacts, as lookups write them, each
    one member's alone: on one contact, and given with no card's purchase (a family's
    address, or a parent's on a young adult's card's web orders, is two members' alike and
    answers ``AMBIGUOUS_IDENTIFIER``)."""
    lines = (source / "crm.jsonl").read_bytes().splitlines()
    found = [[e.strip().lower() for e in orjson.loads(line)["emails"]] for line in lines]
    carried = Counter(email for emails in found for email in set(emails))
    for line in (source / "transactions.jsonl").read_bytes().splitlines():
        sale = orjson.loads(line)
        if sale.get("loyalty_id") and sale.get("email"):
            carried[sale["email"].strip().lower()] += 1
    return [emails[0] for emails in found if emails and carried[emails[0]] == 1][:count]


@pytest.fixture
def keyed(settings: Settings, data_dir: Path) -> Settings:
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(CONTACT) + b"\n")
    return settings.model_copy(update={"api_keys": Settings(api_keys=KEYS).api_keys})


@pytest.fixture
def address(keyed: Settings) -> Iterator[str]:
    with serving(create_app(keyed)) as served:
        yield served


def test_a_purchase_drops_the_cached_answers_of_its_member_before_it_is_acknowledged(
    address: str, connect: Callable[..., Client]
) -> None:
    client = connect(address)
    before = _points(client.profile())
    assert client.profile() == client.profile()
    assert client.cache("hits") >= 2
    client.ingest("transactions", _purchase(1, 25))
    assert _points(client.profile()) == before + 25  # the very next request, no waiting
    assert client.cache("invalidations") >= 1


def test_a_lookup_that_found_nobody_finds_the_member_who_arrives(
    address: str, connect: Callable[..., Client]
) -> None:
    client = connect(address)
    assert client.profile("new.comer@cheshire-cats.net") is None
    assert client.profile("new.comer@cheshire-cats.net") is None
    client.ingest(
        "crm",
        {"contact_id": "C-NEW", "first_name": "New", "emails": ["new.comer@cheshire-cats.net"]},
    )
    assert client.profile("new.comer@cheshire-cats.net") is not None


def test_a_split_drops_the_answers_of_the_member_it_split(
    address: str, connect: Callable[..., Client]
) -> None:
    client = connect(address)
    client.ingest("transactions", _purchase(4, 1))  # the card's account joins the contact
    member = client.profile()
    assert member is not None
    assert {"source": "TRANSACTIONS", "key": "loyalty:LD55550001"} in member["records"]  # type: ignore[operator]
    client.profile()  # cached
    split = client.http.post(
        "/graphql",
        json={
            "query": 'mutation ($m: ID!) { splitMember(memberId: $m, records: [{source: TRANSACTIONS, key: "loyalty:LD55550001"}], reason: "two people") { id } }',
            "variables": {"m": member["id"]},
        },
    ).json()
    assert "errors" not in split, split
    after = client.profile()
    assert after is not None
    assert after["records"] == [{"source": "CRM", "key": "C-CACHE"}]


def test_callers_who_may_see_different_things_never_get_each_others_answer(
    address: str, connect: Callable[..., Client]
) -> None:
    masked, unmasked = connect(address, MASKED), connect(address, UNMASKED)
    for _ in range(3):  # the masked answer is the cached one after the first round
        assert masked.profile()["profile"]["email"]["value"] == "c***@cheshire-cats.net"  # type: ignore[index]
        assert unmasked.profile()["profile"]["email"]["value"] == "cas.che@cheshire-cats.net"  # type: ignore[index]
    # An unmasked answer is never kept (the audit of personal data read sees every read).
    assert masked.cache("hits") == 2


def test_the_cache_keeps_within_its_bound(
    keyed: Settings, demo_source: Path, connect: Callable[..., Client]
) -> None:
    emails = demo_emails(demo_source, 12)
    bounded = keyed.model_copy(update={"response_cache_entries": 3})
    with serving(create_app(bounded)) as served:
        client = connect(served)
        for email in emails:
            client.profile(email)
        assert client.cache("entries") <= 3
        assert client.cache("evictions") >= 3
    small = keyed.model_copy(update={"response_cache_bytes": 2500})
    with serving(create_app(small)) as served:
        client = connect(served)
        for email in emails:
            client.profile(email)
        assert 0 < client.cache("bytes") <= 2500


def test_a_get_has_an_etag_and_a_matching_one_answers_304_until_the_member_changes(
    address: str, connect: Callable[..., Client]
) -> None:
    client = connect(address)
    params = {
        "query": PROFILE,
        "variables": orjson.dumps({"e": "cas.che@cheshire-cats.net"}).decode(),
    }
    first = client.http.get("/graphql", params=params)
    assert first.status_code == 200 and first.headers["etag"]
    # behind credentials a shared cache (a CDN) must not keep it: docs/response-cache.md, HTTP caches
    assert first.headers["cache-control"] == "private, no-cache"
    assert "Authorization" in first.headers["vary"]
    tag = {"If-None-Match": first.headers["etag"]}
    again = client.http.get("/graphql", params=params, headers=tag)
    assert again.status_code == 304 and again.content == b""
    client.ingest("transactions", _purchase(2, 5))
    changed = client.http.get("/graphql", params=params, headers=tag)
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]


def _profile_params() -> dict[str, str]:
    return {
        "query": PROFILE,
        "variables": orjson.dumps({"e": "cas.che@cheshire-cats.net"}).decode(),
    }


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "cache-off"])
def test_each_media_type_has_its_own_etag(
    keyed: Settings, connect: Callable[..., Client], cached: bool
) -> None:
    # Given one GET asked as plain JSON and as the GraphQL-over-HTTP media type
    sized = keyed if cached else keyed.model_copy(update={"response_cache_entries": 0})
    with serving(create_app(sized)) as served:
        client = connect(served)
        spec, plain = "application/graphql-response+json", "application/json"
        answers = {
            kind: client.http.get("/graphql", params=_profile_params(), headers={"accept": kind})
            for kind in (spec, plain)
        }
        # Then each is its own representation: its own media type and ETag, varying by Accept
        assert {k: a.headers["content-type"] for k, a in answers.items()} == {
            spec: spec,
            plain: plain,
        }
        assert answers[spec].headers["etag"] != answers[plain].headers["etag"]
        assert all("Accept" in a.headers["vary"].split(", ") for a in answers.values())
        # and one's tag does not revalidate the other (a cache would serve the wrong type)
        crossed = {"accept": plain, "if-none-match": answers[spec].headers["etag"]}
        assert (
            client.http.get("/graphql", params=_profile_params(), headers=crossed).status_code
            == 200
        )
        same = {"accept": plain, "if-none-match": answers[plain].headers["etag"]}
        assert (
            client.http.get("/graphql", params=_profile_params(), headers=same).status_code == 304
        )


def test_head_answers_as_get_without_a_body(address: str, connect: Callable[..., Client]) -> None:
    client = connect(address)
    got = client.http.get("/graphql", params=_profile_params())
    # When the same request is sent as HEAD
    head = client.http.head("/graphql", params=_profile_params())
    # Then it has GET's status and headers, and no body
    assert head.status_code == 200 and head.content == b""
    for name in ("content-type", "content-length", "etag", "cache-control", "vary"):
        assert head.headers[name] == got.headers[name], name
    tag = {"if-none-match": got.headers["etag"]}
    assert client.http.head("/graphql", params=_profile_params(), headers=tag).status_code == 304
    # and GET's refusals: a mutation is 405, a query that does not parse 400 with its code
    mutation = client.http.head("/graphql", params={"query": "mutation { __typename }"})
    assert mutation.status_code == 405 and mutation.headers["allow"] == "POST"
    broken = client.http.head("/graphql", params={"query": "{"}, headers={"accept": GRAPHQL_JSON})
    assert broken.status_code == 400 and broken.content == b""


def test_an_answer_cached_on_one_process_is_dropped_by_the_first_feed_read_after_a_change(
    data_dir: Path, tmp_path: Path, connect: Callable[..., Client]
) -> None:
    # The promise: another process serves the old answer no longer than the feed's lag, its
    # poll interval (at most 1 s, MEMBERGRAPH_FEED_POLL_S). Counted, not timed: B's first read
    # of the feed begun after A acknowledged sees the change, and that read drops the answer.
    with (data_dir / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(CONTACT) + b"\n")
    store = tmp_path / "one.db"
    keys = orjson.dumps(KEYS).decode()
    with (
        serve_ready(data_dir, store, api_keys=keys) as (a, _),
        serve_ready(data_dir, store, api_keys=keys) as (b, _),
    ):
        through_a, read_on_b = connect(a), connect(b)
        before = _points(read_on_b.profile())
        read_on_b.profile()
        assert read_on_b.cache("hits") >= 1
        # When a purchase is acknowledged by A (which read its own change before answering)
        through_a.ingest("transactions", _purchase(3, 40))
        (change,) = through_a.figures("feed_position")
        # Then B reads the feed until it holds the change (10 s: a bound on waiting only)
        seen: list[tuple[int, int]] = []  # (B's feed position, B's feed reads) per scrape
        until(
            lambda: (
                seen.append(read_on_b.figures("feed_position", "feed_reads"))
                or seen[-1][0] >= change
            )
        )
        assert seen[-1][0] >= change, "B never read the change from the feed"
        # and missed it in at most one read: the one under way when A acknowledged
        missed = [reads for position, reads in seen if position < change]
        assert max(missed, default=seen[0][1]) <= seen[0][1] + 1, seen
        # and from the read that saw it, B answers the new figure: the first request after
        assert _points(read_on_b.profile()) == before + 40
        assert read_on_b.cache("invalidations") >= 1


def _calls_and_requests(client: Client) -> tuple[float, float]:
    """Source calls made so far, and POSTs to /graphql answered 200."""
    text = client.http.get("/metrics").text
    calls = sum(
        float(m.group(1))
        for m in re.finditer(r"^membergraph_source_calls_total\S* (\S+)$", text, re.M)
    )
    answered = re.search(
        r'^membergraph_http_request_seconds_count\{method="POST",route="/graphql",status="200"\} (\S+)$',
        text,
        re.M,
    )
    return calls, float(answered.group(1)) if answered else 0.0


def test_a_cached_answer_goes_only_to_a_request_the_gateway_would_answer(
    address: str, connect: Callable[..., Client], caplog: pytest.LogCaptureFixture
) -> None:
    client, anonymous = connect(address), connect(address, None)
    body = orjson.dumps({"query": PROFILE, "variables": {"e": CONTACT["emails"][0]}})
    json_type = {"content-type": "application/json"}
    first = client.http.post("/graphql", content=body, headers=json_type)
    hits, (calls, answered) = client.cache("hits"), _calls_and_requests(client)

    with caplog.at_level(logging.INFO, logger="membergraph.access"):
        hit = client.http.post(
            "/graphql", content=body, headers={**json_type, "x-request-id": "h-1"}
        )

    # The hit: the same bytes, its request id echoed, counted and logged, no source read.
    assert (hit.status_code, hit.content) == (200, first.content)
    assert hit.headers["x-request-id"] == "h-1"
    assert client.cache("hits") == hits + 1
    assert _calls_and_requests(client) == (calls, answered + 1)
    assert [r.getMessage()[:18] for r in caplog.records if r.name == "membergraph.access"] == [
        "POST /graphql 200 "
    ]
    # The same bytes without a credential, or not as JSON, are refused as ever.
    assert anonymous.http.post("/graphql", content=body, headers=json_type).status_code == 401
    as_text = client.http.post("/graphql", content=body, headers={"content-type": "text/plain"})
    assert as_text.status_code == 415
    assert client.cache("hits") == hits + 1


def test_an_email_only_a_web_login_gave_finds_the_contact_who_takes_it_at_once(
    address: str, connect: Callable[..., Client]
) -> None:
    # A lookup answers a member whose contact, card or online account carries the value
    # before one whose web login alone does: it was kept tagged with the login's member, so
    # once a contact took the e-mail a masked caller kept getting the login's member.
    masked, unmasked = connect(address, MASKED), connect(address, UNMASKED)
    shared = "family.inbox@cheshire-cats.net"
    login = {"event_id": "E-CACHE-1", "anonymous_id": "anon-cache-1", "user_id": "C-CACHE"}
    login |= {"email": shared, "type": "identify", "occurred_at": "2026-11-02T10:00:00Z"}
    masked.ingest("web_analytics", login)
    cas = masked.profile()
    assert cas is not None
    # Given a masked caller looked the e-mail only her web login gave up twice
    assert masked.profile(shared)["id"] == masked.profile(shared)["id"] == cas["id"]  # type: ignore[index]
    # When another person's contact gives it as hers
    other = {"contact_id": "C-CACHE-2", "first_name": "Ora", "last_name": "Other"}
    masked.ingest("crm", other | {"emails": [shared], "birth_date": "1990-01-01"})
    # Then every caller finds that contact's member by it on the very next request
    holder = unmasked.profile(shared)
    assert holder is not None and holder["id"] != cas["id"]
    assert masked.profile(shared)["id"] == holder["id"]  # type: ignore[index]


def test_a_process_that_stopped_reading_the_feed_answers_afresh_and_counts_it(
    keyed: Settings,
) -> None:
    # Given a gateway that answered a profile and kept it (asked again until kept: on a busy
    # machine the first answers may come before the feed was first read, and count as
    # lagging), then stopped following the feed (as when its store stops answering)
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as http:
        headers = {"Authorization": f"Bearer {MASKED}"}
        ask = {"query": PROFILE, "variables": {"e": "cas.che@cheshire-cats.net"}}

        def figure(name: str) -> float:
            text = http.get("/metrics", headers=headers).text
            found = re.search(rf"^membergraph_response_cache_{name} (\S+)$", text, re.M)
            assert found is not None, text
            return float(found.group(1))

        def kept() -> bool:
            assert http.post("/graphql", json=ask, headers=headers).status_code == 200
            return figure("entries") == 1

        assert until(kept), "the profile was never kept"
        http.app.state.response_cache.follow(None)  # type: ignore[attr-defined]
        hits, lagging = figure("hits_total"), figure("lagging_total")

        # When the same question is asked twice
        for _ in range(2):
            assert http.post("/graphql", json=ask, headers=headers).status_code == 200

        # Then neither was served from the cache, and /metrics counts both
        assert figure("hits_total") == hits
        assert figure("lagging_total") == lagging + 2
