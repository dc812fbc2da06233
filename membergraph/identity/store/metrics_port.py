"""The metrics port: per-member figures kept in the store, and what the database computes
over them (ranked scores, segments, filtered and ordered pages, counts, aggregates).

The figures are measured elsewhere (``membergraph.scores`` from the sources); the store
keeps them, ranks them and answers questions over them without any process holding the
population. Timestamps are microseconds since the epoch (0: never), so that every
adapter orders and compares them as integers.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import orjson

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.store.conflict_state import ConflictState

if TYPE_CHECKING:
    from membergraph.identity.store.types import IdentityEvent

__all__ = [
    "DAYS",
    "FIGURES",
    "ConflictQuery",
    "GroupKey",
    "MemberQuery",
    "MetricsRow",
    "MetricsStore",
    "OrderField",
    "RANKS",
    "Range",
    "Scoring",
    "SegmentRules",
    "SalesRow",
    "ScoredRow",
    "SALE_KEYS",
    "StatsRow",
    "Cuts",
    "cuts_of",
    "cuts_text",
    "segment_rules",
    "tier_changes",
]

FIGURES = (
    "last_purchase_at",
    "first_purchase_at",
    "frequency",
    "monetary_cents",
    "prior_frequency",
    "prior_monetary_cents",
    "engagement",
    "last_engaged_at",
    "last_activity_at",
    "lifetime_spend_cents",
    "points_earned",
    "points_redeemed",
    "points_balance",
    "declining",  # 1: lower on purchases, spend and recency than the 12 months before
)
"""The integer figures of a row, in column order."""

RANKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "r": ("last_purchase_at", ("last_purchase_at", "frequency", "monetary_cents")),
    "f": ("frequency", ("frequency", "monetary_cents", "last_purchase_at")),
    "m": ("monetary_cents", ("monetary_cents", "frequency", "last_purchase_at")),
    "e": ("engagement", ("engagement", "last_engaged_at")),
    "p": ("prior_monetary_cents", ("prior_monetary_cents", "prior_frequency")),
}
"""Each score column: the figure a row must have above 0 to be ranked, and the ranking order
worst first, ties by member ID last (``insights.rfm.RANKED_BY``, as stored figures)."""

DAYS = ("recency_days", "first_purchase_days", "last_activity_days", "prior_recency_days")
"""Whole days before the row's reference (None: never happened)."""


class SalesRow(NamedTuple):
    """A member's purchases and refunds of one channel, store and month (a named tuple: a
    rebuild makes one per member and month, 90,000 for 20,000 people)."""

    channel: str
    store: str
    month: str
    purchases: int
    spend_cents: int
    points_earned: int
    points_redeemed: int


@dataclass(frozen=True, slots=True)
class MetricsRow:
    """One member's figures as measured as of ``measured_at`` (microseconds)."""

    member_id: str
    measured_at: int
    figures: dict[str, int]  # every name of FIGURES
    days: dict[str, int | None]  # every name of DAYS
    tier: str
    sources: tuple[str, ...] = ()
    consented: tuple[str, ...] = ()
    reachable: tuple[str, ...] = ()
    sales: tuple[SalesRow, ...] = ()


@dataclass(frozen=True, slots=True)
class ScoredRow:
    """A stored row with its scores (recency, frequency, monetary, engagement,
    prior_monetary) and segments, as the last scoring left them."""

    row: MetricsRow
    scores: tuple[int, int, int, int, int]
    segments: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds; None: unbounded."""

    low: int | None = None
    high: int | None = None


@dataclass(frozen=True, slots=True)
class MemberQuery:
    """Which members: every condition given must hold."""

    segment: str | None = None
    tier: str | None = None
    source: str | None = None
    lifetime_spend_cents: Range | None = None
    monetary_cents: Range | None = None  # spend in the last 12 months
    points_balance: Range | None = None
    last_purchase_at: Range | None = None  # microseconds; a member who never bought: out
    consented: str | None = None  # a channel opted in
    reachable: str | None = None  # a channel reachable on


@dataclass(frozen=True, slots=True)
class ConflictQuery:
    """Which identity conflicts: every condition given must hold."""

    kind: str | None = None  # the conflict's kind (the event's rule)
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before
    member_id: str | None = None
    state: ConflictState = "all"  # open, resolved by a steward (conflict_state.py), or both


class OrderField(StrEnum):
    """What ``members`` may be ordered by: a column of the row (or the member's start)."""

    MEMBER_ID = "member_id"
    LIFETIME_SPEND = "lifetime_spend_cents"
    SPEND_12M = "monetary_cents"
    POINTS_BALANCE = "points_balance"
    LAST_PURCHASE = "last_purchase_at"
    MEMBER_SINCE = "member_since"


GroupKey = Literal["segment", "tier", "channel", "month", "store"]


@dataclass(frozen=True, slots=True)
class StatsRow:
    """One group of ``memberStats``: its key per dimension, and its sums.

    Grouped by a sale's dimension (channel, month, store), the members without any sale
    (no purchase or refund line by the reference) are one group of their own,
    ``no_purchase``, whose sale keys are None; a sale without a store (an online order)
    has the store None too, in a group of buyers.
    """

    key: dict[str, str | None]
    members: int
    purchases: int
    spend_cents: int
    points_earned: int
    points_redeemed: int
    no_purchase: bool = False

    def order(self) -> tuple[object, ...]:
        """Where the group comes in the answer: by its keys in order, none first, then the
        buyers of no store before the members without a purchase (both stores alike)."""
        return (*((v is not None, v or "") for v in self.key.values()), self.no_purchase)


SALE_KEYS = frozenset({"channel", "month", "store"})
"""The group keys a member has one of per sale (:class:`StatsRow`)."""


@dataclass(frozen=True, slots=True)
class SegmentRules:
    """The segments' thresholds in days, as the store applies them."""

    new_days: int = 90
    at_risk_days: int = 90
    dormant_days: int = 180


Cuts = dict[str, list[tuple[Any, ...]]]
"""Each score's quintile cut rows, as its ranking key (the stores' scoring passes: the rows
they last scored by, kept beside the scores)."""


def cuts_text(cuts: Cuts) -> str:
    return orjson.dumps(cuts).decode()


def cuts_of(text: str | None) -> Cuts | None:
    """:func:`cuts_text` read back (None: no pass kept its cuts)."""
    if not text:
        return None
    return {column: [tuple(cut) for cut in cuts] for column, cuts in orjson.loads(text).items()}


def segment_rules(rules: SegmentRules) -> dict[str, str]:
    """Each segment's condition over a row's scores (``r f m e p``), figures and days, in
    SQL: the one statement of :func:`membergraph.insights.rfm.segments_of` for stores."""
    recent = f"recency_days IS NOT NULL AND recency_days < {rules.at_risk_days}"
    return {
        "HYPERACTIVE": f"r >= 4 AND f >= 4 AND m >= 4 AND e >= 4 AND {recent}",
        "LOYAL": f"f >= 4 AND r >= 3 AND {recent}",
        "NEW": f"first_purchase_days IS NOT NULL AND first_purchase_days <= {rules.new_days}",
        "AT_RISK": f"recency_days IS NOT NULL AND recency_days >= {rules.at_risk_days} AND f >= 3",
        "ZOMBIE": f"last_activity_days IS NOT NULL AND last_activity_days >= {rules.dormant_days}",
        "FADING_STAR": "p >= 5 AND declining = 1",
    }


@dataclass(slots=True)
class Scoring:
    """What a scoring pass is asked for: the thresholds, and a name for them (a pass with
    other thresholds scores again)."""

    rules: SegmentRules = field(default_factory=SegmentRules)

    @property
    def name(self) -> str:
        r = self.rules
        # "2": the definitions' version (LOYAL and HYPERACTIVE need a purchase within
        # at_risk_days since 2026-12): a store scored by older ones scores again.
        return f"2:{r.new_days}:{r.at_risk_days}:{r.dormant_days}"


def tier_changes(rows: Sequence[MetricsRow], tiers: Mapping[str, str]) -> list[FeedEntry]:
    """The ``TIER_CHANGED`` entries of ``rows`` that replace a kept row of another tier
    (``tiers``: the kept rows' tiers by member); a member measured for the first time has no
    tier to change from. One list for every adapter to write (:meth:`MetricsStore.put`)."""
    at = datetime.now(UTC)
    return [
        FeedEntry(ChangeKind.TIER_CHANGED, (row.member_id,), at)
        for row in rows
        if tiers.get(row.member_id, row.tier) != row.tier
    ]


class MetricsStore(abc.ABC):
    """Per-member figures in the store, and the questions the database answers over them
    for analysts (members, their aggregates, and the identity conflicts)."""

    @abc.abstractmethod
    async def put(
        self,
        rows: Sequence[MetricsRow],
        gone: Sequence[str] = (),
        cursor: int = 0,
        announce: bool = False,
    ) -> int:
        """Keep ``rows`` (replacing each member's) and drop the ``gone`` members' rows, in one
        transaction. ``cursor``: the feed position the rows were measured after; a row kept
        with a later one is not replaced (a slower process measured older facts).

        ``announce``: a row that replaces one of another ``tier`` appends a ``TIER_CHANGED``
        entry naming its member to the change feed, in the same transaction (a crash keeps
        both or neither; of two processes measuring one member, one announces). Returns how
        many it appended."""

    def rebuilding(self) -> AbstractAsyncContextManager[None]:
        """Around the :meth:`put` calls of a rebuild (every member measured again): an
        adapter may set its row indexes aside while an empty table fills, and build them
        once at the end."""
        return contextlib.nullcontext()

    @abc.abstractmethod
    async def position(self) -> int | None:
        """The feed cursor the kept figures follow (None: never built, or to be rebuilt)."""

    @abc.abstractmethod
    async def set_position(self, cursor: int | None) -> None:
        """Record that the figures follow the feed up to ``cursor`` (None: rebuild them)."""

    @abc.abstractmethod
    async def basis(self) -> str | None:
        """What the kept figures were last built on (``MetricsKeeper.basis``: the settings
        measuring reads); None: never said."""

    @abc.abstractmethod
    async def set_basis(self, basis: str) -> None:
        """Record what the figures were just built on."""

    @abc.abstractmethod
    async def outdated(self, reference: int, max_age: int, limit: int) -> list[str]:
        """Members whose row was measured after ``reference`` or more than ``max_age``
        before it (microseconds): their figures are to be measured again."""

    @abc.abstractmethod
    async def score(self, scoring: Scoring) -> bool:
        """Rank every row on each axis and place it in its segments, with the database, if a
        row changed since the last pass (or the thresholds did); whether it ran.

        One pass at a time among every process over the store (SQLite: its write lock;
        MongoDB: a lease, ``mongodb_lease``): a call while another process's pass runs waits
        for it to end, then runs only if a row changed since. It waits as long as a lock or
        a lease lasts, then fails with a :class:`~.types.StoreError`."""

    @abc.abstractmethod
    async def scored(self, member_ids: Sequence[str]) -> list[ScoredRow | None]:
        """Each member's row with its scores and segments, in the order asked."""

    @abc.abstractmethod
    async def page(
        self,
        query: MemberQuery,
        order: OrderField,
        descending: bool,
        after: tuple[int | str, str] | None,
        limit: int,
    ) -> list[tuple[str, int | str]]:
        """Members matching ``query`` in the order asked (ties by member ID, in the same
        direction), after the keyset ``(value, member ID)``: each with its order value."""

    @abc.abstractmethod
    async def count(self, query: MemberQuery) -> int:
        """How many members match ``query``."""

    @abc.abstractmethod
    async def stats(self, query: MemberQuery, group_by: Sequence[GroupKey]) -> list[StatsRow]:
        """Members, purchases, spend and points per group of the members matching
        ``query``, groups in key order."""

    @abc.abstractmethod
    async def segment_counts(self) -> dict[str, int]:
        """How many members each segment holds (as the last scoring placed them)."""

    @abc.abstractmethod
    async def conflicts(
        self, query: ConflictQuery, before: int | None, limit: int, oldest_first: bool = False
    ) -> list[IdentityEvent]:
        """Conflict events matching ``query``, newest first, with an id below ``before``
        (``oldest_first``: oldest first, with an id above it)."""

    @abc.abstractmethod
    async def count_conflicts(self, query: ConflictQuery) -> int:
        """How many conflict events match ``query``."""

    @abc.abstractmethod
    async def conflict_decisions(
        self, conflicts: Iterable[int] | None = None
    ) -> list[IdentityEvent]:
        """Every steward's decision about a conflict (``conflict_state.DECISIONS``), oldest
        first; ``conflicts``: only those about these conflict events (read by an index:
        what a change reads, however many conflicts stewards decided before)."""
