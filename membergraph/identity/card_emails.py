"""Whose an e-mail given with a card is: the card holder's, or a stranger's.

A clerk who puts her own card on a guest's online order (the guest forgot hers, the points
go to the clerk) gives the card's purchases the guest's e-mail. Linked as usual, the e-mail
would join the guest's card-less orders to the clerk's member. A member's own second
address (at work, a new one) is on the same kind of order; what tells them apart is the
address itself: people's addresses name them (``kwilson@acme.com``), a guest's names the
guest (``jennifer33@yahoo.com`` on Katherine Wilson's card), and how often it comes: a clerk
puts her card on a guest's order once or twice, a holder gives her own second address
(``tigerlily4788@``, naming no one) with her card day after day.

Where a clerk's card meets a guest's address is a store: at the counter, whose order gives
the card no e-mail (:mod:`~membergraph.identity.counter_orders`), or at a till, a cashier
scanning her own card on a guest's purchase and typing the guest's address for an
e-receipt. An address the card's web orders give (:func:`given_on_the_web`) is the
holder's, even once (``Rules.card_web_email_days``); the readings below are those of an
address given at a till.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from membergraph.identity.email_names import a_relatives_email, names_anyone
from membergraph.identity.name_slips import names_one_of_with_slips
from membergraph.identity.near_duplicates import NearDuplicates, Signature
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey

if TYPE_CHECKING:
    from membergraph.identity.rules import Rules

__all__ = [
    "a_strangers_email",
    "given_on_the_web",
    "holders_by_days",
    "names_in",
    "web_email_days",
]

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
    web_days: int = 0,
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
    ``Andeerson`` in ``patriciaanderson46@``). ``web_days``
    (``Rules.card_web_email_days``, for an address the card's web orders gave:
    :func:`given_on_the_web`; 0, given at a till only) are the days that make any address
    the holder's, whatever it names."""
    named = names_one_of_with_slips if slips else _names_one_of
    if holders_by_days(email, days, holder_days, handle_days, names, web_days):
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
    web_days: int = 0,
) -> bool:
    """Whether the days an e-mail was given with a card say it is the holder's, whatever
    it names: ``holder_days`` days or more, or ``web_days`` or more when the card's web
    orders gave it, or, naming no one, ``handle_days`` or more (0: not read)."""
    if holder_days and days >= holder_days:
        return True
    if web_days and days >= web_days:
        return True
    return bool(
        handle_days and names is not None and days >= handle_days and not names_anyone(email, names)
    )


def given_on_the_web(card: RecordData, email: str) -> bool:
    """Whether a card's purchases gave ``email`` (its matching key) on an online order: the
    web's own store, as a counter order gives the card no e-mail
    (:mod:`~membergraph.identity.counter_orders`); not only at a till."""
    return any(
        i.kind is IdentifierKind.EMAIL and i.key == email and i.via == "online"
        for i in card.identifiers
    )


def web_email_days(
    card: RecordData,
    email: str,
    holders: Sequence[RecordData],
    rules: Rules,
    carriers: Mapping[tuple[IdentifierKind, str], Sequence[RecordData]],
    signature: Mapping[RecordKey, Signature | None],
) -> int:
    """The days that make an address a card's web orders gave the holder's
    (``Rules.card_web_email_days``), 0 when given at a till only, or when another person's
    CRM contact carries it as her own (``Rules.card_web_emails_of_others``: a parent's
    address on a student's web order): then it is read as a till's. Another person: a
    contact that holds not the card, whose name and birth date are no holder's
    (``NearDuplicates.same_person``: not her duplicate, her name written otherwise)."""
    if not rules.card_web_email_days or not given_on_the_web(card, email):
        return 0
    if rules.card_web_emails_of_others:
        theirs = [sig for h in holders if (sig := signature.get(h.ref)) is not None]
        held = {h.ref for h in holders}
        same = rules.near_duplicates.same_person
        if theirs and any(
            other.source == "crm"
            and other.ref not in held
            and (sig := signature.get(other.ref)) is not None
            and not any(same(sig, her) for her in theirs)
            for other in carriers.get((IdentifierKind.EMAIL, email), ())
        ):
            return 0
    return rules.card_web_email_days


def _names_one_of(email: str, words: set[str]) -> bool:
    local = fold_name(email.partition("@")[0])
    return any(word in local for word in words)
