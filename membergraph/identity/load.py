"""From source lines to identity records, for batch resolution."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.records import RecordData, RecordKey, record_of_line

__all__ = ["collect_records", "owner_key"]

Line = CrmContact | Transaction | WebEvent | CallInteraction


def owner_key(source: SourceName, line: BaseModel, region: str = "US") -> str | None:
    """The key of the record a line belongs to (None: the line names no customer)."""
    record = record_of_line(source, line, region)  # type: ignore[arg-type]
    return record.key if record is not None else None


def collect_records(
    lines: Iterable[tuple[SourceName, BaseModel]], region: str = "US"
) -> dict[RecordKey, RecordData]:
    """Fold every line into the record it describes."""
    records: dict[RecordKey, RecordData] = {}
    for source, line in lines:
        record = record_of_line(source, line, region)  # type: ignore[arg-type]
        if record is None:
            continue
        existing = records.get(record.ref)
        if existing is None:
            records[record.ref] = record
        else:
            existing.merge(record)
    return records
