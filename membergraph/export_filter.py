"""The members export's filter, from ``GET /export/members.csv``'s query parameters or from
``membergraph export``'s flags: one parser, the same names and errors for both.

The names are ``members(filter:)``'s: ``segment``, ``tier``, ``source``, ``consent``,
``reachable``, ``lifetimeSpendMin``/``Max``, ``spend12mMin``/``Max``,
``pointsBalanceMin``/``Max``, ``lastPurchaseAfter``/``Before`` (ISO 8601); on the command
line ``--segment``, ``--lifetime-spend-min``, ``--spend12m-max``, ``--last-purchase-after``...
(:func:`flag_of`). Each holds one value, as a field of ``members(filter:)`` does: a
repeated one (``?tier=GOLD&tier=SILVER``) is refused rather than half taken, as is an
unknown one (a misspelt filter must not export everyone).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from membergraph.identity.store.metrics_port import MemberQuery
from membergraph.resolvers.errors import CodedError
from membergraph.schema.analytics import AmountRange, MemberFilter, member_query
from membergraph.schema.enums import Source
from membergraph.schema.insights import Channel, Segment
from membergraph.settings import Settings

__all__ = ["PARAMETERS", "flag_of", "query_of"]

PARAMETERS = (
    "segment",
    "tier",
    "source",
    "consent",
    "reachable",
    *(
        f"{name}{end}"
        for name in ("lifetimeSpend", "spend12m", "pointsBalance")
        for end in ("Min", "Max")
    ),
    "lastPurchaseAfter",
    "lastPurchaseBefore",
)
"""The filter's parameters, as ``members(filter:)`` names its fields."""


def flag_of(name: str) -> str:
    """The command line's flag for a parameter: ``lifetimeSpendMin`` is
    ``--lifetime-spend-min``."""
    return "--" + re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def _bad(message: str) -> CodedError:
    return CodedError(message, "BAD_USER_INPUT")


def _enum(kind: Any, value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return kind[value]
    except KeyError:
        raise _bad(f"{name}: unknown {value!r}; use one of {', '.join(kind.__members__)}") from None


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    if not raw.lstrip("-").isascii() or not raw.lstrip("-").isdigit() or len(raw) > 16:
        raise _bad(f"{name}: not a whole number: {raw!r}")
    return int(raw)


def _range(params: Mapping[str, str], name: str) -> AmountRange | None:
    low, high = _int(params, f"{name}Min"), _int(params, f"{name}Max")
    return None if low is None and high is None else AmountRange(min=low, max=high)  # type: ignore[arg-type]


def _moment(params: Mapping[str, str], name: str) -> datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"{name}: not an ISO 8601 moment: {raw!r}") from None


def _once(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    given = list(pairs)
    unknown = sorted({name for name, _ in given} - set(PARAMETERS))
    if unknown:
        raise _bad(f"unknown parameter(s) {', '.join(unknown)}; use {', '.join(PARAMETERS)}")
    repeated = sorted(name for name, n in Counter(name for name, _ in given).items() if n > 1)
    if repeated:
        raise _bad(
            f"{', '.join(repeated)}: given more than once; a filter holds one value, as in "
            "members(filter:) (export once per value)"
        )
    return dict(given)


def query_of(pairs: Iterable[tuple[str, str]], settings: Settings) -> MemberQuery:
    """The store's query for the filter's ``(name, value)`` pairs (a request's query
    parameters, or the flags given); BAD_USER_INPUT naming a bad, unknown or repeated one."""
    params = _once(pairs)
    found = MemberFilter(
        source=_enum(Source, params.get("source"), "source"),
        segment=_enum(Segment, params.get("segment"), "segment"),
        tier=params.get("tier"),
        lifetime_spend_cents=_range(params, "lifetimeSpend"),
        spend_12m_cents=_range(params, "spend12m"),
        points_balance=_range(params, "pointsBalance"),
        last_purchase_after=_moment(params, "lastPurchaseAfter"),
        last_purchase_before=_moment(params, "lastPurchaseBefore"),
        consent=_enum(Channel, params.get("consent"), "consent"),
        reachable=_enum(Channel, params.get("reachable"), "reachable"),
    )
    return member_query(found, settings)
