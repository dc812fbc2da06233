"""From source lines to identity records, for batch resolution."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, NamedTuple

from pydantic import BaseModel

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.records import (
    Described,
    RecordData,
    RecordKey,
    owner_of_transaction,
    record_of_line,
    transaction_record,
    visitor_record,
)

__all__ = [
    "Identity",
    "collect_records",
    "fold_into",
    "identity_fields",
    "identity_reader",
    "owner_key",
]


class Identity(NamedTuple):
    """How lines of a model whose record is a function of a few fields map to it."""

    read: Callable[[Any], tuple[Any, ...]]  # the fields, from a line: one C call
    describe: Callable[..., Described]  # the record's key and identifiers, from the fields
    role: str


_IDENTITY: dict[type[BaseModel], Identity] = {
    Transaction: Identity(
        attrgetter("loyalty_id", "email", "channel"), transaction_record, "profile"
    ),
    WebEvent: Identity(attrgetter("anonymous_id", "user_id", "email"), visitor_record, "leaf"),
}


def identity_reader(model: type[BaseModel]) -> Identity | None:
    """How identity reads lines of ``model``, for models whose record is a function of a few
    fields (None: CRM contacts and calls, each line its own record)."""
    return _IDENTITY.get(model)


def identity_fields(line: BaseModel) -> tuple[object, ...] | None:
    """The fields of a line that decide its record, with its model (lines of all sources)."""
    identity = _IDENTITY.get(type(line))
    return None if identity is None else (type(line), identity.read(line))


Line = CrmContact | Transaction | WebEvent | CallInteraction


def owner_key(source: SourceName, line: BaseModel, region: str = "US") -> str | None:
    """The key of the record a line belongs to (None: the line names no customer).

    Cheap on purpose (it runs for every line loaded): only a transaction needs a look at
    its card or e-mail; every other line is its own record or its visitor's.
    """
    if isinstance(line, Transaction):
        return owner_of_transaction(line, region)
    if isinstance(line, CrmContact):
        return line.contact_id
    if isinstance(line, WebEvent):
        return line.anonymous_id
    if isinstance(line, CallInteraction):
        return line.interaction_id
    raise TypeError(f"not a {source.value} line: {type(line).__name__}")


def collect_records(
    lines: Iterable[tuple[SourceName, BaseModel]], region: str = "US"
) -> dict[RecordKey, RecordData]:
    """Fold every line into the record it describes."""
    records: dict[RecordKey, RecordData] = {}
    seen: set[tuple[object, ...]] = set()
    for source, line in lines:
        # Most lines repeat what an earlier line of their record said (a visitor's page
        # views, a card's purchases): the identity fields decide the record, so skip those.
        identity = identity_fields(line)
        if identity is not None:
            if identity in seen:
                continue
            seen.add(identity)
        record = record_of_line(source, line, region)
        if record is not None:
            fold_into(records, record)
    return records


def fold_into(records: dict[RecordKey, RecordData], record: RecordData) -> None:
    """Add a record, or fold it into the one of the same key already there."""
    existing = records.get(record.ref)
    if existing is None:
        records[record.ref] = record
    else:
        existing.merge(record)
