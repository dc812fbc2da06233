"""A :class:`MemberQuery` and an order as SQL over ``member_metrics`` (a page, a count,
grouped figures), and a :class:`ConflictQuery` over the identity events (values bound,
never spliced: only column names from fixed tables are)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from membergraph.identity.store.conflict_state import RESOLVED
from membergraph.identity.store.metrics_port import (
    SALE_KEYS,
    ConflictQuery,
    GroupKey,
    MemberQuery,
    OrderField,
    Range,
    StatsRow,
)
from membergraph.identity.store.sqlite_schema import DECIDED
from membergraph.identity.store.types import IdentityEvent, event_from

__all__ = [
    "conflict_count",
    "conflict_decisions",
    "conflicts_page",
    "member_count",
    "member_page",
    "member_stats",
    "member_where",
    "order_sql",
    "segment_counts",
]


_T = "member_metrics."  # every column qualified: the aggregates join other tables


def _range(column: str, bounds: Range | None, where: list[str], params: list[Any]) -> None:
    if bounds is None:
        return
    if bounds.low is not None:
        where.append(f"{_T}{column} >= ?")
        params.append(bounds.low)
    if bounds.high is not None:
        where.append(f"{_T}{column} <= ?")
        params.append(bounds.high)


def member_where(query: MemberQuery) -> tuple[list[str], list[Any]]:
    """The conditions (joined by AND) and their parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.segment is not None:
        where.append(f"{_T}member_id IN (SELECT member_id FROM member_segments WHERE segment = ?)")
        params.append(query.segment)
    if query.tier is not None:
        where.append(f"{_T}tier = ?")
        params.append(query.tier)
    for column, value in (
        ("sources", query.source),
        ("consented", query.consented),
        ("reachable", query.reachable),
    ):
        if value is not None:
            where.append(f"instr({_T}{column}, ?) > 0")
            params.append(f",{value},")
    _range("lifetime_spend_cents", query.lifetime_spend_cents, where, params)
    _range("monetary_cents", query.monetary_cents, where, params)
    _range("points_balance", query.points_balance, where, params)
    if query.last_purchase_at is not None:
        where.append(f"{_T}last_purchase_at > 0")
        _range("last_purchase_at", query.last_purchase_at, where, params)
    return where, params


def order_sql(order: OrderField, descending: bool) -> tuple[str, str]:
    """The column to order by and the direction."""
    return order.value, "DESC" if descending else "ASC"


def conflict_decisions(
    db: sqlite3.Connection, conflicts: Iterable[int] | None = None
) -> list[IdentityEvent]:
    """Every steward's decision about a conflict, oldest first (``events_kind`` finds them);
    ``conflicts``: those about these conflicts only (``events_decision`` finds them)."""
    if conflicts is None:
        rows = db.execute(f"SELECT * FROM events WHERE {DECIDED} ORDER BY id")
    else:
        rows = db.execute(
            # (INDEXED BY: with no statistics, SQLite would pick events_kind, all of them.)
            f"SELECT * FROM events INDEXED BY events_decision WHERE {DECIDED} AND "
            "json_extract(evidence, '$.conflict_id') IN (SELECT value FROM json_each(?)) "
            "ORDER BY id",
            (orjson.dumps(sorted(set(conflicts))).decode(),),
        )
    return [event_from(r, orjson.loads(r["evidence"]), orjson.loads(r["records"])) for r in rows]


_LATEST = (
    # The newest decision about the conflict of the outer row, searched in ``events_decision``
    # (``+``: the id compared without its column's affinity, or SQLite scans the index).
    f"(SELECT kind FROM events AS d INDEXED BY events_decision WHERE {DECIDED} AND "
    "json_extract(evidence, '$.conflict_id') = +events.id ORDER BY id DESC LIMIT 1)"
)


def _conflict_where(query: ConflictQuery) -> tuple[str, list[Any]]:
    where, params = ["kind = 'conflict'"], []
    if query.state != "all":  # (resolved: its newest decision closed it, as conflict_state says)
        where.append(f"{_LATEST} {'IS NOT' if query.state == 'open' else '='} '{RESOLVED}'")
    for condition, value in (
        ("rule = ?", query.kind),
        ("at >= ?", query.since.isoformat() if query.since else None),
        ("at < ?", query.until.isoformat() if query.until else None),
        ("member_id = ?", query.member_id),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    return " AND ".join(where), params


def conflicts_page(
    db: sqlite3.Connection,
    query: ConflictQuery,
    before: int | None,
    limit: int,
    oldest_first: bool = False,
) -> list[IdentityEvent]:
    where, params = _conflict_where(query)
    if before is not None:
        where += " AND id > ?" if oldest_first else " AND id < ?"
        params.append(before)
    order = "ASC" if oldest_first else "DESC"
    rows = db.execute(
        f"SELECT * FROM events WHERE {where} ORDER BY id {order} LIMIT ?", (*params, limit)
    ).fetchall()
    return [event_from(r, orjson.loads(r["evidence"]), orjson.loads(r["records"])) for r in rows]


def conflict_count(db: sqlite3.Connection, query: ConflictQuery) -> int:
    where, params = _conflict_where(query)
    return int(db.execute(f"SELECT count(*) FROM events WHERE {where}", params).fetchone()[0])


def member_page(
    db: sqlite3.Connection,
    query: MemberQuery,
    order: OrderField,
    descending: bool,
    after: tuple[int | str, str] | None,
    limit: int,
) -> list[tuple[str, int | str]]:
    where, params = member_where(query)
    column, direction = order_sql(order, descending)
    if after is not None:
        where.append(f"({column}, member_id) {'<' if descending else '>'} (?, ?)")
        params += list(after)
    sql = (
        f"SELECT member_id, {column} FROM member_metrics WHERE {' AND '.join(where) or '1'}"
        f" ORDER BY {column} {direction}, member_id {direction} LIMIT ?"
    )
    return [(r[0], r[1]) for r in db.execute(sql, (*params, limit))]


def member_count(db: sqlite3.Connection, query: MemberQuery) -> int:
    where, params = member_where(query)
    sql = f"SELECT count(*) FROM member_metrics WHERE {' AND '.join(where) or '1'}"
    return int(db.execute(sql, params).fetchone()[0])


_GROUPS: dict[str, str] = {
    "segment": "g.segment",
    "tier": "member_metrics.tier",
    "channel": "s.channel",
    "month": "s.month",
    "store": "nullif(s.store, '')",
}


def member_stats(
    db: sqlite3.Connection, query: MemberQuery, group_by: Sequence[GroupKey]
) -> list[StatsRow]:
    where, params = member_where(query)
    keys = [_GROUPS[g] for g in group_by]
    by_sale = bool(SALE_KEYS & set(group_by))
    if by_sale:  # the members without a sale: a group of their own (StatsRow)
        keys.append("s.member_id IS NULL")
    joins = ""
    if "segment" in group_by:  # a member in no segment: a group of its own (null)
        joins += " LEFT JOIN member_segments AS g ON g.member_id = member_metrics.member_id"
    joins += " LEFT JOIN member_sales AS s ON s.member_id = member_metrics.member_id"
    select = "".join(f"{k}, " for k in keys)
    sql = (
        f"SELECT {select}count(DISTINCT member_metrics.member_id), coalesce(sum(s.purchases), 0),"
        " coalesce(sum(s.spend_cents), 0), coalesce(sum(s.points_earned), 0),"
        " coalesce(sum(s.points_redeemed), 0)"
        f" FROM member_metrics{joins} WHERE {' AND '.join(where) or '1'}"
        + (f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}" if keys else "")
    )
    found = []
    for row in db.execute(sql, params):
        key = dict(zip(group_by, row[: len(group_by)], strict=True))
        members, purchases, spend, earned, redeemed = row[len(keys) :]
        none = by_sale and bool(row[len(keys) - 1])
        found.append(StatsRow(key, members, purchases, spend, earned, redeemed, none))
    return found


def segment_counts(db: sqlite3.Connection) -> dict[str, int]:
    rows = db.execute("SELECT segment, count(*) FROM member_segments GROUP BY segment")
    return {str(s): int(n) for s, n in rows}
