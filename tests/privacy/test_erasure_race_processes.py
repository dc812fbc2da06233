"""Erasure and ingest across processes: two real `serve` processes over one SQLite store take
purchases carrying a person's e-mail while one of them erases her. Once the erasure answers
DONE, no line, record, identifier, feed entry or byte of the store's files holds her e-mail,
and no process finds her. (Each interleaving is held in place in-process by
``test_erasure_race.py``; here the processes run free.)"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

import httpx

from tests.support.serve import serve_ready, until

ROUNDS = 3
FIND = """query($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) { id } }"""
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-RACE") {
  state steps { name outcome } } }"""


def _contact(n: int) -> dict[str, object]:
    return {
        "contact_id": f"C-RACE-{n}",
        "first_name": "Rosalind",
        "last_name": f"Racewell{n}",
        "emails": [_email(n)],
        "updated_at": "2026-11-01T00:00:00Z",
    }


def _email(n: int) -> str:
    return f"rosalind.race{n}@racemail.org"


def _purchase(email: str, line: str) -> dict[str, object]:
    return {
        "transaction_id": line,
        "email": email,
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 700,
    }


def _post_until(address: str, email: str, stop: threading.Event, tag: str, said: set[str]) -> None:
    """Purchases with her e-mail, a new one and one sent again each time, until ``stop``.
    Each answer is waited for: a push given up on would go on unseen."""
    with httpx.Client(base_url=f"http://{address}", timeout=120) as client:
        for n in itertools.count():
            if stop.is_set():
                return
            lines = [_purchase(email, f"T-{tag}-{n}"), _purchase(email, f"T-{tag}-again")]
            answer = client.post("/ingest/transactions", json=lines)
            said.update(line["status"] for line in answer.json().get("lines", []))


def _gql(address: str, query: str, **variables: object) -> dict[str, object]:
    answer = httpx.post(
        f"http://{address}/graphql", json={"query": query, "variables": variables}, timeout=120
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]  # type: ignore[no-any-return]


def _left(store: Path, email: str) -> list[str]:
    """Where her e-mail is still stored: tables, and bytes of the store's files."""
    like = f"%{email}%"
    with sqlite3.connect(store) as db:
        found = [
            table
            for table, sql in [
                ("source_lines", "SELECT 1 FROM source_lines WHERE body LIKE ?"),
                ("records", "SELECT 1 FROM records WHERE key LIKE ?"),
                ("identifiers", "SELECT 1 FROM identifiers WHERE value LIKE ?"),
                ("source_pending", "SELECT 1 FROM source_pending WHERE line_id LIKE ?"),
            ]
            if db.execute(sql, (like,)).fetchone() is not None
        ]
    files = [store, store.with_name(store.name + "-wal")]
    return found + [p.name for p in files if p.exists() and email.encode() in p.read_bytes()]


def test_ingest_racing_an_erasure_on_another_process_leaves_nothing_of_her(
    data_dir: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    with serve_ready(data_dir, store) as (a, _), serve_ready(data_dir, store) as (b, _):
        for n in range(ROUNDS):
            # Given her contact, and both processes taking purchases with her e-mail
            email = _email(n)
            sent = httpx.post(f"http://{a}/ingest/crm", json=[_contact(n)], timeout=60)
            assert sent.status_code == 200, sent.text
            member = _gql(a, FIND, e=email)["memberByIdentifier"]["id"]  # type: ignore[index]
            stop, said = threading.Event(), set[str]()
            posters = [
                threading.Thread(target=_post_until, args=(where, email, stop, f"{n}{tag}", said))
                for where, tag in ((a, "A"), (b, "B"), (b, "C"))
            ]
            for poster in posters:
                poster.start()
            until(lambda said=said: "created" in said, 60)  # her purchases are going in
            # When one process erases her while the pushes go on
            erased = _gql(a, ERASE, id=member)["eraseMember"]
            until(
                lambda said=said: "suppressed" in said, 60
            )  # (the pushes now meet her suppression)
            stop.set()
            for poster in posters:
                poster.join()
            # Then, once it answered DONE, nothing of hers is stored, and no process finds her
            assert erased["state"] == "DONE", erased  # type: ignore[index]
            assert _left(store, email) == [], f"round {n}"
            for where in (a, b):
                found = _gql(where, FIND, e=email)["memberByIdentifier"]
                assert found is None, (n, where, found, member)
