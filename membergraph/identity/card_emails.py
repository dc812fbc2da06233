"""Whose an e-mail given with a card is: the card holder's, or a stranger's.

A clerk who puts her own card on a guest's online order (the guest forgot hers, the points
go to the clerk) gives the card's purchases the guest's e-mail. Linked as usual, the e-mail
would join the guest's card-less orders to the clerk's member. A member's own second
address (at work, a new one) is on the same kind of order; what tells them apart is the
address itself: people's addresses name them (``kwilson@acme.com``), a guest's names the
guest (``jennifer33@yahoo.com`` on Katherine Wilson's card), and how often it comes: a clerk
puts her card on a guest's order once or twice, a holder gives her own second address
(``tigerlily4788@``, naming no one) with her card day after day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from membergraph.identity.email_names import a_relatives_email, names_anyone
from membergraph.identity.name_slips import names_one_of_with_slips
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData

__all__ = ["a_strangers_email", "holders_by_days", "names_in"]

_WORDS = re.compile(r"[\s\-'.,]+")
_LEAST = 3  # letters of a name to look for in an address: "Al" is in too many


def names_in(record: RecordData) -> set[str]:
    """A contact's name words, folded, of at least three letters (``María José
    Díaz-Ramírez``: ``maria``, ``jose``, ``diaz``, ``ramirez``)."""
    words = set()
    for name in (record.first_name or "", record.last_name or ""):
        for word in _WORDS.split(name):
            folded = fold_name(word)
            if len(folded) >= _LEAST:
                words.add(folded)
    return words


def a_strangers_email(
    email: str,
    holders: Iterable[RecordData],
    is_junk: Callable[[IdentifierKind, str], bool],
    given: Iterable[str] = (),
    days: int = 0,
    holder_days: int = 0,
    handle_days: int = 0,
    names: NearDuplicates | None = None,
    naming_others: bool = False,
    no_ones: Callable[[IdentifierKind, str], bool] | None = None,
    slips: bool = False,
) -> bool:
    """Whether ``email``, given on a card's purchases, is a stranger's: the card's CRM
    contacts (``holders``) have e-mails of their own, not this one, and their names are
    nowhere in it. A holder with none on file has, as her own, those of the card's other
    purchases (``given``) that name her (``richard.brown77@`` on Richard Brown's card
    beside a guest's ``kinge@``). A card nobody holds in the CRM, or held by contacts
    without names, says nothing against it; with no e-mail of theirs anywhere, only an
    address naming another person than each holder does, read as a relative's address on
    a contact is (``naming_others``, ``Rules.card_emails_naming_others``, with ``names``;
    :func:`~membergraph.identity.email_names.a_relatives_email`: ``michellejones@`` or
    ``andersonp@`` on Kim Williams's card). Nothing does against an address given with
    the card on ``days`` distinct days, at least ``holder_days`` (``Rules.card_email_days``;
    0: not read): the holder's own; nor, with ``names``, against one that names no one
    (:func:`~membergraph.identity.email_names.names_anyone`: ``bluejay3322@``) given on at
    least ``handle_days`` (``Rules.card_handle_email_days``): a guest's names the guest, a
    handle given again is the holder's. With ``no_ones`` (``Rules.card_emails_hubs_not_hers``:
    values the data shows to be no one's), a holder whose only e-mails on file are such (the
    store's address a till typed when she gave none) has none of her own: an address that
    names her or names no one (a handle) is hers; one naming someone else is a guest's.
    With ``slips`` (``Rules.card_emails_name_slips``), a word of a holder's name is found in
    an address with one slip
    (:func:`~membergraph.identity.name_slips.names_one_of_with_slips`: her contact's
    ``Andeerson`` in ``patriciaanderson46@``)."""
    named = names_one_of_with_slips if slips else _names_one_of
    if holders_by_days(email, days, holder_days, handle_days, names):
        return False
    holders = list(holders)
    if not holders:
        return False
    words = set().union(*(names_in(h) for h in holders))
    if not words:
        return False
    theirs = {
        i.key
        for h in holders
        for i in h.identifiers
        if i.kind is IdentifierKind.EMAIL and not is_junk(i.kind, i.key)
    }
    if theirs and no_ones is not None and all(no_ones(IdentifierKind.EMAIL, e) for e in theirs):
        # Only a till's word for "none given" on file: hers names her or no one.
        return names is not None and names_anyone(email, names) and not named(email, words)
    if not theirs:
        theirs = {e for e in given if named(e, words) and not is_junk(IdentifierKind.EMAIL, e)}
    if not theirs:
        return (
            naming_others
            and names is not None
            and all(a_relatives_email(email, h.first_name, h.last_name, names) for h in holders)
        )
    if email in theirs:
        return False
    return not named(email, words)


def holders_by_days(
    email: str,
    days: int,
    holder_days: int,
    handle_days: int = 0,
    names: NearDuplicates | None = None,
) -> bool:
    """Whether the days an e-mail was given with a card say it is the holder's, whatever
    it names: ``holder_days`` days or more, or, naming no one, ``handle_days`` or more
    (0: not read)."""
    if holder_days and days >= holder_days:
        return True
    return bool(
        handle_days and names is not None and days >= handle_days and not names_anyone(email, names)
    )


def _names_one_of(email: str, words: set[str]) -> bool:
    local = fold_name(email.partition("@")[0])
    return any(word in local for word in words)
