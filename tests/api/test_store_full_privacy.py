"""Personal data and erasures on a full disk: a read with ``pii:read`` whose audit entry
cannot be written is refused ``STORE_FULL`` saying so (no personal data is read unaudited)
while masked reads answer; an erasure asked then answers ``STORE_FULL`` saying whether it
was recorded (then finished once room is made) or not (ask again), never
``STORE_UNAVAILABLE`` with nothing recorded.

The disk fills in a child process, under a file size limit (``ulimit -f``), as in
``test_store_full.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.child import run_child

pytestmark = [pytest.mark.sqlite, pytest.mark.skipif(os.name != "posix", reason="ulimit -f")]

_CHILD = r"""
import json, os, resource, sys
import orjson
from starlette.testclient import TestClient
from membergraph.app import create_app
from membergraph.settings import Settings

path, cache = sys.argv[1], sys.argv[2]
DPO, PERSO, PUSH = "dpo-key-0123456789abcdef", "perso-key-0123456789abcd", "push-key-0123456789abcde"
keys = {
    DPO: {"name": "dpo", "scopes": ["privacy:admin", "profile:read", "pii:read"]},
    PERSO: {"name": "perso", "scopes": ["profile:read"]},
    PUSH: {"name": "till", "scopes": ["ingest:write"]},
}

def contacts(batch):
    return b"\n".join(
        orjson.dumps({
            "contact_id": f"C-{batch}-{i}", "first_name": "Mo", "last_name": f"Ved{i}",
            "emails": [f"mo.{batch}.{i}@mail-example.org"], "notes": "x" * 2000,
            "updated_at": "2026-11-01T00:00:00Z",
        })
        for i in range(40)
    )

def ask(http, key, query):
    return http.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"}).json()

def codes(answer):
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]

said = {}
settings = Settings(store=f"sqlite:///{path}", cache_dir=cache, demo_members=20, api_keys=keys)
with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
    member = ask(http, PERSO, "{ members(first: 1) { edges { node { id } } } }")
    member = member["data"]["members"]["edges"][0]["node"]["id"]
    held = max(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (held + 2 * 1024 * 1024, hard))  # the disk fills
    push = {"Authorization": f"Bearer {PUSH}"}
    for batch in range(400):
        if http.post("/ingest/crm", content=contacts(batch), headers=push).status_code != 200:
            break
    read = "{ member(id: \"%s\") { id profile { lastName } } }" % member
    said["masked"] = ask(http, PERSO, read)
    for _ in range(10):  # (a read whose entry still fits in the last page is answered)
        said["pii"] = ask(http, DPO, read)
        if said["pii"].get("errors"):
            break
    erase = "mutation { eraseMember(id: \"%s\", reason: \"asked\") { id state } }" % member
    said["erase"] = ask(http, DPO, erase)
    asked = "{ privacyRequests(memberId: \"%s\") { id state } }" % member
    said["recorded"] = ask(http, DPO, asked)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room is made
    said["erase_with_room"] = ask(http, DPO, erase)
print(json.dumps(said))
"""


def test_on_a_full_disk_pii_reads_and_erasures_say_store_full_and_what_to_do(
    tmp_path: Path,
) -> None:
    # Given a gateway whose disk is full
    said = run_child(_CHILD, tmp_path, str(tmp_path / "store.db"), str(tmp_path / "cache"))
    # Then a masked read answers
    assert "errors" not in said["masked"] and said["masked"]["data"]["member"], said["masked"]
    # and a read of personal data, whose audit cannot be written, is refused saying so
    (refused,) = said["pii"]["errors"]
    assert refused["extensions"]["code"] == "STORE_FULL", refused
    assert "the audit of this read could not be written" in refused["message"]
    assert "masked reads still answer" in refused["message"]
    # and an erasure answers STORE_FULL, saying whether it was recorded, as it was
    (full,) = said["erase"]["errors"]
    assert full["extensions"]["code"] == "STORE_FULL", full
    requests = said["recorded"]["data"]["privacyRequests"]
    if "nothing of the erasure" in full["message"]:
        assert requests == [] and "ask again" in full["message"]
    else:
        assert [r["id"] for r in requests] == [full["extensions"]["request"]], said
        assert "finished once room is made" in full["message"]
    # and once room is made, asked again, she is erased
    assert said["erase_with_room"]["data"]["eraseMember"]["state"] == "DONE", said
