"""Two real `membergraph serve` processes over one SQLite store, sent the same lines at once.

What each line's push decided (``created`` through one process, ``unchanged`` through the
other) is what the change feed says: one entry per line, of the kind the winning write
decided, and the feed's cursors in the order the lines were committed.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.serve import serve_ready

ROUNDS = 24  # each round is a new draw of who writes first; main failed in ~1 round of 7


def _purchase(n: int) -> dict[str, object]:
    return {
        "transaction_id": f"T-RACE-{n}",
        "loyalty_id": "LD-5150-2026",  # Jane Doe's card: the showcase member of every demo set
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": 10,
    }


def _event(n: int) -> dict[str, object]:
    return {
        "event_id": f"E-RACE-{n}",
        "anonymous_id": f"a-race-{n}",
        "type": "page",
        "name": "Home",
        "occurred_at": "2026-11-20T10:00:00Z",
    }


def _at_once(calls: list[Callable[[], str]]) -> list[str]:
    """Each call in its own thread, released together."""
    start, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        answers[i] = calls[i]()  # type: ignore[call-overload]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers  # type: ignore[return-value]


def _fed(store: Path, source: str, like: str) -> list[tuple[int, str, str, str]]:
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT cursor, kind, line_id, at FROM feed WHERE source = ? AND line_id LIKE ?"
            " ORDER BY cursor",
            (source, like),
        ).fetchall()


def test_the_same_line_sent_to_two_processes_at_once_is_announced_once(
    demo_source: Path, tmp_path: Path
) -> None:
    # Given two processes over one store
    folder, store = tmp_path / "data", tmp_path / "one.db"
    shutil.copytree(demo_source, folder)
    with (
        serve_ready(folder, store) as (a, _),
        serve_ready(folder, store) as (b, _),
        httpx.Client(timeout=30) as client,
    ):

        def post(address: str, source: str, line: dict[str, object]) -> Callable[[], str]:
            return lambda: client.post(f"http://{address}/ingest/{source}", json=[line]).json()[
                "lines"
            ][0]["status"]

        for n in range(ROUNDS):
            # When each new line goes to both at once
            for source, line in (("transactions", _purchase(n)), ("web_analytics", _event(n))):
                statuses = sorted(_at_once([post(a, source, line), post(b, source, line)]))
                # Then one took it and the other found it held
                assert statuses == ["created", "unchanged"], statuses
            # And two versions of one purchase sent at once are announced in commit order
            refunded = {**_purchase(ROUNDS + n), "status": "refunded"}
            _at_once(
                [post(a, "transactions", _purchase(ROUNDS + n)), post(b, "transactions", refunded)]
            )
    # And the feed names each line once, as the push that created it decided
    purchases = _fed(store, "transactions", "T-RACE-%")
    once = [(kind, line) for _, kind, line, _ in purchases if int(line[7:]) < ROUNDS]
    assert sorted(once) == sorted(("purchase_recorded", f"T-RACE-{n}") for n in range(ROUNDS))
    events = _fed(store, "web_analytics", "E-RACE-%")
    assert [kind for _, kind, _, _ in events] == ["web_event"] * ROUNDS, events
    # And a purchase's later version never comes before its first, in cursor or in time
    for n in range(ROUNDS, 2 * ROUNDS):
        told = [(kind, at) for _, kind, line, at in purchases if line == f"T-RACE-{n}"]
        kinds = [kind for kind, _ in told]
        assert kinds in (["purchase_recorded"], ["purchase_recorded", "purchase_status_changed"])
        assert [at for _, at in told] == sorted(at for _, at in told)
