"""Source lines the rekey and upgrade tests write: one online purchase by e-mail."""

from __future__ import annotations

from typing import Any


def online_purchase(tid: str, email: str, day: str = "2026-11-02") -> dict[str, Any]:
    """A card-less web order of 12 EUR on ``day``, known by its ``email`` alone."""
    return {
        "transaction_id": tid, "loyalty_id": None, "email": email, "store_id": "WEB",
        "channel": "online", "occurred_at": f"{day}T10:00:00Z", "amount_cents": 1200,
        "currency": "EUR", "points_earned": 0, "points_redeemed": 0, "status": "completed",
        "items": [],
    }  # fmt: skip
