"""A document the schema plans (``schema/compiled.py``) is answered without graphql-core's
executor, and answers exactly what the executor answers: the same bytes for every kind of
caller (masked, unmasked, refused, bound to a member, bound to another), for a member found,
one not found and variables that do not fit, with the same reads recorded in the audit.

Each planned document has an unplanned twin: the same document with ``@skip(if: false)``
on its root field, which means the same but is executed the usual way (the plan takes no
directive).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.schema import build_schema
from membergraph.settings import ApiKey, Settings
from tests.api.test_masking import EMAIL, PERSON
from tests.conftest import PROFILE

SECRET = "jwt-test-secret-of-32-bytes-long!!"
KEYS = {
    "masked-key-0000000000001": ["profile:read"],
    "unmasked-key-00000000001": ["profile:read", "pii:read"],
    "ingest-only-key-00000001": ["ingest:write"],
    "dpo-key-0000000000000001": ["privacy:admin"],
}
MASKED, UNMASKED, REFUSED, DPO = KEYS

# Every kind of personal field, lists of objects, JSON, enums, dates, aliases, __typename.
WIDE = """query ($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    __typename id redirectedFrom
    profile { firstName lastName birthDate address { line1 city postalCode }
      emails { value sources } phones { value sources } email { value } phone { value }
      lineage { field value record } preferredLanguage sourceRecord updatedAt }
    identifiers { kind value records { source key } }
    records { source key }
    loyalty { pointsBalance tier lifetimeSpendCents loyaltyIds }
    latest: transactions(first: 2) { totalCount edges { cursor node { transactionId email
      amountCents status channel occurredAt items { sku quantity } } }
      pageInfo { hasNextPage endCursor } }
    callCenterInteractions(first: 3) { callerPhone accountRef { kind value } reason }
    webActivity(first: 3) { eventId properties occurredAt }
    consents { channel granted record history { record granted } }
    identityHistory { kind rule evidence reason records { key } }
    reachableChannels
    segments
  }
  viewer { name scopes }
}"""
BY_ID = """query ($id: ID!) { member(id: $id) { id records { source key }
  profile { firstName emails { value } } } }"""


def _twin(document: str, root: str) -> str:
    """The same document with its root field executed the usual way."""
    arguments = document.index(")", document.index(f"{root}(")) + 1
    return document[:arguments] + " @skip(if: false)" + document[arguments:]


def _token(**claims: object) -> str:
    body = {"sub": "app", "exp": int(time.time()) + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


@dataclass
class Gateway:
    client: TestClient
    member: str  # Wilhelmina's member ID
    other: str  # another member's

    def ask(self, credential: str, query: str, variables: dict[str, Any]) -> tuple[int, bytes]:
        header = {"x-api-key": credential} if credential in KEYS else {"authorization": credential}
        answer = self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=header
        )
        return answer.status_code, answer.content

    def audit(self) -> list[tuple[str, list[str]]]:
        query = """query ($m: ID!) { piiAccessLog(memberId: $m) { actor fields } }"""
        _, body = self.ask(DPO, query, {"m": self.member})
        return [(e["actor"], e["fields"]) for e in orjson.loads(body)["data"]["piiAccessLog"]]


def demo_with_person(folder: Path, keys: dict[str, list[str]]) -> Settings:
    """Settings over 40 demo people and the masking tests' person, with ``keys``."""
    data = folder / "data"
    data.mkdir()
    from membergraph.demo import write_demo_data

    write_demo_data(data, 40, seed=5)
    for source, lines in PERSON.items():
        with (data / f"{source}.jsonl").open("ab") as handle:
            handle.write(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    settings = Settings(
        data=data,
        store=f"sqlite:///{folder / 'store.db'}",
        cache_dir=folder / "cache",
        api_keys={k: ApiKey(name=k[:6], scopes=s) for k, s in keys.items()},
        jwt_secret=SecretStr(SECRET),
    )
    return settings


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    settings = demo_with_person(tmp_path_factory.mktemp("known"), KEYS)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = Gateway(client, "", "")
        _, body = found.ask(MASKED, "{ members(first: 2) { edges { node { id } } } }", {})
        ids = [e["node"]["id"] for e in orjson.loads(body)["data"]["members"]["edges"]]
        _, body = found.ask(
            MASKED, '{ memberByIdentifier(kind: CRM_ID, value: "C-MASK") { id } }', {}
        )
        found.member = orjson.loads(body)["data"]["memberByIdentifier"]["id"]
        found.other = next(i for i in ids if i != found.member)
        yield found


def _callers(gateway: Gateway) -> dict[str, str]:
    return {
        "masked": MASKED,
        "unmasked": UNMASKED,
        "refused": REFUSED,
        "bound-to-the-member": "Bearer "
        + _token(scope="profile:read pii:read", member_id=gateway.member),
        "bound-to-another": "Bearer " + _token(scope="profile:read", member_id=gateway.other),
    }


CALLERS = ["masked", "unmasked", "refused", "bound-to-the-member", "bound-to-another"]
ASKED = [
    pytest.param(PROFILE, "memberByIdentifier", {"value": EMAIL}, id="profile"),
    pytest.param(PROFILE, "memberByIdentifier", {"value": " W.Threepwood@X.com"}, id="nobody"),
    pytest.param(PROFILE, "memberByIdentifier", {"value": 7}, id="variable-of-another-type"),
    pytest.param(PROFILE, "memberByIdentifier", {}, id="variable-missing"),
    pytest.param(WIDE, "memberByIdentifier", {"value": EMAIL.upper()}, id="wide"),
    pytest.param(BY_ID, "member", {"id": "{member}"}, id="by-id"),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("document", "root", "variables"), ASKED)
def test_a_planned_document_answers_the_executors_bytes(
    gateway: Gateway,
    caller: str,
    document: str,
    root: str,
    variables: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    credential = _callers(gateway)[caller]
    variables = {
        k: v.replace("{member}", gateway.member) if isinstance(v, str) else v
        for k, v in variables.items()
    }
    audit_before = gateway.audit()

    planned = gateway.ask(credential, document, variables)
    audit_planned = gateway.audit()
    usual = gateway.ask(credential, _twin(document, root), variables)
    audit_usual = gateway.audit()

    assert planned == usual
    assert not [r for r in caplog.records if r.name == "membergraph.graphql_http"], "no fault"
    assert (
        audit_planned[: len(audit_planned) - len(audit_before)]
        == (audit_usual[: len(audit_usual) - len(audit_planned)])
    ), "the same personal reads recorded"


def test_the_planned_documents_are_planned_and_their_twins_are_not() -> None:
    known = build_schema().known
    assert known is not None
    for document, root in ((PROFILE, "memberByIdentifier"), (WIDE, "memberByIdentifier")):
        assert known.plan(document, None) is not None
        assert known.plan(_twin(document, root), None) is None
    assert known.plan(BY_ID, None) is not None
    assert known.plan("{ members(first: 2) { edges { node { id } } } }", None) is not None
    refused = {
        "fragment": "query { viewer { ...V } } fragment V on Viewer { name }",
        "mutation": 'mutation { suppress(kind: EMAIL, value: "a@b.c") }',
        "integer variable": "query ($n: Int!) { members(first: $n) { edges { cursor } } }",
        "over the alias limit": "{ viewer { name } }".replace(
            "name", "name " + " ".join(f"a{i}: name" for i in range(40))
        ),
    }
    for why, document in refused.items():
        assert known.plan(document, None) is None, why
