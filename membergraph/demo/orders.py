"""A purchase line of a later round's phenomenon, drawn from that phenomenon's own stream."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from membergraph.demo.vocabulary import CATEGORIES, NOW

__all__ = ["between", "order_line", "stamp"]


def stamp(moment: datetime) -> str:
    """A moment as the sources write it (``2026-03-01T10:00:00Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


def between(rng: random.Random, start: datetime, end: datetime = NOW) -> datetime:
    """A moment from ``start`` to ``end``."""
    return start + timedelta(seconds=rng.randrange(max(1, int((end - start).total_seconds()))))


def order_line(
    rng: random.Random,
    prefix: str,
    moment: datetime,
    card: str | None,
    email: str | None,
) -> dict[str, Any]:
    """A completed purchase: at a store (no e-mail) or, given an e-mail, on the web store."""
    category = rng.choice(list(CATEGORIES))
    amount = CATEGORIES[category]
    online = email is not None
    return {
        "transaction_id": f"{prefix}{rng.randrange(10**8, 10**9)}",
        "loyalty_id": card,
        "email": email,
        "store_id": None if online else f"S{rng.randrange(1, 40):03d}",
        "channel": "online" if online else "store",
        "occurred_at": stamp(moment),
        "amount_cents": amount,
        "currency": "USD",
        "points_earned": amount // 100,
        "points_redeemed": 0,
        "status": "completed",
        "items": [
            {
                "sku": f"{category[:3].upper()}-{rng.randrange(1000)}",
                "category": category,
                "quantity": 1,
                "unit_price_cents": amount,
            }
        ],
    }
