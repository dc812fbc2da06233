"""``profile_query.py --changes-per-s N``: a stream of purchases pushed while wrk asks.

Each purchase is a line POSTed to ``/ingest/transactions`` on the card of a member whose
e-mail the run asks (each change drops her kept answers), ``N`` lines a second from a thread
of the benchmark's process, members taken at random from the pool asked. A POST every
:data:`EVERY` seconds carries the lines due since the last one (one at a time, each POST
took up to a second under wrk's load at 10,000 people: 43 lines in 8 s were asked for 320).
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

__all__ = ["EVERY", "Changes", "cards_of"]

EVERY = 0.1


def cards_of(contacts: list[dict[str, Any]], emails: list[str]) -> list[str]:
    """The loyalty cards of the contacts whose e-mail is among ``emails`` (one per contact)."""
    asked = set(emails)
    cards = []
    for contact in contacts:
        mine = {e.strip().lower() for e in contact["emails"]}
        if contact.get("loyalty_id") and mine & asked:
            cards.append(str(contact["loyalty_id"]))
    return cards


class Changes:
    """Purchases on ``cards`` pushed to ``base`` at ``per_s`` lines a second while it runs
    (``with Changes(...) as changes``); ``changes.sent``, ``.failed`` and the push's p50
    and p99 in ms after."""

    def __init__(self, base: str, key: str, cards: list[str], per_s: float, run: str) -> None:
        self.base, self.key, self.cards, self.per_s, self.run = base, key, cards, per_s, run
        self.sent = self.failed = 0
        self.took: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._push, daemon=True)

    def __enter__(self) -> Changes:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _push(self) -> None:
        pick = random.Random(self.run)
        headers = {"Authorization": f"Bearer {self.key}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            began = time.monotonic()
            while not self._stop.is_set():
                due = int((time.monotonic() - began) * self.per_s) - self.sent - self.failed
                if due > 0:
                    self._post(client, pick, due)
                self._stop.wait(EVERY)

    def _post(self, client: httpx.Client, pick: random.Random, lines: int) -> None:
        sent = [self._line(pick, self.sent + self.failed + n) for n in range(lines)]
        began = time.monotonic()
        try:
            answer = client.post("/ingest/transactions", json=sent)
            ok = answer.status_code == 200
        except httpx.HTTPError:
            ok = False
        self.took.append((time.monotonic() - began) * 1000)
        if ok:
            self.sent += lines
        else:
            self.failed += lines

    def _line(self, pick: random.Random, n: int) -> dict[str, Any]:
        return {
            "transaction_id": f"T-BENCH-{self.run}-{n}",
            "loyalty_id": pick.choice(self.cards),
            "store_id": "S001",
            "channel": "store",
            "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "amount_cents": 1250,
            "currency": "USD",
            "points_earned": 12,
            "points_redeemed": 0,
            "status": "completed",
            "items": [],
        }

    def quantile(self, q: float) -> float:
        ordered = sorted(self.took)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0

    def said(self) -> str:
        return (
            f"changes: {self.sent} purchases pushed ({self.failed} failed) in"
            f" {len(self.took)} POSTs, POST p50 {self.quantile(0.5):.1f} ms, p99 {self.quantile(0.99):.1f} ms"
        )
