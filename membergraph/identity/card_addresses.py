"""Whether two groups of CRM contacts hold cards that two people order online with: each
card giving an address of its own, the other card never giving it, in the same months.

One person orders online under one address at a time, and puts the card she carries on
it: her old card and address until she enrols again, her new ones after, her work address
beside her own on the same card. A son's card giving his own address while his father's
card gives the father's, order after order over the same months, is two people's, whatever
their two contacts share: the father's e-mail, which the father enrolled his son's card
with, and one name (``robert_johnson@`` on Roebrt Johnson's card, ``rjohnson@`` on his
father Robert's, both contacts on ``rjohnson@``). A duplicate rule does not join them
(``near_duplicates.member_cards_apart``): the contacts meet again as a match suggestion.

An address counts when it identifies someone (no placeholder, no store's address a till
typed) and is the holder's own, not a guest's on a clerk's card; two addresses a typing
slip or two apart (``gmial.com``) are one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rapidfuzz.distance import OSA

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["CardAddresses"]

_NO_ONES = ("hub", "blocked")
_SLIPS = 2  # edits between two addresses that are one address mistyped

Span = tuple[str, str]  # the first and last day (YYYY-MM-DD) an address came with a card


class CardAddresses:
    """The addresses each card is seen ordering online with, read once per card.

    Args:
        records: every record of the resolution.
        status: each value's status (``linkable``, ``hub``, ...).
        strangers: whether an e-mail on a card's purchases is a guest's, not the holder's
            (:meth:`~membergraph.identity.profile_edges.ProfileEvidence.strangers_on_card`).
        keep_dots: whether two addresses whose local parts differ only by separators are
            two (``Rules.card_addresses_keep_dots``), not one mistyped.
    """

    def __init__(
        self,
        records: Mapping[RecordKey, RecordData],
        status: Mapping[tuple[IdentifierKind, str], str],
        strangers: Callable[[RecordKey, str], bool],
        keep_dots: bool = False,
    ) -> None:
        self._keep_dots = keep_dots
        self._records = records
        self._status = status
        self._strangers = strangers
        self._seen: dict[RecordKey, dict[str, Span]] = {}

    def apart(self, group_a: Iterable[RecordKey], group_b: Iterable[RecordKey]) -> bool:
        """Whether a card of one group and another card of the other each give an address
        the other group's cards never give, over days that overlap: two people ordering
        side by side, each under an address of their own."""
        cards_a, cards_b = self._cards(group_a), self._cards(group_b)
        if not cards_a or not cards_b or not cards_a.isdisjoint(cards_b):
            return False  # one card on both: one account, whoever else shares it
        theirs_a = self._addresses(cards_a)
        theirs_b = self._addresses(cards_b)
        if not theirs_a or not theirs_b:
            return False
        dots = self._keep_dots
        return any(
            _own(email_a, theirs_b, dots)
            and _own(email_b, theirs_a, dots)
            and _overlap(span_a, span_b)
            for email_a, span_a in theirs_a.items()
            for email_b, span_b in theirs_b.items()
        )

    def _cards(self, group: Iterable[RecordKey]) -> set[RecordKey]:
        """The purchase records of the cards a group's contacts hold, and its card records."""
        records, cards = self._records, set[RecordKey]()
        for ref in group:
            record = records[ref]
            if record.source == SourceName.CRM:
                for ident in record.identifiers:
                    if ident.kind is IdentifierKind.LOYALTY_ID:
                        card: RecordKey = (SourceName.TRANSACTIONS, f"loyalty:{ident.key}")
                        if card in records:
                            cards.add(card)
            elif record.key.startswith("loyalty:"):
                cards.add(ref)
        return cards

    def _addresses(self, cards: set[RecordKey]) -> dict[str, Span]:
        """The holders' own addresses given with the cards' purchases, each with its span."""
        found: dict[str, Span] = {}
        for card in cards:
            for email, (first, last) in self._of(card).items():
                was = found.get(email, (first, last))
                found[email] = (min(was[0], first), max(was[1], last))
        return found

    def _of(self, card: RecordKey) -> dict[str, Span]:
        seen = self._seen.get(card)
        if seen is None:
            record, status = self._records[card], self._status
            seen = {
                email: (min(days), max(days))
                for email, days in (record.email_days or {}).items()
                if days
                and status.get((IdentifierKind.EMAIL, email)) not in _NO_ONES
                and not self._strangers(card, email)
            }
            self._seen[card] = seen
        return seen


def _own(email: str, others: Mapping[str, Span], keep_dots: bool) -> bool:
    """Whether an address is none of ``others``, nor one of them mistyped (with
    ``keep_dots``, one differing from it only by separators is another mailbox)."""
    return all(
        OSA.distance(email, other, score_cutoff=_SLIPS) > _SLIPS
        or (keep_dots and email != other and _unseparated(email) == _unseparated(other))
        for other in others
    )


def _unseparated(email: str) -> str:
    """An address with the dots, dashes and underscores of its local part left out."""
    local, at, domain = email.rpartition("@")
    return local.translate(_SEPARATORS) + at + domain


_SEPARATORS = str.maketrans("", "", "._-")


def _overlap(a: Span, b: Span) -> bool:
    return max(a[0], b[0]) <= min(a[1], b[1])
