"""Two contacts of one name on her own e-mail, each with a phone of its own: one person.

Two CRM contacts under the same first and family names, a birth date left out on one or
both, sharing an e-mail, were read as a father and son of one name (``near_edges``'s phones
of their own at one home, ``profile_edges``'s namesakes) whenever each had a phone the other
lacked. A customer enrolled again keeps her address and gives the phone she has now (a new
mobile, the landline), so her two contacts differ by exactly that. A father and son of one
name who share an address share the household's, or the son's contact carries the
father's; what tells them from her (``reenrolments.one_name_on_her_email``, off by default:
on a fresh 20,000-people set, s281, a father and son of one name, the son born 2006 and
given the father's address, showed none of it):

- a family's address (``thejohnsons12@``, ``johnsonfamily@``) is the household's, not hers;
- each contact logs in to the web (two accounts, two people at their keyboards);
- a contact is seen using an address neither contact holds (given with her card's
  purchases, by her logged-in sessions): the son's own, beside his father's on file.

With ``one_name_on_her_email`` off, names written the same are read so when one contact
fell silent before the other began (``reenrolments.one_name_handed_over``: the spans of
:func:`~membergraph.identity.handovers.hands_over`, its last write and its cards' purchases
all on days before the other's first): she left her old card when she enrolled again; the
son and father keep both going side by side (s281's Anthony Campbell, his card used after
his father's contact was written).

E-mails of their own on each still say two as before (``own_emails_name_each``). Names the
near-duplicate rule finds close but written differently in the first or the family name
by a typing slip (``Siobhan Smih``, ``Jenifer Young``: ``reenrolments.
a_name_typed_on_her_email``; not a short form, ``Will`` / ``William``) are read
so too, when neither contact has an e-mail of its own besides the shared one: William
Jonson's contact (his work address beside it) and his son William Johnson's, given the
father's, on the tuned sets. Both names written differently (``Jim Johnson``, ``Jimmy B.
Johnsno``, a son on his father's address) are not.

Counted on s1 to s9 (contact pairs on a shared e-mail, a birth date left out, no e-mail of
their own on each, in two members on main; one person's / two people's): names written the
same 35 / 2 (both kept apart by ``undated_duplicates_least_age``), a family's address 3 / 1,
each logged in 0 / 1, another address seen 1 / 0; one name typed 19 / 0 after its own
guards (an address of its own besides 2 / 4, both names written differently 2 / 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from rapidfuzz.distance import OSA

from membergraph.identity.handovers import first_names_given_alike, first_seen, hands_over
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.ordering_emails import addresses_she_uses
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules

__all__ = ["a_familys_address", "one_name_on_her_email", "undated_uses_another"]

_EMAIL, _CRM_ID = IdentifierKind.EMAIL, IdentifierKind.CRM_ID
_NOT_LETTERS = re.compile(r"[^a-z]")
_SLIPS = 2  # edits a typed name is from the other at most
Carriers = Mapping[tuple[IdentifierKind, str], list[RecordData]]


def one_name_on_her_email(
    a: RecordData,
    b: RecordData,
    email: str,
    rules: Rules,
    carriers: Carriers,
    someones: Callable[[IdentifierKind, str], bool],
    records: Mapping[RecordKey, RecordData] | None = None,
) -> bool:
    """Whether two contacts sharing ``email`` (its matching key) are one person though
    each has a phone of its own: one name written the same (or one of the two names typed,
    ``a_name_typed_on_her_email``, neither with an e-mail of its own besides ``email``), a
    birth date left out on one or both, no family's address, not each logged in, neither
    seen using an address that identifies someone (``someones``) and that neither contact
    holds, and no e-mail of its own on each (those are weighed as before). ``records``:
    the records by key, for the contacts' cards, where the handover is read
    (``one_name_handed_over``, ``close_names_handed_over``); None: no handover is read.

    Example:
        >>> from membergraph.identity.records import Identifier
        >>> def contact(key, phone, born=None):
        ...     idents = {Identifier(_EMAIL, "jwatson@mail.com", "jwatson@mail.com", "crm"),
        ...               Identifier(IdentifierKind.PHONE, phone, phone, "crm")}
        ...     return RecordData("crm", key, "profile", idents, "Juan", "Watson", born)
        >>> from membergraph.identity.phone_duplicates import ReenrolmentRules
        >>> on = Rules(reenrolments=ReenrolmentRules(one_name_on_her_email=True))
        >>> one = lambda kind, key: True
        >>> one_name_on_her_email(contact("C1", "+15550001"), contact("C2", "+15550002"),
        ...                       "jwatson@mail.com", on, {}, one)
        True
        >>> one_name_on_her_email(contact("C1", "+15550001"), contact("C2", "+15550002"),
        ...                       "jwatson@mail.com", Rules(), {}, one)  # off by default
        False
    """
    near, reenrolments = rules.near_duplicates, rules.reenrolments
    names = [(fold_name(r.first_name or ""), fold_name(r.last_name or "")) for r in (a, b)]
    if not all(names[0]) or not all(names[1]):
        return False
    typed = names[0] != names[1]  # close names (the caller's rule), one of them typed
    if typed and not (
        (reenrolments.a_name_typed_on_her_email and _one_name_typed(*names))
        or (
            reenrolments.close_names_handed_over
            and records is not None
            and first_names_given_alike(a, b, near)
            and hands_over(
                a,
                b,
                records,
                reenrolments.handover_least_age,
                True,
                True,
                reenrolments.handed_over_least_days,
                reenrolments.handed_over_to_the_undated,
            )
        )
    ):
        return False
    if not typed and not (
        reenrolments.one_name_on_her_email
        or (
            reenrolments.one_name_handed_over
            and records is not None
            and hands_over(
                a,
                b,
                records,
                reenrolments.handover_least_age,
                reenrolments.handover_old_card,
                least_days_apart=reenrolments.handed_over_least_days,
                to_undated=reenrolments.handed_over_to_the_undated,
            )
        )
    ):
        return False
    births = [(r.birth_date.isoformat() if r.birth_date else "") for r in (a, b)]
    if near.birth_said(*births) != "left_out":
        return False
    if any(a_familys_address(email, r.last_name or "") for r in (a, b)):
        return False
    if _logged_in(a, carriers) and _logged_in(b, carriers):
        return False
    mine, theirs = (
        {i.key for i in r.identifiers if i.kind is _EMAIL and someones(_EMAIL, i.key)}
        for r in (a, b)
    )
    if mine - theirs and theirs - mine:
        return False  # e-mails of their own on each: weighed as before
    if typed and (mine | theirs) - {email}:
        return False  # his own beside it: it may be his, given for a son of a name close by
    held = mine | theirs | {i.key for r in (a, b) for i in r.identifiers if i.kind is _EMAIL}
    return not any(
        someones(_EMAIL, used) for r in (a, b) for used in addresses_she_uses(r, carriers) - held
    )


def undated_uses_another(
    undated: RecordData,
    dated: RecordData,
    email: str,
    carriers: Carriers,
    someones: Callable[[IdentifierKind, str], bool],
    records: Mapping[RecordKey, RecordData],
) -> bool:
    """Whether a contact with no birth date sharing ``email`` (its matching key) with a
    dated one, and first seen before it (written, or its card used:
    :func:`~membergraph.identity.handovers.first_seen`), is seen using (given with its
    card's purchases, by its logged-in sessions) an address that identifies someone
    (``someones``), that neither contact holds, and never ``email``: a parent enrolled a
    young adult with the parent's own address, and the son's logins and web orders give his
    own (``matthew.jones@`` beside his father's ``matthew893@``, Matthew Jones both). One
    person entered twice uses her newest enrolment: her older contact, active under an
    address she never gave either, is someone else's.

    Example:
        >>> from membergraph.identity.records import Identifier
        >>> def contact(key, born=None):
        ...     idents = {Identifier(_EMAIL, "m893@mail.com", "m893@mail.com", "crm")}
        ...     return RecordData("crm", key, "profile", idents, "Matt", "Jones", born)
        >>> undated_uses_another(contact("C2"), contact("C1"), "m893@mail.com", {},
        ...                      lambda kind, key: True, {})  # seen using nothing
        False
    """
    seen, seen_dated = first_seen(undated, records), first_seen(dated, records)
    if seen is None or seen_dated is None or seen >= seen_dated:
        return False
    used = addresses_she_uses(undated, carriers)
    if email in used:
        return False
    held = {i.key for r in (undated, dated) for i in r.identifiers if i.kind is _EMAIL}
    return any(someones(_EMAIL, key) for key in used - held)


def _one_name_typed(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Whether two contacts' (first, family) names differ in one of the two only, by a
    typing slip (two edits at most, one letter longer at most: ``Jenifer``, ``Smih``), not
    a short form (``Will``, ``Jim`` / ``Jimmy``: a son of a name close to his father's).

    Example:
        >>> _one_name_typed(("jennifer", "young"), ("jenifer", "young"))
        True
        >>> _one_name_typed(("william", "johnson"), ("will", "johnson"))
        False
    """
    if (a[0] == b[0]) == (a[1] == b[1]):
        return False
    one, other = (a[0], b[0]) if a[0] != b[0] else (a[1], b[1])
    return abs(len(one) - len(other)) <= 1 and OSA.distance(one, other) <= _SLIPS


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
