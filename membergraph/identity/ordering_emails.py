"""Whether a contact orders under an e-mail on her contact, by the addresses she is seen
using.

A parent who enrols a student's card often gives the parent's own address (a clerk, at the
till, her own for a customer who gave none), and when it is a handle (``bookworm8493@``) or
names someone else (``mmartin@`` on Jesús Hernández's contact) nothing in it says whose it
is: the parent's card-less online orders under it would join the student's member. What
does say something is what the student does: her card's purchases give her own address
(``jessica.jones@``), her logged-in sessions give it, and neither ever gives this one. A
person's own second address comes with her card or her logins now and then; a parent's,
given once at enrolment, never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from rapidfuzz.distance import Levenshtein

from membergraph.connectors.models import LOGIN_MARK
from membergraph.identity.email_names import names_her
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData

__all__ = ["addresses_she_uses", "never_orders_with"]

_EMAIL, _CARD, _CRM_ID = IdentifierKind.EMAIL, IdentifierKind.LOYALTY_ID, IdentifierKind.CRM_ID

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


def never_orders_with(
    contact: RecordData,
    email: str,
    carriers: Carriers,
    usable: Callable[[str], bool],
    names: NearDuplicates,
    slips: int,
) -> bool:
    """Whether an e-mail on a contact (``email``, its matching key) is one she never orders
    under: it does not name her (:func:`~membergraph.identity.email_names.names_her`: a
    handle, another person's name), and the addresses she is seen using
    (:func:`addresses_she_uses`, those ``usable``: not placeholders, not a store's) hold
    another one and neither this one nor one within ``slips`` edits of it (a typo at the
    till). A contact seen using no address at all says nothing: most never log in nor
    order online with their card."""
    if contact.source != "crm" or names_her(email, contact.first_name, contact.last_name, names):
        return False
    used = [e for e in addresses_she_uses(contact, carriers) if usable(e)]
    return bool(used) and not any(
        Levenshtein.distance(email, e, score_cutoff=slips) <= slips for e in used
    )
