"""A :class:`MemberQuery` and an order as SQL over ``member_metrics`` (values bound, never
spliced: only column names from fixed tables are)."""

from __future__ import annotations

from typing import Any

from membergraph.identity.store.metrics_port import MemberQuery, OrderField, Range

__all__ = ["member_where", "order_sql"]


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
