"""From source lines to identity records, for batch resolution."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any, cast

from pydantic import BaseModel

from membergraph.connectors.lines import LoadReport, Ownership
from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.line_records import (
    ANONYMISED,
    identity_of,
    owner_of_transaction,
    record_of_line,
    unattributed_reason,
    web_event_key,
)
from membergraph.identity.purchase_days import add_purchase, card_email, purchase_day
from membergraph.identity.records import RecordData, RecordKey

__all__ = [
    "collect_records",
    "count_nobodys",
    "fold_into",
    "fold_records",
    "identity_fields",
    "owner_key",
    "ownership",
    "unowned_reason",
]


def identity_fields(source: str, line: Any) -> tuple[object, ...] | None:
    """The fields of a line that decide its record, with its source (None: a source whose
    every line is its own record)."""
    identity = identity_of(source)
    return None if identity is None else (source, identity.read(line))


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
        return web_event_key(line)
    if isinstance(line, CallInteraction):
        return line.interaction_id
    raise TypeError(f"not a {source.value} line: {type(line).__name__}")


def unowned_reason(source: SourceName, line: BaseModel, region: str = "US") -> str | None:
    """Why a line :func:`owner_key` finds no owner for belongs to no one: a purchase whose
    only identifier is a placeholder e-mail (None: it names no customer at all)."""
    if isinstance(line, Transaction):
        if line.anonymised:
            return ANONYMISED
        return unattributed_reason(line.loyalty_id, line.email, region)
    return None


def ownership(source: SourceName, region: str = "US") -> Ownership:
    """The owner function of a source's lines (:func:`owner_key`), with the reason a good
    line has none (:func:`unowned_reason`)."""
    return Ownership(
        partial(owner_key, source, region=region), partial(unowned_reason, source, region=region)
    )


def collect_records(
    lines: Iterable[tuple[SourceName, BaseModel]],
    region: str = "US",
    older: Iterable[tuple[SourceName, BaseModel]] = (),
) -> dict[RecordKey, RecordData]:
    """Fold every line into the record it describes; then the values of ``older``
    (superseded versions of those lines: a CRM contact before her e-mail changed) into
    their records, which keep everything else of the newest version
    (:meth:`~membergraph.identity.records.RecordData.remember`)."""
    records: dict[RecordKey, RecordData] = {}
    # Per identity: its record, and the e-mail given with it on a card (card_email).
    seen: dict[tuple[object, ...], tuple[RecordKey, str | None] | None] = {}
    for source, line in lines:
        # Most lines repeat what an earlier line of their record said (a visitor's page
        # views, a card's purchases): the identity fields decide the record, so skip those,
        # but for the day of a purchase.
        identity = identity_fields(source, line)
        if identity is not None and identity in seen:
            known = seen[identity]
            if known is not None and source is SourceName.TRANSACTIONS:
                ref, email = known
                line_id = cast(Transaction, line).transaction_id
                add_purchase(records[ref], purchase_day(line), line_id, email)
            continue
        record = record_of_line(source, line, region)
        if identity is not None:
            seen[identity] = (
                None if record is None else (record.ref, card_email(record.key, record.identifiers))
            )
        if record is not None:
            fold_into(records, record)
    for source, line in older:
        record = record_of_line(source, line, region)
        held = None if record is None else records.get(record.ref)
        if held is not None and record is not None:
            held.remember(record)
    return records


def fold_into(records: dict[RecordKey, RecordData], record: RecordData) -> bool:
    """Add a record, or fold it into the one of the same key already there; whether that
    changed anything."""
    existing = records.get(record.ref)
    if existing is None:
        records[record.ref] = record
        return True
    return existing.merge(record)


def fold_records(
    stored: dict[RecordKey, RecordData], given: Mapping[RecordKey, RecordData]
) -> set[RecordKey]:
    """Fold ``given`` into ``stored`` (in place), as a whole-store resolution folds a data
    set; the records that changed."""
    return {ref for ref, record in given.items() if fold_into(stored, record)}


def count_nobodys(
    lines: Iterable[tuple[SourceName, BaseModel]],
    nobodys: Mapping[RecordKey, str],
    reports: Mapping[SourceName, LoadReport],
    region: str = "US",
) -> None:
    """Count in each source's report, by reason, the lines whose record is nobody's
    (:attr:`~membergraph.identity.engine.Resolution.unattributed`): kept in the source,
    listed as unattributed."""
    if not nobodys:
        return
    for source, line in lines:
        if source is not SourceName.CRM:  # a purchase, a shared device's event, a call
            why = nobodys.get((source.value, owner_key(source, line, region) or ""))
            if why is not None:
                reports[source].count_unattributed(why)
