"""Points a member holds as of the reference, with the program's optional expiry.

Without expiry (the default) the balance is the points earned minus those redeemed. With
``expiry_days`` = N, the points a line earns expire N days after it unless spent first:
a redemption, or a refund line taking points back, uses the oldest points first, so the
points that expire are the ones never spent. Points a refund line gives back (the points
that had paid for refunded goods) count as earned on the refund's day. Spending more than
is held makes the balance negative (``NEGATIVE_BALANCE``); later points pay that off
first.

Example:
    >>> from datetime import UTC, datetime
    >>> day = datetime(2026, 1, 1, tzinfo=UTC)
    >>> held([(day, 100, 0)], 30, datetime(2026, 3, 1, tzinfo=UTC)).expired
    100
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Held", "Move", "held"]

Move = tuple[datetime, int, int]
"""A line's points: when, earned and redeemed (both negative on a refund line)."""


@dataclass(frozen=True, slots=True)
class Held:
    """Points earned, redeemed and expired; the balance is what is left."""

    earned: int = 0
    redeemed: int = 0
    expired: int = 0
    next_expiry: datetime | None = None
    """When the next points held expire (after the reference): the balance changes then
    with no new line (None: none held expire)."""

    @property
    def balance(self) -> int:
        return self.earned - self.redeemed - self.expired


def held(moves: Iterable[Move], expiry_days: int | None, reference: datetime) -> Held:
    """The points held as of ``reference`` after ``moves`` (all dated by then)."""
    ordered = sorted(moves, key=lambda m: m[0])
    earned = sum(m[1] for m in ordered)
    redeemed = sum(m[2] for m in ordered)
    if expiry_days is None:
        return Held(earned, redeemed)
    expired, next_expiry = _expired(ordered, timedelta(days=expiry_days), reference)
    return Held(earned, redeemed, expired, next_expiry)


@dataclass(slots=True)
class _Lot:
    expires: datetime
    left: int


def _expired(
    moves: list[Move], lifetime: timedelta, reference: datetime
) -> tuple[int, datetime | None]:
    lots: deque[_Lot] = deque()  # oldest first (every lot lives as long)
    owed = expired = 0

    def expire(until: datetime) -> None:
        nonlocal expired
        while lots and lots[0].expires <= until:
            expired += lots.popleft().left

    for at, earned, redeemed in moves:
        expire(at)
        owed += max(redeemed, 0) + max(-earned, 0)  # spent or taken back: oldest first
        while owed and lots:
            used = min(owed, lots[0].left)
            lots[0].left -= used
            owed -= used
            if not lots[0].left:
                lots.popleft()
        gained = max(earned, 0) + max(-redeemed, 0)
        paid = min(owed, gained)  # points owed are paid off first
        owed -= paid
        if gained > paid:
            lots.append(_Lot(at + lifetime, gained - paid))
    expire(reference)
    return expired, lots[0].expires if lots else None
