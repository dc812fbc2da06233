"""``member(id:)`` of an erased member, on a real server, by who asks: ``ERASED`` to those who
may know it was (its own token, a steward, the DPO), null with no error to the others, as
for an ID that never was (user32 9; docs/privacy.md)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving

SECRET = "erased-member-test-secret-of-32-bytes!"
KEYS = {
    "personalization-key-0001": {"name": "pers", "scopes": ["profile:read"]},
    "analyst-key-000000000001": {"name": "an", "scopes": ["profile:read", "analytics:read"]},
    "steward-key-000000000001": {"name": "stw", "scopes": ["profile:read", "identity:write"]},
    "dpo-key-0000000000000001": {"name": "dpo", "scopes": ["profile:read", "privacy:admin"]},
}
NEVER = "m_aaaaaaaaaaaaaaaa"  # shaped as a member ID, given to no one
ERASE = 'mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-32") { state } }'
ASK = "query($id: ID!) { member(id: $id) { id } }"


@pytest.fixture(scope="module")
def erased(tmp_path_factory: pytest.TempPathFactory, demo_source: Any) -> Iterator[tuple[str, str]]:
    """A server, and the ID of a member the DPO erased on it."""
    folder = tmp_path_factory.mktemp("erased")
    # A copy: the erasure rewrites the folder's files, and the demo set is the session's
    data = folder / "data"
    shutil.copytree(demo_source, data)
    settings = Settings(
        data=data,
        store=f"sqlite:///{folder / 'identity.db'}",
        cache_dir=folder / "cache",
        api_keys=KEYS,
        jwt_secret=SecretStr(SECRET),
    )
    with serving(create_app(settings)) as address:
        page = _post(address, "{ members(first: 1) { edges { node { id } } } }", "analyst")
        member = page["data"]["members"]["edges"][0]["node"]["id"]
        done = _post(address, ERASE, "dpo", id=member)
        assert done["data"]["eraseMember"]["state"] == "DONE", done
        yield address, member


_WHO = {"analyst": "an", "dpo": "dpo", "steward": "stw", "personalization": "pers"}


def _credential(who: str, member: str) -> str:
    """The erased member's own app token (bound to its ID), or a key of its holder."""
    if who == "own-token":
        now = int(time.time())
        claims = {"sub": "app", "scope": "profile:read", "member_id": member, "exp": now + 600}
        return jwt.encode(claims, SECRET, algorithm="HS256")
    return next(key for key, holder in KEYS.items() if holder["name"] == _WHO[who])


def _post(address: str, query: str, who: str, member: str = "", **variables: str) -> Any:
    credential = _credential(who, member)
    answer = httpx.post(
        f"http://{address}/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {credential}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.mark.parametrize("who", ["own-token", "steward", "dpo"])
def test_an_erased_id_is_said_erased_to_who_may_know(erased: tuple[str, str], who: str) -> None:
    address, member = erased
    # When the erased member's own app, a steward or the DPO asks for it by ID
    answer = _post(address, ASK, who, member, id=member)
    # Then it is null, with an error that says it was erased, at its path
    assert answer["data"] == {"member": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "ERASED" and error["path"] == ["member"]
    assert member in error["message"]


@pytest.mark.parametrize("who", ["personalization", "analyst"])
def test_an_erased_id_is_as_unknown_to_others(erased: tuple[str, str], who: str) -> None:
    address, member = erased
    # When a caller that is not told of erasures asks for the erased ID, and for one never given
    gone = _post(address, ASK, who, id=member)
    never = _post(address, ASK, who, id=NEVER)
    # Then both answers are the same: null, no error (whether the ID existed is not said)
    assert gone == never and gone["data"] == {"member": None} and "errors" not in gone


@pytest.mark.parametrize("who", ["steward", "dpo"])
def test_an_id_never_given_stays_null_without_error(erased: tuple[str, str], who: str) -> None:
    address, _ = erased
    # When even a caller who may know asks for an ID no member ever had
    answer = _post(address, ASK, who, id=NEVER)
    # Then it is null with no error: mistyped, not erased
    assert answer["data"] == {"member": None} and "errors" not in answer
