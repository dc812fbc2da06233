"""An export never holds less than there is without saying so: every privacy request of the
member is listed, and the audit of who read her data, cut to its newest 1,000 entries, says
it was cut."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder

FIND = 'query { memberByIdentifier(kind: EMAIL, value: "zephyrine.quill@quillmail.org") { id } }'


def _request_row(n: int, member: str) -> tuple[str, str, str, str]:
    at = f"2026-11-01T00:{n // 60:02d}:{n % 60:02d}+00:00"
    body = {"kind": "erase", "reason": f"DPO-{n}", "actor": "dpo", "updated_at": at}
    body |= {"state": "done", "steps": {}, "counts": {}}
    return f"pr_{n:04d}", member, at, orjson.dumps(body).decode()


def test_an_export_lists_every_request_and_says_when_the_audit_is_cut(
    data_dir: Path, tmp_path: Path
) -> None:
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        first = client.get(f"/privacy/members/{member}/export").json()
        assert first["cut"] == {} and len(first["pii_access_log"]) == 0
        # Given a member read 1,001 times more, with 120 requests on file (a busy year)
        with sqlite3.connect(db) as conn:
            conn.executemany(
                "INSERT INTO pii_access (at, actor, member_id, fields, request_id)"
                " VALUES (?, 'app', ?, '[\"profile\"]', ?)",
                [("2026-11-02T00:00:00+00:00", member, f"r{n}") for n in range(1001)],
            )
            conn.executemany(
                "INSERT INTO privacy_requests VALUES (?,?,?,?)",
                [_request_row(n, member) for n in range(120)],
            )
        # When her export is asked for
        export = client.get(f"/privacy/members/{member}/export").json()
    # Then every request is there, and the audit says it holds its newest 1,000 of more
    assert len(export["privacy_requests"]) == 120
    assert len({r["id"] for r in export["privacy_requests"]}) == 120
    assert len(export["pii_access_log"]) == 1000
    assert export["cut"] == {"pii_access_log": {"shown": 1000, "more": True}}
