"""What each source kind is: its line model, its file name, the field that is its id, and
what orders two versions of one line.

Ordering is data beside the model (:class:`Ordering`): a CRM contact is ordered by its
``updated_at``; a transaction by its status first (``cancelled`` and ``refunded`` never fall
back to ``completed``), then its optional ``updated_at``; web and call events are immutable,
so the same id with other content is refused. A version older than the one held is
``stale`` and changes nothing, in ``POST /ingest`` and in a batch load alike.

Two versions with one ordering key and other content (a contact sent twice with one
``updated_at``, or both without one; a completed purchase sent again with another amount
and no ``updated_at``) are ordered by their content's digest (:func:`version_digest`): an
arbitrary order, but one that does not depend on which version arrives first, so every
process, every restart and the batch load keep the same version. A source that corrects a
line sends a newer key. A CRM line without ``updated_at`` is older than any line with one.

The same order is kept as text (:meth:`Ordering.version`) beside what is built from a line:
a CRM contact's identity record keeps its line's, so a writer holding an older line than the
one its record was built from (a whole resolution of a folder racing a push) keeps the
record's name and address (:meth:`~membergraph.identity.records.RecordData.fold`).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec
import orjson
from pydantic import BaseModel

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
    crm_problem,
    transaction_problem,
    web_event_problem,
)
from membergraph.connectors.reasons import Reason
from membergraph.connectors.text_fields import with_control_check

__all__ = [
    "SOURCES",
    "Ordering",
    "SourceSpec",
    "Taken",
    "Verdict",
    "outranked_version",
    "version_digest",
    "version_seconds",
]

Verdict = Literal["created", "updated", "unchanged", "stale", "rejected", "suppressed"]
"""``suppressed``: the line carries a suppressed identifier and was not taken (privacy)."""


class Taken(str):
    """A line's verdict (equal to its string, ``"created"``), with the version it replaced or
    was compared with (``previous``: None when the id was new), for a line its backend
    refused, why (``error``), and for a line stored, the mark the write that decided its
    verdict kept beside it (``mark``, see :meth:`SourceConnector.append`)."""

    __slots__ = ("error", "mark", "previous")
    previous: Any
    error: str | None
    mark: str | None

    def __new__(cls, verdict: Verdict, previous: Any = None, error: str | None = None) -> Taken:
        taken = super().__new__(cls, verdict)
        taken.previous = previous
        taken.error = error
        taken.mark = None
        return taken


def outranked_version(line: Any, taken: Taken) -> Any | None:
    """The version that taking ``line`` outranked: the one held that it replaced
    (``updated``), or the line itself when the one held is newer (``stale``); else None."""
    if taken == "updated":
        return taken.previous
    return line if taken == "stale" else None


def version_digest(line: Any) -> int:
    """What orders two versions of a line with one ordering key: a digest of the values of
    its model's fields (unknown fields, which nothing reads, left out), the same for the
    model and for the fast reader's copy of it (:mod:`.fastlines`)."""
    said = orjson.dumps(_values(line), option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(said, digest_size=8).digest(), signed=True)


def _values(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {name: _values(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, msgspec.Struct):
        return {name: _values(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, list | tuple):
        return [_values(v) for v in value]
    if isinstance(value, dict):
        return {k: _values(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Ordering:
    """How two versions of a line with one id are ordered.

    ``key`` maps a line to a number: a version whose number is lower than the held one's
    is stale; on equal numbers the greater :func:`version_digest` wins. ``immutable``: a
    line never changes once taken (events): the first version wins.
    """

    key: Callable[[Any], float] | None = None
    immutable: bool = False

    def verdict(self, held: object | None, line: object) -> Verdict:
        """What taking ``line`` does when ``held`` is the version stored (None: no version)."""
        if held is None:
            return "created"
        if held == line:
            return "unchanged"
        if self.immutable:
            return "rejected"
        if self.key is None:
            return "updated"
        ours, theirs = self.key(line), self.key(held)
        if ours == theirs:
            # A tie: the content decides, whatever came first.
            ours, theirs = version_digest(line), version_digest(held)
            if ours == theirs:
                return "unchanged"  # the same values (an unknown field aside)
        return "updated" if ours > theirs else "stale"

    def version(self, line: object) -> str | None:
        """``line``'s place in this order as text: of two lines' texts the greater is the
        version :meth:`verdict` keeps, equal texts are equal versions (None: an immutable
        line's, or a source without an ordering key). The key, then the digest, each as
        16 hexadecimal digits that sort as the numbers do."""
        if self.key is None:
            return None
        return f"{_sortable_float(self.key(line)):016x}{version_digest(line) + (1 << 63):016x}"

    def tie(self, held: object | None, line: object) -> bool:
        """Whether ``line`` and ``held`` have one ordering key (what a ``stale`` answer says)."""
        return held is not None and self.key is not None and self.key(line) == self.key(held)


def _sortable_float(number: float) -> int:
    """A float's bits as an unsigned integer in the float's order (-inf first)."""
    bits: int = struct.unpack(">Q", struct.pack(">d", number))[0]
    return bits ^ 0xFFFF_FFFF_FFFF_FFFF if bits >> 63 else bits | 1 << 63


def version_seconds(version: str | None) -> float | None:
    """The ordering key a :meth:`Ordering.version` text was made from (a CRM contact's
    ``updated_at`` as seconds since the epoch); None for no version or a line without one."""
    if not version or len(version) < 16:
        return None
    bits = int(version[:16], 16)
    bits = bits ^ (1 << 63) if bits >> 63 else bits ^ 0xFFFF_FFFF_FFFF_FFFF
    number: float = struct.unpack(">d", struct.pack(">Q", bits))[0]
    return number if number not in (float("inf"), float("-inf")) and number == number else None


def _seconds(at: datetime | None) -> float:
    return at.timestamp() if at is not None else float("-inf")


def _updated_at(line: Any) -> float:
    return _seconds(line.updated_at)


_STATUS_RANK = {"completed": 0, "refunded": 1, "cancelled": 1}


def _transaction_order(line: Any) -> float:
    # The status rank first, then when it changed (a float: the batch reader keeps one per
    # line in an array; millisecond precision is plenty for versions of one purchase).
    at = line.updated_at
    return _STATUS_RANK.get(line.status, 0) * 1e10 + (at.timestamp() if at is not None else 0.0)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A source kind: ``crm.jsonl`` holds :class:`CrmContact` lines keyed by ``contact_id``."""

    name: SourceName
    model: type[BaseModel]
    id_field: str
    problem: Callable[[Any], str | None] | None = None
    """What a line valid field by field may still not say across its fields, if anything
    (a :class:`~membergraph.connectors.models.Refusal` carries the code its answer gives)."""
    order: Ordering = Ordering()
    keeps_history: bool = False
    """Whether a line's older versions still say something of its record: a CRM contact's
    e-mail before it changed is still hers (identity keeps the values of every version)."""

    @property
    def file_name(self) -> str:
        return f"{self.name.value}.jsonl"

    def taken_elsewhere(self, line_id: str) -> str:
        """Why a second, different version of an immutable line is refused (a push or a
        folder's later line alike)."""
        rule = f"is already taken with other content, and {self.name.value} lines never change"
        return Reason(
            f"{self.id_field} {line_id} {rule}: send a new id",
            f"{self.id_field}: {rule}: send a new id",
        )


SOURCES: dict[SourceName, SourceSpec] = {
    spec.name: spec
    for spec in (
        SourceSpec(
            SourceName.CRM,
            CrmContact,
            "contact_id",
            with_control_check(SourceName.CRM, crm_problem),
            Ordering(_updated_at),
            keeps_history=True,
        ),
        SourceSpec(
            SourceName.TRANSACTIONS,
            Transaction,
            "transaction_id",
            with_control_check(SourceName.TRANSACTIONS, transaction_problem),
            Ordering(_transaction_order),
        ),
        SourceSpec(
            SourceName.WEB_ANALYTICS,
            WebEvent,
            "event_id",
            with_control_check(SourceName.WEB_ANALYTICS, web_event_problem),
            Ordering(immutable=True),
        ),
        SourceSpec(
            SourceName.CALL_CENTER,
            CallInteraction,
            "interaction_id",
            with_control_check(SourceName.CALL_CENTER, None),
            order=Ordering(immutable=True),
        ),
    )
}
