"""Every identifier, contact point and record has a ``ref`` a client can key it by.

user32 (finding 6): masking turns different values into one string (three e-mails all read
``s***@gmail.com``, two records both ``online:s***@gmail.com``), so a UI keyed by value got
duplicate keys. A ``ref`` is distinct for distinct values, the same for the same value in
every answer, for every caller (masked or not, bound to the member or not), in every process
over the store and after a restart, and holds nothing of the value.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings

EMAILS = ["sam.one@gmail.com", "sam.two@gmail.com", "sam3@gmail.com"]  # all s***@gmail.com
PHONES = ["+13125550101", "+13125550201"]  # ***-0101, ***-0201
SECRET = "jwt-test-secret-of-32-bytes-long!!"
LINES = {
    "crm": [
        {
            "contact_id": "C-SAM",
            "first_name": "Sam",
            "last_name": "Ward",
            "emails": EMAILS,
            "phones": PHONES,
            "loyalty_id": "LD11110001",
            "updated_at": "2026-09-01T00:00:00Z",
        },
        {  # another member who shares Sam's family phone
            "contact_id": "C-KIM",
            "first_name": "Kim",
            "last_name": "Ward",
            "emails": ["kim.ward@gmail.com"],
            "phones": [PHONES[1]],
            "updated_at": "2026-09-01T00:00:00Z",
        },
    ],
    "transactions": [
        {  # two guest orders under two of her e-mails: online:s***@gmail.com twice
            "transaction_id": f"T-{n}",
            "email": email,
            "channel": "online",
            "occurred_at": f"2026-10-0{n + 1}T10:00:00Z",
            "amount_cents": 1000,
        }
        for n, email in enumerate(EMAILS[:2])
    ],
}
KEYS = {
    "masked-key-000000000001": ["profile:read"],
    "pii-key-0000000000000001": ["profile:read", "pii:read"],
}
QUERY = """query($kind: IdentifierKind!, $value: String!) {
  memberByIdentifier(kind: $kind, value: $value) {
    id identifiers { kind value ref records { key ref } } records { source key ref }
    profile { emails { value ref } phones { value ref } } } }"""
SAM = {"kind": "CRM_ID", "value": "C-SAM"}
KIM = {"kind": "CRM_ID", "value": "C-KIM"}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("refs")
    data = folder / "data"
    data.mkdir()
    for source, lines in LINES.items():
        (data / f"{source}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return Settings(
        data=data,
        store=f"sqlite:///{folder / 'store.db'}",
        cache_dir=folder / "cache",
        api_keys={k: ApiKey(name=k[:4], scopes=s) for k, s in KEYS.items()},
        jwt_secret=SecretStr(SECRET),
    )


def _gateway(settings: Settings, cache: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(settings.model_copy(update={"cache_dir": cache})), base_url="http://127.0.0.1"
    ) as client:
        yield client


@pytest.fixture(scope="module")
def gateway(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from _gateway(settings, tmp_path_factory.mktemp("cache-one"))


def _read(client: TestClient, who: dict[str, str], credential: dict[str, str]) -> dict[str, Any]:
    answer = client.post("/graphql", json={"query": QUERY, "variables": who}, headers=credential)
    assert "errors" not in answer.json(), answer.text
    return dict(answer.json()["data"]["memberByIdentifier"])


MASKED = {"x-api-key": "masked-key-000000000001"}
PII = {"x-api-key": "pii-key-0000000000000001"}


def _refs(member: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "identifiers": [i["ref"] for i in member["identifiers"]],
        "records": [r["ref"] for r in member["records"]],
        "emails": [e["ref"] for e in member["profile"]["emails"]],
        "phones": [p["ref"] for p in member["profile"]["phones"]],
    }


def test_values_masked_alike_have_refs_apart(gateway: TestClient) -> None:
    sam = _read(gateway, SAM, MASKED)
    emails = [i for i in sam["identifiers"] if i["kind"] == "EMAIL"]
    online = [r for r in sam["records"] if r["key"].startswith("online:")]
    # Given values that read alike masked ...
    assert [e["value"] for e in emails] == ["s***@gmail.com"] * 3
    assert [r["key"] for r in online] == ["online:s***@gmail.com"] * 2
    # ... each has a ref of its own, in every list a UI keys by.
    for name, refs in _refs(sam).items():
        assert len(set(refs)) == len(refs), name
    assert len({e["ref"] for e in emails}) == 3 and len({r["ref"] for r in online}) == 2


def test_a_ref_is_the_same_for_every_caller_and_in_every_list(gateway: TestClient) -> None:
    masked, unmasked = _read(gateway, SAM, MASKED), _read(gateway, SAM, PII)
    bound = {"authorization": "Bearer " + _token(unmasked["id"])}
    assert _refs(masked) == _refs(unmasked) == _refs(_read(gateway, SAM, bound))
    # A profile's e-mail or phone has its identifier's ref; a record has one ref wherever
    # it is listed.
    by_value = {(i["kind"], i["value"]): i["ref"] for i in unmasked["identifiers"]}
    for kind, points in (("EMAIL", "emails"), ("PHONE", "phones")):
        for point in unmasked["profile"][points]:
            assert point["ref"] == by_value[(kind, point["value"])]
    of_key = {r["key"]: r["ref"] for r in unmasked["records"]}
    for identifier in unmasked["identifiers"]:
        for record in identifier["records"]:
            assert record["ref"] == of_key[record["key"]]


def test_a_ref_is_the_same_after_a_restart_and_in_another_process(
    settings: Settings, gateway: TestClient, tmp_path: Path
) -> None:
    before = _refs(_read(gateway, SAM, MASKED))
    for other in _gateway(settings, tmp_path / "cache-two"):
        assert _refs(_read(other, SAM, MASKED)) == before


def test_one_value_two_members_hold_has_one_ref(gateway: TestClient) -> None:
    sam, kim = _read(gateway, SAM, MASKED), _read(gateway, KIM, MASKED)
    assert sam["id"] != kim["id"]
    shared = set(_refs(sam)["phones"]) & set(_refs(kim)["phones"])
    assert len(shared) == 1
    counted = Counter(_refs(sam)["identifiers"] + _refs(kim)["identifiers"])
    assert [ref for ref, n in counted.items() if n > 1] == list(shared)


def test_a_ref_holds_nothing_of_the_value(gateway: TestClient) -> None:
    sam = _read(gateway, SAM, PII)
    values = [i["value"] for i in sam["identifiers"]] + [r["key"] for r in sam["records"]]
    refs = [ref for each in _refs(sam).values() for ref in each]
    assert all(len(ref) == 16 for ref in refs)
    pieces = {p for v in values for p in (v, v.split("@")[0], v[-6:]) if len(p) >= 6}
    assert not [(ref, p) for ref in refs for p in pieces if p.lower() in ref.lower()]


def _token(member_id: str) -> str:
    claims = {"sub": "app", "exp": int(time.time()) + 86_400, "member_id": member_id}
    return jwt.encode({**claims, "scope": "profile:read"}, SECRET, algorithm="HS256")
