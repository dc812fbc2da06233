"""Two contacts of one name on her own e-mail, each with a phone of its own: one person.

Two CRM contacts under the same first and family names, a birth date left out on one or
both, sharing an e-mail, were read as a father and son of one name (``near_edges``'s phones
of their own at one home, ``profile_edges``'s namesakes) whenever each had a phone the other
lacked. A customer enrolled again keeps her address and gives the phone she has now (a new
mobile, the landline), so her two contacts differ by exactly that. A father and son of one
name who share an address share the household's, or the son's contact carries the
father's; what tells them from her (``reenrolments.one_name_on_her_email``):

- a family's address (``thejohnsons12@``, ``johnsonfamily@``) is the household's, not hers;
- each contact logs in to the web (two accounts, two people at their keyboards);
- a contact is seen using an address neither contact holds (given with her card's
  purchases, by her logged-in sessions): the son's own, beside his father's on file.

E-mails of their own on each still say two as before (``own_emails_name_each``); names
written differently (``Jonson`` / ``Johnson``, ``Jim`` / ``Jimmy``) are not this rule's: on
the tuned sets a father and son's contacts differ so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.ordering_emails import addresses_she_uses
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules

__all__ = ["a_familys_address", "one_name_on_her_email"]

_EMAIL, _CRM_ID = IdentifierKind.EMAIL, IdentifierKind.CRM_ID
_NOT_LETTERS = re.compile(r"[^a-z]")
Carriers = Mapping[tuple[IdentifierKind, str], list[RecordData]]


def one_name_on_her_email(
    a: RecordData,
    b: RecordData,
    email: str,
    rules: Rules,
    carriers: Carriers,
    someones: Callable[[IdentifierKind, str], bool],
) -> bool:
    """Whether two contacts sharing ``email`` (its matching key) are one person though
    each has a phone of its own: one name written the same, a birth date left out on one
    or both, no family's address, not each logged in, neither seen using an address that
    identifies someone (``someones``) and that neither contact holds, and no e-mail of
    its own on each (those are weighed as before).

    Example:
        >>> from membergraph.identity.records import Identifier
        >>> def contact(key, phone, born=None):
        ...     idents = {Identifier(_EMAIL, "jwatson@mail.com", "jwatson@mail.com", "crm"),
        ...               Identifier(IdentifierKind.PHONE, phone, phone, "crm")}
        ...     return RecordData("crm", key, "profile", idents, "Juan", "Watson", born)
        >>> one = lambda kind, key: True
        >>> one_name_on_her_email(contact("C1", "+15550001"), contact("C2", "+15550002"),
        ...                       "jwatson@mail.com", Rules(), {}, one)
        True
    """
    near = rules.near_duplicates
    if not rules.reenrolments.one_name_on_her_email:
        return False
    names = [(fold_name(r.first_name or ""), fold_name(r.last_name or "")) for r in (a, b)]
    if not all(names[0]) or names[0] != names[1]:
        return False
    births = [(r.birth_date.isoformat() if r.birth_date else "") for r in (a, b)]
    if near.birth_said(*births) != "left_out":
        return False
    if a_familys_address(email, names[0][1]):
        return False
    if _logged_in(a, carriers) and _logged_in(b, carriers):
        return False
    mine, theirs = (
        {i.key for i in r.identifiers if i.kind is _EMAIL and someones(_EMAIL, i.key)}
        for r in (a, b)
    )
    if mine - theirs and theirs - mine:
        return False  # e-mails of their own on each: weighed as before
    held = mine | theirs | {i.key for r in (a, b) for i in r.identifiers if i.kind is _EMAIL}
    return not any(
        someones(_EMAIL, used) for r in (a, b) for used in addresses_she_uses(r, carriers) - held
    )


def a_familys_address(email: str, family_name: str) -> bool:
    """Whether an e-mail is a family's: ``the`` and the family name (``thejohnsons12@``),
    or the word ``family`` (``johnsonfamily@``, ``the.garcia.family@``).

    Example:
        >>> a_familys_address("thejohnsons12@yahoo.com", "johnson")
        True
        >>> a_familys_address("johnsonr@icloud.com", "johnson")
        False
        >>> a_familys_address("theodore.smith@icloud.com", "smith")
        False
    """
    letters = _NOT_LETTERS.sub("", fold_name(email.rpartition("@")[0].split("+", 1)[0]))
    if "family" in letters:
        return True
    words = [fold_name(w) for w in [family_name, *re.split(r"[\s\-']+", family_name)]]
    words = [w for w in words if len(w) > 2]
    return any(letters.startswith("the" + w) for w in words)


def _logged_in(contact: RecordData, carriers: Carriers) -> bool:
    """Whether a contact's holder logs in to the web as her (a session naming its id)."""
    return any(
        record.source == "web_analytics"
        and any(i.kind is _CRM_ID and i.key == ident.key and i.via == "login"
                for i in record.identifiers)
        for ident in contact.identifiers
        if ident.kind is _CRM_ID and ident.via == "crm"
        for record in carriers.get((_CRM_ID, ident.key), ())
    )  # fmt: skip
