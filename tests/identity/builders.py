"""Small builders of identity records from source lines, for table-driven tests."""

from __future__ import annotations

from typing import Any, Literal

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.engine import Resolution
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData, RecordKey

ADDRESS = {"line1": "1 Oak St", "city": "Springfield", "postal_code": "62701", "country": "US"}
# A household's home, and a street across the same town (another postcode): where a
# person moves, or where a relative lives.
HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}
ACROSS_TOWN = {
    "line1": "8585 Valley St",
    "city": "Springfield",
    "postal_code": "62704",
    "country": "US",
}


def crm(
    key: str,
    first: str = "Ann",
    last: str = "Lee",
    birth: str | None = "1980-01-01",
    emails: list[str] | None = None,
    phones: list[str] | None = None,
    card: str | None = None,
    address: dict[str, str] | None = None,
) -> RecordData:
    line = CrmContact(
        contact_id=key,
        first_name=first,
        last_name=last,
        birth_date=birth,
        emails=emails or [],
        phones=phones or [],
        loyalty_id=card,
        address=address or {**ADDRESS, "line1": f"{key} Elm St"},
    )
    return _record(SourceName.CRM, line)


def purchase(
    card: str | None = None,
    email: str | None = None,
    channel: str = "store",
    tid: str = "T1",
    at: str = "2026-01-01T00:00:00Z",
    store: str | None = None,
) -> RecordData:
    line = Transaction(
        transaction_id=tid,
        loyalty_id=card,
        email=email,
        channel=channel,
        store_id=store,
        occurred_at=at,
        amount_cents=100,
    )
    return _record(SourceName.TRANSACTIONS, line)


def visitor(anon: str, logins: tuple[str, ...] = (), emails: tuple[str, ...] = ()) -> RecordData:
    record = _record(
        SourceName.WEB_ANALYTICS,
        WebEvent(event_id="E", anonymous_id=anon, type="page", occurred_at="2026-01-01T00:00:00Z"),
    )
    for n, login in enumerate(logins):
        record.merge(
            _record(
                SourceName.WEB_ANALYTICS,
                WebEvent(
                    event_id=f"L{n}",
                    anonymous_id=anon,
                    user_id=login,
                    type="identify",
                    occurred_at="2026-01-01T00:00:00Z",
                ),
            )
        )
    for n, email in enumerate(emails):
        record.merge(
            _record(
                SourceName.WEB_ANALYTICS,
                WebEvent(
                    event_id=f"M{n}",
                    anonymous_id=anon,
                    email=email,
                    type="identify",
                    occurred_at="2026-01-01T00:00:00Z",
                ),
            )
        )
    return record


def event(
    anon: str,
    user: str | None = None,
    eid: str = "E",
    email: str | None = None,
    kind: Literal["page", "track", "identify"] | None = None,
    name: str | None = None,
) -> RecordData:
    """The record of one web event as ingest makes it: the device's, or the device's under
    the login it carries (``kind``: an ``identify`` with a login, a ``page`` without)."""
    line = WebEvent(
        event_id=eid,
        anonymous_id=anon,
        user_id=user,
        email=email,
        type=kind or ("identify" if user else "page"),
        name=name,
        occurred_at="2026-01-01T00:00:00Z",
    )
    return _record(SourceName.WEB_ANALYTICS, line)


def call(key: str, phone: str | None = None, ref: tuple[str, str] | None = None) -> RecordData:
    account: dict[str, Any] | None = {"kind": ref[0], "value": ref[1]} if ref else None
    line = CallInteraction(
        interaction_id=key,
        caller_phone=phone,
        account_ref=account,
        started_at="2026-01-01T00:00:00Z",
    )
    return _record(SourceName.CALL_CENTER, line)


def _record(source: SourceName, line: Any) -> RecordData:
    record = record_of_line(source, line)
    assert record is not None
    return record


def world(*records: RecordData) -> dict[RecordKey, RecordData]:
    out: dict[RecordKey, RecordData] = {}
    for record in records:
        if record.ref in out:
            out[record.ref].merge(record)
        else:
            out[record.ref] = record
    return out


def together(result: Resolution, a: RecordKey, b: RecordKey) -> bool:
    """Whether a resolution put records ``a`` and ``b`` in one member."""
    return any(a in member and b in member for member in result.components)
