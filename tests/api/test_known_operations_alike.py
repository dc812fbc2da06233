"""The planned path (``schema/compiled.py``) answers as the executor does: each test sends
the same request through the plan and through graphql-core's executor (the plan switched off by setting the
schema's ``known`` to None, the way a schema built with another extension has none) and
compares what a user would notice: response bytes, status, audit entries, source calls.

A ``nonce`` key in the JSON body (ignored by both paths) keeps the response cache from
answering the second request with the first one's bytes.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.base import SourceUnavailable
from membergraph.connectors.models import SourceName
from tests.api.test_known_operations import SECRET, demo_with_person
from tests.api.test_masking import EMAIL, PERSON

KEYS = {
    "masked-key-0000000000001": ["profile:read"],
    "unmasked-key-00000000001": ["profile:read", "pii:read"],
    "dpo-key-0000000000000001": ["privacy:admin"],
    "ingest-key-0000000000001": ["ingest:write"],
}
MASKED, UNMASKED, DPO, INGEST = KEYS
_nonce = itertools.count()


def _token(**claims: object) -> str:
    body = {"sub": "app", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@dataclass
class Both:
    client: TestClient
    endpoint: Any
    member: str

    @property
    def known(self) -> Any:
        return self.endpoint.schema.known

    def post(
        self, credential: str, body: dict[str, Any], *, planned: bool, nonce: bool = True, **kw: Any
    ) -> tuple[int, bytes]:
        header = {"x-api-key": credential} if credential in KEYS else {"authorization": credential}
        saved = self.endpoint.schema.known
        if not planned:
            self.endpoint.schema.known = None
        try:
            body = {**body, "nonce": next(_nonce)} if nonce else body
            answer = self.client.post(
                "/graphql",
                content=orjson.dumps(body),
                headers={"content-type": "application/json", **header, **kw.get("headers", {})},
            )
        finally:
            self.endpoint.schema.known = saved
        return answer.status_code, answer.content

    def ask(
        self, credential: str, query: str, variables: dict[str, Any] | None = None, *, planned: bool
    ) -> tuple[int, bytes]:
        return self.post(
            credential, {"query": query, "variables": variables or {}}, planned=planned
        )

    def audit(self) -> list[tuple[str, list[str]]]:
        query = "query ($m: ID!) { piiAccessLog(memberId: $m) { actor fields requestId } }"
        _, body = self.ask(DPO, query, {"m": self.member}, planned=False)
        return [(e["actor"], e["fields"]) for e in orjson.loads(body)["data"]["piiAccessLog"]]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Both]:
    settings = demo_with_person(tmp_path_factory.mktemp("alike"), KEYS)
    app = create_app(settings)
    endpoint = next(
        r.endpoint
        for r in app.router.routes
        if getattr(r, "path", "") == "/graphql" and hasattr(r.endpoint, "schema")
    )
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        found = Both(client, endpoint, "")
        _, body = found.ask(
            MASKED, '{ memberByIdentifier(kind: CRM_ID, value: "C-MASK") { id } }', planned=False
        )
        found.member = orjson.loads(body)["data"]["memberByIdentifier"]["id"]
        yield found


def _gateway(both: Both) -> Any:
    return both.client.app.state.gateway  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------
# Finding 1: a query field with a side effect runs twice when the plan falls back.

# A nullable sibling refused (the DPO has no profile:read): the executor answers the
# export and a FORBIDDEN error, with one "export" audit entry.
EXPORT_AND_REFUSED = """query ($m: ID!) {
  exportMember(id: $m)
  member(id: $m) { id }
}"""
# A non-null sibling failing: graphql-core cancels the export (data is null): no entry.
EXPORT_AND_FAILING = """query ($m: ID!) {
  exportMember(id: $m)
  privacyRequests(first: -1) { id }
}"""


def _exports(both: Both) -> int:
    return sum(1 for _, fields in both.audit() if fields == ["export"])


@pytest.mark.parametrize(
    ("document", "code"),
    [(EXPORT_AND_REFUSED, b"FORBIDDEN"), (EXPORT_AND_FAILING, b"BAD_USER_INPUT")],
    ids=["nullable-sibling-refused", "non-null-sibling-fails"],
)
def test_export_is_audited_alike_whichever_path(both: Both, document: str, code: bytes) -> None:
    # A read that writes (the export is audited) is never planned: a plan falling back
    # would run it twice, or run it where the executor cancels it
    assert both.known.plan(document, None) is None
    before = _exports(both)
    _, usual = both.ask(DPO, document, {"m": both.member}, planned=False)
    after_usual = _exports(both)
    _, planned = both.ask(DPO, document, {"m": both.member}, planned=True)
    after_planned = _exports(both)
    assert code in usual and code in planned
    assert after_planned - after_usual == after_usual - before, (
        f"export entries written: executor {after_usual - before}, "
        f"planned path {after_planned - after_usual}"
    )


# ---------------------------------------------------------------------------------------
# Finding 2: extensions that are not an object.

PROFILE = """query Profile($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) { id profile { firstName } }
}"""


@pytest.mark.parametrize(
    "extensions",
    [[], 0, False, "", "x", [1]],
    ids=["empty-list", "zero", "false", "empty-string", "string", "list"],
)
def test_extensions_that_are_not_an_object_are_refused_alike(both: Both, extensions: Any) -> None:
    body = {"query": PROFILE, "variables": {"value": EMAIL}, "extensions": extensions}
    usual = both.post(MASKED, body, planned=False)
    planned = both.post(MASKED, body, planned=True)
    assert usual[0] == 400
    assert planned == usual


# ---------------------------------------------------------------------------------------
# Finding 3: a failing source is asked twice per request (plan, then executor).

SOURCE_QUERY = """query ($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id transactions(first: 2) { edges { node { amountCents } } }
  }
}"""


def test_a_failing_source_is_asked_once_per_request(
    both: Both, monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _gateway(both).sources[SourceName.TRANSACTIONS]
    assert both.known.plan(SOURCE_QUERY, None) is not None

    async def down(keys: Any) -> Any:
        raise SourceUnavailable(SourceName.TRANSACTIONS, "down for the test")

    monkeypatch.setattr(connector, "_load_many", down)
    monkeypatch.setattr(connector, "_load_light", down)
    monkeypatch.setattr(connector, "failure_threshold", 1000)  # keep the circuit closed
    # The source asked on its own, as one outside the store's file is (not with the lookup).
    monkeypatch.setattr(_gateway(both).identity.store, "beside_lookup", None)
    calls = connector.calls
    usual = both.ask(MASKED, SOURCE_QUERY, {"value": EMAIL}, planned=False)
    by_usual = connector.calls - calls
    calls = connector.calls
    planned = both.ask(MASKED, SOURCE_QUERY, {"value": EMAIL}, planned=True)
    by_planned = connector.calls - calls
    monkeypatch.undo()
    connector.failures = 0
    assert b"SOURCE_UNAVAILABLE" in usual[1]
    assert planned == usual, "same answer (the fallback works)"
    assert (by_usual, by_planned) == (1, 1), "one call to the failing source per request"


# ---------------------------------------------------------------------------------------
# Finding 4: a request over its time budget records audit entries for data never sent.

SLOW = """query ($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id profile { firstName lastName }
    identityHistory { kind }
  }
}"""


def test_a_request_over_its_time_budget_audits_alike(
    both: Both, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _gateway(both).identity.store
    assert both.known.plan(SLOW, None) is not None
    original = store.member_events

    async def slow(*args: Any) -> Any:  # the identity history is slow today
        await asyncio.sleep(1.0)
        return await original(*args)

    monkeypatch.setattr(store, "member_events", slow)
    monkeypatch.setattr(both.endpoint, "timeout", 0.3)
    before = both.audit()
    usual = both.ask(UNMASKED, SLOW, {"value": EMAIL}, planned=False)
    after_usual = both.audit()
    planned = both.ask(UNMASKED, SLOW, {"value": EMAIL}, planned=True)
    after_planned = both.audit()
    monkeypatch.undo()
    assert b"TIMEOUT" in usual[1] and b'"data":null' in usual[1]
    assert planned == usual
    assert len(after_usual) - len(before) == 0, "the executor records nothing it did not send"
    assert len(after_planned) - len(after_usual) == 0, "nor should the plan"


# ---------------------------------------------------------------------------------------
# Byte-for-byte equality over many shapes and callers (with the audit each writes).

DOCUMENTS = {
    "aliases-different-args": (
        """query ($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) {
          a: transactions(first: 1) { edges { node { amountCents } } }
          b: transactions(first: 3) { totalCount edges { cursor node { status } } }
          one: identityHistory { kind } } }""",
        {"value": EMAIL},
    ),
    "same-root-aliased-other-kind": (
        """query ($value: String!) {
          e: memberByIdentifier(kind: EMAIL, value: $value) { id profile { firstName } }
          p: memberByIdentifier(kind: PHONE, value: "abc") { id } }""",
        {"value": EMAIL},
    ),
    "typename-everywhere": (
        """query ($value: String!) { __typename viewer { __typename name }
          memberByIdentifier(kind: EMAIL, value: $value) { __typename
            profile { __typename emails { __typename value } } } }""",
        {"value": EMAIL},
    ),
    "nullable-error-beside-data": (
        """{ viewer { name scopes memberId }
          memberByIdentifier(kind: PHONE, value: "abc") { id } }""",
        {},
    ),
    "nulls-in-lists": (
        """{ members(first: 8) { edges { node { id profile { birthDate email { value }
          phone { value } address { line1 } } } } } }""",
        {},
    ),
    "input-object-literal": (
        """{ members(first: 3, filter: {source: CRM}) { totalCount edges { node { id } } } }""",
        {},
    ),
    "unknown-member": ("""{ member(id: "m_nobody") { id } }""", {}),
    "variable-null": (
        """query ($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) { id } }""",
        {"value": None},
    ),
    "variable-default": (
        """query ($value: String = "nobody@x.org") {
          memberByIdentifier(kind: EMAIL, value: $value) { id } }""",
        {},
    ),
    "bool-variable-unused": (
        """query ($b: Boolean, $value: String!) {
          memberByIdentifier(kind: EMAIL, value: $value) { id } }""",
        {"b": "yes", "value": EMAIL},
    ),
    "id-variable-int": ("""query ($id: ID!) { member(id: $id) { id } }""", {"id": 7}),
    "own-member-by-id": (
        """query ($id: ID!) { member(id: $id) { id identifiers { kind value }
          consents { channel granted record } records { source key } reachableChannels } }""",
        {"id": "{member}"},
    ),
    "pii-aliased-twice": (
        """query ($value: String!, $id: ID!) {
          a: memberByIdentifier(kind: EMAIL, value: $value) { p: profile { f: firstName } }
          b: member(id: $id) { profile { lastName birthDate } q: identifiers { value } } }""",
        {"value": EMAIL, "id": "{member}"},
    ),
    "scores-and-activity": (
        """query ($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) {
          id segments rfm { __typename } offers { __typename } callCenter { __typename }
          activity(first: 3) { edges { cursor } } } }""",
        {"value": EMAIL},
    ),
    "stats-refused": ("""{ viewer { name } memberStats { members } }""", {}),
}
CALLERS = ["masked", "unmasked", "bound-to-the-member", "bound-to-another", "dpo"]


def _caller(both: Both, name: str) -> str:
    other = "m_someone_else"
    return {
        "masked": MASKED,
        "unmasked": UNMASKED,
        "dpo": DPO,
        "bound-to-the-member": "Bearer "
        + _token(scope="profile:read pii:read", member_id=both.member),
        "bound-to-another": "Bearer " + _token(scope="profile:read pii:read", member_id=other),
    }[name]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_the_same_bytes_and_audit(both: Both, name: str, caller: str) -> None:
    query, variables = DOCUMENTS[name]
    variables = {k: both.member if v == "{member}" else v for k, v in variables.items()}
    credential = _caller(both, caller)
    before = both.audit()
    usual = both.ask(credential, query, variables, planned=False)
    middle = both.audit()
    planned = both.ask(credential, query, variables, planned=True)
    after = both.audit()
    assert planned == usual
    assert after[: len(after) - len(middle)] == middle[: len(middle) - len(before)]


# ---------------------------------------------------------------------------------------
# Finding 5: a variable whose default makes it fit a non-null argument, sent as null.

DEFAULTED = """query ($value: String = "nobody@x.org") {
  memberByIdentifier(kind: EMAIL, value: $value) { id }
}"""


def test_a_null_over_a_defaulted_variable_is_no_fault_of_the_plan(
    both: Both, caplog: pytest.LogCaptureFixture
) -> None:
    assert both.known.plan(DEFAULTED, None) is not None
    usual = both.ask(MASKED, DEFAULTED, {"value": None}, planned=False)
    caplog.clear()
    planned = both.ask(MASKED, DEFAULTED, {"value": None}, planned=True)
    assert planned == usual  # graphql-core's "must not be null" error, from the fallback
    faults = [r for r in caplog.records if r.name == "membergraph.graphql_http"]
    assert not faults, "no ERROR with a traceback for a client's mistake: " + "; ".join(
        f"{r.levelname} {r.getMessage()}" for r in faults
    )


@pytest.mark.parametrize("caller", ["masked", "unmasked"])
@pytest.mark.parametrize(
    "query", ["{ __typename }", "{ _service { sdl } }", "{ viewer { __typename } }"]
)
def test_small_documents_alike(both: Both, caller: str, query: str) -> None:
    credential = _caller(both, caller)
    assert both.ask(credential, query, planned=True) == both.ask(credential, query, planned=False)


# ---------------------------------------------------------------------------------------
# Concurrency: one plan, many requests at once, different callers and members.

CONCURRENT = """query ($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) {
  id profile { firstName lastName emails { value } phones { value } }
  loyalty { pointsBalance tier } transactions(first: 3) { edges { node { amountCents } } }
  records { source key } } }"""


def test_many_requests_sharing_one_plan(both: Both, monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from membergraph.schema import compiled

    runs: list[int] = []
    finished: list[int] = []
    original_run = compiled.Plan.run

    async def counted(self: Any, *args: Any) -> Any:
        runs.append(1)
        answer = await original_run(self, *args)
        finished.append(1)
        return answer

    _, body = both.ask(
        UNMASKED,
        "{ members(first: 6) { edges { node { id profile { emails { value } } } } } }",
        planned=False,
    )
    emails = [EMAIL] + [
        e["node"]["profile"]["emails"][0]["value"]
        for e in orjson.loads(body)["data"]["members"]["edges"]
        if e["node"]["profile"]["emails"]
    ][:4]
    callers = [
        MASKED,
        UNMASKED,
        "Bearer " + _token(scope="profile:read pii:read", member_id=both.member),
    ]
    asks = [(c, e) for c in callers for e in emails] * 4
    expected = {(c, e): both.ask(c, CONCURRENT, {"value": e}, planned=False) for c, e in set(asks)}
    audit_before = len(both.audit())
    app = both.client.app

    async def all_at_once() -> list[tuple[int, bytes]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:

            async def one(credential: str, email: str) -> tuple[int, bytes]:
                header = (
                    {"x-api-key": credential}
                    if credential in KEYS
                    else {"authorization": credential}
                )
                r = await c.post(
                    "/graphql",
                    json={
                        "query": CONCURRENT,
                        "variables": {"value": email},
                        "nonce": next(_nonce),
                    },
                    headers=header,
                )
                return r.status_code, r.content

            return await asyncio.gather(*(one(c, e) for c, e in asks))

    monkeypatch.setattr(compiled.Plan, "run", counted)
    answers = both.client.portal.call(all_at_once)  # type: ignore[union-attr]
    monkeypatch.undo()
    assert len(finished) == len(asks), f"planned: {len(runs)} runs, {len(finished)} answered"
    for (c, e), answer in zip(asks, answers, strict=True):
        assert answer == expected[(c, e)], (c, e)
    # Each unmasked read of the member (Wilhelmina, by EMAIL) audited once per request.
    unmasked_of_member = sum(1 for c, e in asks if e == EMAIL and c != MASKED)
    assert len(both.audit()) - audit_before == unmasked_of_member


# Background work after a change (metrics catching up) also reads the store: these run
# before the tests that change members.
MANY = """{ members(first: 20) { edges { node { id profile { firstName emails { value } }
  loyalty { tier } transactions(first: 2) { edges { node { amountCents } } }
  webActivity(first: 2) { eventId } callCenterInteractions(first: 2) { reason }
  consents { channel granted } reachableChannels identityHistory { kind } } } } }"""


in_request: contextvars.ContextVar[bool] = contextvars.ContextVar("in_request", default=False)


@pytest.mark.parametrize("which", ["wide", "many"])
def test_the_same_source_and_store_trips(both: Both, which: str) -> None:
    from tests.api.test_known_operations import WIDE

    query, variables = (WIDE, {"value": EMAIL}) if which == "wide" else (MANY, {})
    gateway = _gateway(both)
    store = gateway.identity.store
    assert both.known.plan(query, None) is not None

    def trips(planned: bool) -> dict[str, int]:
        counted: dict[str, int] = {}
        originals = {}
        for name in (
            "member_parts",
            "member_events",
            "carriers",
            "find_member_carried",
            "scored_rows",
        ):
            original = getattr(store, name, None)
            if original is None:
                continue
            originals[name] = original

            def wrap(original: Any = original, name: str = name) -> Any:
                async def counting(*a: Any, **k: Any) -> Any:
                    if in_request.get():
                        counted[name] = counted.get(name, 0) + 1
                    return await original(*a, **k)

                return counting

            setattr(store, name, wrap())
        before = {s.value: c.calls for s, c in gateway.sources.items()}
        transport = both.client._transport  # type: ignore[attr-defined]
        app = transport.app

        async def marked(scope: Any, receive: Any, send: Any) -> None:
            in_request.set(True)
            await app(scope, receive, send)

        transport.app = marked
        try:
            answer = both.ask(UNMASKED, query, variables, planned=planned)
        finally:
            transport.app = app
            for name, original in originals.items():
                setattr(store, name, original)
        assert b'"errors"' not in answer[1]
        made = {s.value: c.calls - before[s.value] for s, c in gateway.sources.items()}
        return {**counted, **made}

    planned, usual = trips(planned=True), trips(planned=False)
    sources = {s.value for s in SourceName}
    # The sources are asked exactly as often; a store read may land in two loader batches
    # instead of one when a turn of the event loop falls between them: never more than
    # one. (The e-mails' carriers of 20 members were read in 1 to 6 batches by the plan,
    # 1 by the executor, until the first placeholder ask took every member's values.)
    # Only the request's own reads count, not those of tasks the gateway runs beside it.
    assert {k: v for k, v in planned.items() if k in sources} == {
        k: v for k, v in usual.items() if k in sources
    }
    assert planned.keys() == usual.keys()
    assert all(abs(planned[k] - usual[k]) <= 1 for k in planned.keys() - sources)


# ---------------------------------------------------------------------------------------
# The member's lines read in the lookup's trip (the sources live in the store's file) or
# by the sources' own loaders: the same answers, and no source asked in the first case.


def _by_id(document: str) -> str:
    """The same document asking the member by its ID (``member(id:)``)."""
    return document.replace("$value: String!", "$id: ID!").replace(
        "memberByIdentifier(kind: EMAIL, value: $value)", "member(id: $id)"
    )


@pytest.mark.parametrize("credential", [MASKED, UNMASKED], ids=["masked", "pii"])
@pytest.mark.parametrize("which", ["profile", "wide", "profile-by-id", "wide-by-id"])
def test_lines_read_beside_the_lookup_answer_as_the_sources_do(
    both: Both, monkeypatch: pytest.MonkeyPatch, credential: str, which: str
) -> None:
    from tests.api.test_known_operations import PROFILE as PERSONALIZATION
    from tests.api.test_known_operations import WIDE

    query = PERSONALIZATION if which.startswith("profile") else WIDE
    variables: dict[str, Any] = {"value": EMAIL}
    if which.endswith("by-id"):
        query, variables = _by_id(query), {"id": both.member}
        assert "member(id: $id)" in query
    gateway = _gateway(both)
    assert gateway.identity.store.beside_lookup is not None

    def answer(planned: bool) -> tuple[tuple[int, bytes], dict[str, int]]:
        before = {s.value: c.calls for s, c in gateway.sources.items()}
        said = both.ask(credential, query, variables, planned=planned)
        return said, {s.value: c.calls - before[s.value] for s, c in gateway.sources.items()}

    beside = [answer(planned) for planned in (True, False)]
    monkeypatch.setattr(gateway.identity.store, "beside_lookup", None)
    asked = [answer(planned) for planned in (True, False)]
    assert b'"errors"' not in asked[0][0][1]
    assert [a for a, _ in beside] == [a for a, _ in asked]
    assert all(not any(calls.values()) for _, calls in beside), "no source asked"
    assert all(any(calls.values()) for _, calls in asked)


# ---------------------------------------------------------------------------------------
# A member changed between two planned requests (response cache on: the same body).

RECORDS = """query ($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) {
  id records { source key } } }"""


def test_a_member_changed_between_two_planned_requests(both: Both) -> None:
    body = {"query": RECORDS, "variables": {"value": EMAIL}}
    first = both.post(MASKED, body, planned=True, nonce=False)
    again = both.post(MASKED, body, planned=True, nonce=False)
    assert first == again and b"C-MASK2" not in first[1]
    line = {**PERSON["crm"][0], "contact_id": "C-MASK2", "updated_at": "2026-11-01T00:00:00Z"}
    pushed = both.client.post("/ingest/crm", json=[line], headers={"x-api-key": INGEST})
    assert pushed.status_code == 200, pushed.text
    changed = both.post(MASKED, body, planned=True, nonce=False)
    usual = both.post(MASKED, body, planned=False)
    assert changed == usual and b"C-MASK2" in changed[1]


# ---------------------------------------------------------------------------------------
# APQ, GET vs POST, the GraphQL-over-HTTP media type, operationName.


def test_persisted_query_alike(both: Both) -> None:
    import hashlib

    query = PROFILE + " "  # a text of its own
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    unknown_p = both.post(MASKED, {"variables": {"value": EMAIL}, "extensions": ext}, planned=True)
    assert b"PERSISTED_QUERY_NOT_FOUND" in unknown_p[1]
    registered = both.post(
        MASKED, {"query": query, "variables": {"value": EMAIL}, "extensions": ext}, planned=True
    )
    by_hash_p = both.post(MASKED, {"variables": {"value": EMAIL}, "extensions": ext}, planned=True)
    by_hash_u = both.post(MASKED, {"variables": {"value": EMAIL}, "extensions": ext}, planned=False)
    assert registered == by_hash_p == by_hash_u
    got = both.client.get(
        "/graphql",
        params={
            "variables": orjson.dumps({"value": EMAIL}).decode(),
            "extensions": orjson.dumps(ext).decode(),
        },
        headers={"x-api-key": MASKED},
    )
    assert got.content == by_hash_p[1]


@pytest.mark.parametrize("accept", ["application/graphql-response+json", "application/json"])
def test_media_types_alike(both: Both, accept: str) -> None:
    for variables in ({"value": EMAIL}, {"value": 7}, {}):
        body = {"query": PROFILE, "variables": variables}
        a = both.post(MASKED, body, planned=True, headers={"accept": accept})
        b = both.post(MASKED, body, planned=False, headers={"accept": accept})
        assert a == b


def test_operation_name_alike(both: Both) -> None:
    doc = (
        PROFILE
        + """ query Other { viewer { name } } mutation M { suppress(kind: EMAIL,
      value: "zz@x.org") }"""
    )
    for name in ("Profile", "Other", None, "Nope", "", "M"):
        if name == "M":
            continue  # a mutation: not sent twice
        body = {"query": doc, "variables": {"value": EMAIL}, "operationName": name}
        assert both.post(MASKED, body, planned=True) == both.post(MASKED, body, planned=False)


def test_the_audit_store_failing_alike(both: Both, monkeypatch: pytest.MonkeyPatch) -> None:
    from membergraph.privacy import privacy_of

    privacy = both.client.portal.call(privacy_of, _gateway(both))  # type: ignore[union-attr]

    async def broken(entries: Any) -> None:
        raise RuntimeError("audit store down")

    monkeypatch.setattr(privacy.store, "record_access", broken)
    body = {"query": PROFILE, "variables": {"value": EMAIL}}
    usual = both.post(UNMASKED, body, planned=False)
    planned = both.post(UNMASKED, body, planned=True)
    monkeypatch.undo()
    assert planned == usual
    # No personal data goes out without its audit entry; the store's words stay in the log
    status, answer = usual
    error = orjson.loads(answer)["errors"][0]
    assert status in (200, 400) and orjson.loads(answer).get("data") is None
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert "audit store down" not in answer.decode()


def test_a_member_erased_between_two_planned_requests(both: Both) -> None:
    _, body = both.ask(
        UNMASKED,
        "{ members(first: 12) { edges { node { id profile { emails { value } } } } } }",
        planned=False,
    )
    victim, email = next(
        (e["node"]["id"], e["node"]["profile"]["emails"][0]["value"])
        for e in orjson.loads(body)["data"]["members"]["edges"]
        if e["node"]["profile"]["emails"] and e["node"]["id"] != both.member
    )
    ask = {
        "query": RECORDS.replace(
            "records { source key }", "records { source key } profile { emails { value } }"
        ),
        "variables": {"value": email},
    }
    kept = both.post(MASKED, ask, planned=True, nonce=False)
    assert victim.encode() in kept[1]
    erase = """mutation ($m: ID!) { eraseMember(id: $m, reason: "T-1") { state } }"""
    erased = both.ask(DPO, erase, {"m": victim}, planned=True)
    assert b"errors" not in erased[1], erased
    after = both.post(MASKED, ask, planned=True, nonce=False)
    usual = both.post(MASKED, ask, planned=False)
    assert after == usual and victim.encode() not in after[1], after
