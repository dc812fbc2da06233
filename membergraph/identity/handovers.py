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

The account she forgot is a loyalty one: the contact that fell silent holds a card
(``reenrolments.handover_old_card``). A contact without one shows nothing of itself but its
last write; its holder may log in and order online on it for years after (a son's web
contact, beside his father's listing the son's mobile as a relative's).

She gives her own first name again: the same, a listed short form of it, or a typing of it
(:func:`first_names_given_alike`). Two names each of its own that are only close by letters
(Jimmy and Timmy, Timothy's short form) are a household's two people taking turns on its
landline: the son's contact begins as the father's falls silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import version_seconds
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey

__all__ = [
    "aged",
    "first_seen",
    "first_names_given_alike",
    "hands_over",
    "one_after_the_other",
]

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
    return _apart(_span(a, records), _span(b, records))


def hands_over(
    a: RecordData,
    b: RecordData,
    records: Mapping[RecordKey, RecordData],
    least_age: int,
    old_card: bool = False,
    old_card_used: bool = False,
    least_days_apart: int = 0,
    to_undated: bool = True,
) -> bool:
    """Whether one contact hands over to the other: :func:`one_after_the_other`, each
    first seen once the holder was ``least_age`` years old by the birth date either gives
    (a contact seen while she was a child is not her old one: a mother's of one name, on
    the landline her daughter enrols on later), each contact's span read once; with
    ``old_card``, the contact that fell silent holds a card (a contact without one shows
    only its last write: its holder may log in on it for years); with ``old_card_used``, a
    card seen in use (its falling silent is seen, not a card never used); with
    ``least_days_apart``, the silent contact's last day at least that many days before
    the other's first (a father's card used three days before his son enrols on his
    address is no account forgotten); without ``to_undated``, not to a later contact
    giving no birth date from one giving it (a namesake son enrolling undated)."""
    span_a, span_b = _span(a, records), _span(b, records)
    if not _apart(span_a, span_b) or not _grown(a, b, (span_a, span_b), least_age):
        return False
    if least_days_apart and _days_apart(span_a, span_b) < least_days_apart:
        return False
    old = a if span_a is not None and span_b is not None and span_a < span_b else b
    if not to_undated and old.birth_date is not None and (b if old is a else a).birth_date is None:
        return False
    cards = [
        records.get((SourceName.TRANSACTIONS, f"loyalty:{i.key}"))
        for i in old.identifiers
        if i.kind is IdentifierKind.LOYALTY_ID
    ]
    if old_card_used:
        return any(card is not None and card.days for card in cards)
    return not old_card or bool(cards)


def _days_apart(span_a: Span | None, span_b: Span | None) -> int:
    """Days from the end of the earlier span to the start of the later (spans apart)."""
    assert span_a is not None and span_b is not None
    first, then = (span_a, span_b) if span_a[1] < span_b[0] else (span_b, span_a)
    return (date.fromisoformat(then[0]) - date.fromisoformat(first[1])).days


def _apart(span_a: Span | None, span_b: Span | None) -> bool:
    if span_a is None or span_b is None:
        return False
    return span_a[1] < span_b[0] or span_b[1] < span_a[0]


def _grown(
    a: RecordData, b: RecordData, spans: tuple[Span | None, Span | None], least_age: int
) -> bool:
    births = [r.birth_date for r in (a, b) if r.birth_date is not None]
    starts = [span[0] for span in spans if span is not None]
    for born in births:
        grown = aged(born, least_age)
        if any(start < grown for start in starts):
            return False
    return True


def first_names_given_alike(a: RecordData, b: RecordData, near: NearDuplicates) -> bool:
    """Whether two contacts' first names are one written twice: the same, a listed short form
    (Jim, James), or a typing of a listed name (Jmes): not two names each of its own that are
    close by letters (Jimmy and Tim, one slip from Timmy).

    Example:
        >>> from membergraph.identity.rules import load_rules
        >>> from types import SimpleNamespace as Rec
        >>> near = load_rules(None).near_duplicates
        >>> first_names_given_alike(Rec(first_name="JIMMY"), Rec(first_name="James"), near)
        True
        >>> first_names_given_alike(Rec(first_name="Jimmy"), Rec(first_name="Timothy"), near)
        False
    """
    x, y = fold_name(a.first_name or ""), fold_name(b.first_name or "")
    if x == y or y in near.first_name_forms(x) or x in near.first_name_forms(y):
        return True
    return not (near.common_first_name(x) and near.common_first_name(y))


def first_seen(contact: RecordData, records: Mapping[RecordKey, RecordData]) -> str | None:
    """The first day (``YYYY-MM-DD``) a contact is seen: its version's (``updated_at``), or
    its cards' first purchase if earlier; None: no version."""
    span = _span(contact, records)
    return None if span is None else span[0]


def aged(born: date, years: int) -> str:
    """The day (``YYYY-MM-DD``, as days are compared here) one born on ``born`` is
    ``years`` old."""
    return f"{born.year + years:04d}{born.isoformat()[4:]}"


def _span(contact: RecordData, records: Mapping[RecordKey, RecordData]) -> Span | None:
    """The first and last days (``YYYY-MM-DD``) a contact is seen: its version's
    (``updated_at``) and its cards' purchases; None: no version."""
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
