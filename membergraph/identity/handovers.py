"""Whether one CRM contact fell silent before the other began: a customer enrolled again.

A customer who forgot her account is enrolled again: a new contact, a new card, often a new
e-mail or mobile beside the phone she kept. Values of their own on each then say nothing
against one person, if the old contact stopped when the new one started: it is written no
more and its cards are used no more. A namesake of her household (a father and his son of
one name on the landline, a mother and her daughter Jenny) keeps his own contact and card
going beside hers, year after year: their spans overlap.

A contact's span, as its records tell it: from the earlier of its last write (the
``updated_at`` of its newest line) and its cards' first purchase, to the later of its last
write and its cards' last purchase (its card records' ``days``). Two contacts hand over when
one span ends on a day before the other begins (``reenrolments.one_after_the_other``, read
with a birth date left out: twins born one day enrol years apart as often). A contact whose
last write has no time (a line without ``updated_at``) tells nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import version_seconds
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["one_after_the_other"]

Span = tuple[str, str]  # the first and last day (YYYY-MM-DD) a contact is seen


def one_after_the_other(
    a: RecordData, b: RecordData, records: Mapping[RecordKey, RecordData]
) -> bool:
    """Whether one contact's span ends on a day before the other's begins.

    Example:
        >>> from membergraph.connectors.models import CrmContact
        >>> from membergraph.identity.line_records import record_of_line
        >>> def contact(cid, written):
        ...     line = CrmContact.model_validate({"contact_id": cid, "updated_at": written})
        ...     return record_of_line(SourceName.CRM, line)
        >>> old = contact("C1", "2019-03-01T10:00:00Z")
        >>> new = contact("C2", "2024-06-01T10:00:00Z")
        >>> one_after_the_other(old, new, {})
        True
    """
    span_a, span_b = _span(a, records), _span(b, records)
    if span_a is None or span_b is None:
        return False
    return span_a[1] < span_b[0] or span_b[1] < span_a[0]


def _span(contact: RecordData, records: Mapping[RecordKey, RecordData]) -> Span | None:
    seconds = version_seconds(contact.version)
    if seconds is None:
        return None
    days = [datetime.fromtimestamp(seconds, UTC).date().isoformat()]
    for ident in contact.identifiers:
        if ident.kind is IdentifierKind.LOYALTY_ID:
            card = records.get((SourceName.TRANSACTIONS, f"loyalty:{ident.key}"))
            if card is not None and card.days:
                days += (min(card.days), max(card.days))
    return min(days), max(days)
