"""Whether a contact orders under an e-mail on her contact, by the addresses she is seen
using.

A parent who enrols a student's card often gives the parent's own address (a clerk, at the
till, her own for a customer who gave none), and when it is a handle (``bookworm8493@``) or
names someone else (``mmartin@`` on Jesús Hernández's contact) nothing in it says whose it
is: the parent's card-less online orders under it would join the student's member. What
does say something is what the student does: her card's purchases give her own address
(``jessica.jones@``), her logged-in sessions give it, and neither ever gives this one. A
person's own second address comes with her card or her logins now and then; a parent's,
given once at enrolment, never does. Nor does she when she is seen using no address at
all, but another person is seen using this one: it comes with the purchases of his card
(``sunshine2793@`` on Daniel Williams's contact, given with his father David's card), or
his logged-in sessions give it. An address naming her says nothing against her, unless it
names the person seen using it as well and she is seen using it nowhere: ``jamesj@`` on
Jessica James's contact, given by her father John James's logged-in sessions (a family
initial), or ``jacksonr@`` on a young Robert Jackson's, given with his namesake
father's card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from rapidfuzz.distance import Levenshtein

from membergraph.connectors.models import LOGIN_MARK
from membergraph.identity.email_names import names_her
from membergraph.identity.name_forms import first_name_core
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.surname_forms import generation

__all__ = ["addresses_she_uses", "another_uses", "never_orders_with", "seen_using"]

_EMAIL, _CARD, _CRM_ID = IdentifierKind.EMAIL, IdentifierKind.LOYALTY_ID, IdentifierKind.CRM_ID
_PHONE = IdentifierKind.PHONE

Carriers = Mapping[tuple[IdentifierKind, str], list[RecordData]]


def addresses_she_uses(contact: RecordData, carriers: Carriers) -> set[str]:
    """The e-mails (matching keys) a contact is seen using: given with the purchases of a
    card on her contact, or by her logged-in sessions (an ``identify`` of her contact id)."""
    found: set[str] = set()
    for ident in contact.identifiers:
        if ident.kind is _CARD:
            mine: Iterable[RecordData] = (
                r
                for r in carriers.get((_CARD, ident.key), ())
                if r.source == "transactions" and r.key.startswith("loyalty:")
            )
        elif ident.kind is _CRM_ID and ident.via == "crm":
            mine = (
                r
                for r in carriers.get((_CRM_ID, ident.key), ())
                if r.source == "web_analytics" and LOGIN_MARK in r.key
            )
        else:
            continue
        for record in mine:
            found.update(i.key for i in record.identifiers if i.kind is _EMAIL)
    return found


def seen_using(
    contact: RecordData,
    email: str,
    carriers: Carriers,
    holders_own: Callable[[RecordKey, str], bool],
) -> bool:
    """Whether a contact is seen using ``email`` (its matching key), as
    :func:`addresses_she_uses` sees her, as her own: given with the purchases of a card on
    her contact (``holders_own(card record, email)``: not a guest's on a clerk's card), or
    by her logged-in sessions."""
    mine = {
        (i.kind, i.key)
        for i in contact.identifiers
        if i.kind is _CARD or (i.kind is _CRM_ID and i.via == "crm")
    }
    for record, kind in _using(carriers, email):
        if not any((kind, i.key) in mine for i in record.identifiers if i.kind is kind):
            continue
        if kind is _CRM_ID or holders_own(record.ref, email):
            return True
    return False


def never_orders_with(
    contact: RecordData,
    email: str,
    carriers: Carriers,
    usable: Callable[[str], bool],
    names: NearDuplicates,
    slips: int,
    others: Callable[[RecordData, str], bool] | None = None,
    named_users: Callable[[RecordData, str], bool] | None = None,
    generations: bool = False,
) -> bool:
    """Whether an e-mail on a contact (``email``, its matching key) is one she never orders
    under: it does not name her (:func:`~membergraph.identity.email_names.names_her`: a
    handle, another person's name), and the addresses she is seen using
    (:func:`addresses_she_uses`, those ``usable``: not placeholders, not a store's) hold
    another one and neither this one nor one within ``slips`` edits of it (a typo at the
    till). A contact seen using no address at all says nothing (most never log in nor
    order online with their card), unless ``others`` says another person is seen using
    this one (:func:`another_uses`: ``Rules.emails_another_uses``). An address naming her
    is one she orders under, unless ``named_users`` says another person it names too is
    seen using it (:func:`another_uses` with ``named``:
    ``Rules.emails_naming_another_user``) and she is not. With ``generations``
    (``Rules.emails_naming_two_generations``), an address naming a contact whose family name
    carries a generational suffix (``Nguyen Jr.``) names his namesake father or son alike:
    it is read as one naming him not."""
    if contact.source != "crm":
        return False
    naming = names_her(email, contact.first_name, contact.last_name, names)
    both = naming and generations and bool(generation(contact.last_name or "")[1])
    if naming and named_users is None and not both:
        return False
    used = [e for e in addresses_she_uses(contact, carriers) if usable(e)]
    if any(Levenshtein.distance(email, e, score_cutoff=slips) <= slips for e in used):
        return False
    if naming and named_users is not None and named_users(contact, email):
        return True  # her namesake is seen using it, she is not
    if naming and not both:
        return False
    return bool(used) or (others is not None and others(contact, email))


def another_uses(
    contact: RecordData,
    email: str,
    carriers: Carriers,
    names: NearDuplicates,
    holders_own: Callable[[RecordKey, str], bool],
    named: bool = False,
) -> bool:
    """Whether another person than a contact is seen using ``email``, as
    :func:`addresses_she_uses` sees her: it is given with the purchases of a card that is
    not on her contact, as its holders' own (``holders_own(card record, email)``: not a
    guest's on a clerk's card), or by a logged-in session of another contact; and every
    CRM contact holding that card, or logged in, is another person
    (:func:`_another_person`). With ``named``, for an address naming her: every such
    contact is one the address names too, whatever the names and phones say (a namesake
    father, a family initial on the household's landline: people the names cannot part,
    whom the address names alike); her own other contact, which it names as well, takes
    the orders into her own member."""
    mine = {i.key for i in contact.identifiers if i.kind in (_CARD, _CRM_ID)}
    for record, kind in _using(carriers, email):
        held = {i.key for i in record.identifiers if i.kind is kind}
        if held & mine:
            continue
        holders = [
            h for key in sorted(held) for h in carriers.get((kind, key), ()) if h.source == "crm"
        ]
        if named:
            users = all(names_her(email, h.first_name, h.last_name, names) for h in holders)
        else:
            users = all(_another_person(contact, h, names) for h in holders)
        if holders and users and (kind is _CRM_ID or holders_own(record.ref, email)):
            return True
    return False


def _using(carriers: Carriers, email: str) -> Iterator[tuple[RecordData, IdentifierKind]]:
    """The records showing someone using ``email`` (its matching key), each with the kind
    of identifier that says who: a card's purchases (the card), a logged-in session (the
    CRM id it logs in as)."""
    for record in carriers.get((_EMAIL, email), ()):
        if record.source == "transactions" and record.key.startswith("loyalty:"):
            yield record, _CARD
        elif record.source == "web_analytics" and LOGIN_MARK in record.key:
            yield record, _CRM_ID


def _another_person(one: RecordData, other: RecordData, names: NearDuplicates) -> bool:
    """Whether two contacts are plainly two people by what they say: both named, first and
    family names not close either way round, first names not forms of one name, and no
    phone of one on the other (a nickname the lists lack, Sandra/Alexandra, on her phone)."""
    given = (one.first_name, one.last_name, other.first_name, other.last_name)
    if not all(n and n.strip() for n in given):
        return False
    first, last, other_first, other_last = (n or "" for n in given)
    whole = (f"{first} {last}", f"{other_first} {other_last}")
    if any(names.names_no_one(n) for n in (*given, *whole) if n):
        return False  # Walk-In Customer: a till's word, whoever stood there
    if names.names_close(first, last, other_first, other_last):
        return False
    if names.first_names_close(
        fold_name(first_name_core(first)), fold_name(first_name_core(other_first))
    ):
        return False
    phones = {i.key for i in one.identifiers if i.kind is _PHONE}
    return not any(i.kind is _PHONE and i.key in phones for i in other.identifiers)
