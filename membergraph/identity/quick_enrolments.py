"""Her quick contact at a till beside her dated one, on a shared phone: one person.

A customer who forgot her account is enrolled again at a till: a new card, the birth date
skipped, her name typed by a clerk, her phone given again, and an e-mail of her own or
none. Her two contacts then each hold values of their own (her old and new e-mails, a
mobile on one), which on a shared phone say two people
(``reenrolments.own_values_say_two``): a household's namesakes on the landline, a father
and his son of one name, a mother and her daughter Jenny, each give an address naming
himself. ``reenrolments.quick_enrolment_on_a_phone`` reads the quick contact for what a
till makes of her and what a namesake's contact does not show (:func:`enrolled_again`).

Two contacts, each holding a card of its own, one giving a birth date and the other none,
names close (the near-duplicate rule), are one person though each has values of its own
when nothing says a namesake and something says a till:

- Nothing says a namesake. Her first name is given again (the same, a listed short form,
  a slip of the fingers, a letter doubled, her names in the wrong boxes; not a letter left
  out, which may make another person's name: ``Stephane`` beside ``Stephanie``); two
  middle initials, one on each, are two people (Anthony F. and Anthony G. Smith); the
  quick contact was first seen once the dated one's holder was
  ``reenrolments.quick_enrolment_least_age`` (25: a son's contact from 2018 beside Danny's,
  born in 2008, is his father's; a young contact's namesake on the household's landline is
  her parent as often as herself again: Emily Price, born 2008, and her mother's contact
  typed ``Emmily``, first seen when Emily was 16, on the fresh set s361); the dated
  contact gives no phone of its own besides the shared ones (an elderly mother's contact
  listing her namesake daughter's mobile after her own: the daughter enrols with it as
  hers).
- Something says a till. A name typed with a slip on one (``Richaard``, ``Bronw``: one
  edit, not two listed names, Anne and Ann); or the quick contact gives no e-mail naming
  her (none, a clerk's placeholder, a handle); or an e-mail of the quick contact holds
  the two digits of the dated contact's birth year (``tylerwhite95@`` beside Tyler
  White's 1995). A father and his son of one name, each giving an address naming himself,
  show none of these (David Gagnon, 1963, ``hockeyfan3393@``, and his son's
  ``gagnond@``, on a 20,000-people holdout).

On the fresh 20,000-people set s361 (made after the rule) it joined a mother and her
daughter of one name, which the least age above now keeps apart; left off in the
thirty-first round, on since the thirty-second (docs/benchmarks-history.md).

Counted on s1 to s9 (contact pairs on a shared phone, each with a card, one birth date
left out, names close, left apart by values of their own): 69 one person's and 7 two
people's, which the guards all keep apart (two by the least age, three undated on
both, Anthony F. and G. among them, one a man's and a woman's name, one the dated
contact's own phone). Resolved: 29 contact pairs of one person's joined (57 profile pairs), none of
two people's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from rapidfuzz.distance import OSA

from membergraph.identity.email_names import names_her
from membergraph.identity.handovers import aged, first_seen
from membergraph.identity.name_forms import first_name_core, names_swapped
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.typing_slips import finger_slip, keyboard_slip

__all__ = ["enrolled_again"]

_INITIAL = re.compile(r"\s(\w)\.?$")
_TWO_DIGITS = re.compile(r"(?<!\d)(\d{2})(?!\d)")


def enrolled_again(
    a: RecordData,
    b: RecordData,
    rules: Rules,
    records: Mapping[RecordKey, RecordData],
    someones: Callable[[IdentifierKind, str], bool],
) -> bool:
    """Whether two contacts on a shared phone, each with values of its own, are one
    person's: her dated contact and her quick one at a till (the module's terms).

    Example:
        >>> from datetime import date
        >>> from membergraph.connectors.models import CrmContact, SourceName
        >>> from membergraph.identity.line_records import record_of_line
        >>> from membergraph.identity.phone_duplicates import ReenrolmentRules
        >>> def contact(cid, first, born, email, card, written):
        ...     line = CrmContact.model_validate({
        ...         "contact_id": cid, "first_name": first, "last_name": "Wilson",
        ...         "birth_date": born, "emails": [email], "phones": ["3135379107"],
        ...         "loyalty_id": card, "updated_at": written})
        ...     return record_of_line(SourceName.CRM, line)
        >>> dated = contact("C1", "Richard", "1992-07-26", "rwilson4@rogers.com",
        ...                 "LD61000001", "2026-11-27T10:00:00Z")
        >>> quick = contact("C2", "Richaard", None, "richard_wilson@gmail.com",
        ...                 "LD61000002", "2018-10-04T10:00:00Z")
        >>> on = Rules().model_copy(update={"reenrolments": ReenrolmentRules(
        ...     quick_enrolment_on_a_phone=True)})
        >>> enrolled_again(dated, quick, on, {}, lambda kind, key: True)
        True
    """
    near = rules.near_duplicates
    held = near.birth_date_placeholders
    dated = [r for r in (a, b) if r.birth_date and r.birth_date.isoformat() not in held]
    if len(dated) != 1 or not all(_has(r, IdentifierKind.LOYALTY_ID) for r in (a, b)):
        return False
    her, quick = dated[0], (b if dated[0] is a else a)
    if not _first_name_again(a, b, near) or _initials_differ(a, b):
        return False
    seen = first_seen(quick, records)
    assert her.birth_date is not None
    ren = rules.reenrolments
    least = max(ren.handover_least_age, ren.quick_enrolment_least_age)
    if seen is None or seen < aged(her.birth_date, least):
        return False
    if _phones(her, rules, someones) - _phones(quick, rules, someones):
        return False
    return (
        _a_slip(her, quick, near)
        or not _named(quick, her, rules, someones)
        or _her_year(quick, her, rules, someones)
    )


def _first_name_again(a: RecordData, b: RecordData, near: NearDuplicates) -> bool:
    """Her first name given again, a middle initial aside: the same, a listed short form
    of it, a slip of the fingers (``Davdi``), a letter doubled (``Richaard``), or her names
    in the wrong boxes. A letter left out may make another person's name (``Stephane``
    beside ``Stephanie``: a man's and a woman's)."""
    x, y = (fold_name(first_name_core(r.first_name or "")) for r in (a, b))
    if not x or not y:
        return False
    if x == y or y in near.first_name_forms(x) or x in near.first_name_forms(y):
        return True
    if finger_slip(x, y) or _doubled(x, y):
        return True
    sig_a, sig_b = ((r.first_name or "", r.last_name or "", "") for r in (a, b))
    return names_swapped(sig_a, sig_b)


def _doubled(x: str, y: str) -> bool:
    """Whether one name is the other with a letter typed twice (``richaard``)."""
    short, long = (x, y) if len(x) < len(y) else (y, x)
    if len(long) != len(short) + 1:
        return False
    return any(
        long[i] == long[i - 1] and long[:i] + long[i + 1 :] == short for i in range(1, len(long))
    )


def _has(record: RecordData, kind: IdentifierKind) -> bool:
    return any(i.kind is kind for i in record.identifiers)


def _initials_differ(a: RecordData, b: RecordData) -> bool:
    found = [_INITIAL.search((r.first_name or "").strip()) for r in (a, b)]
    if found[0] is None or found[1] is None:
        return False
    return found[0].group(1).casefold() != found[1].group(1).casefold()


def _phones(
    record: RecordData, rules: Rules, someones: Callable[[IdentifierKind, str], bool]
) -> set[str]:
    return {
        i.key
        for i in record.identifiers
        if i.kind is IdentifierKind.PHONE
        and not rules.is_junk(i.kind, i.key)
        and someones(i.kind, i.key)
    }


def _own_emails(
    record: RecordData,
    other: RecordData,
    rules: Rules,
    someones: Callable[[IdentifierKind, str], bool],
) -> set[str]:
    def emails(r: RecordData) -> set[str]:
        return {
            i.key
            for i in r.identifiers
            if i.kind is IdentifierKind.EMAIL
            and not rules.is_junk(i.kind, i.key)
            and someones(i.kind, i.key)
        }

    return emails(record) - emails(other)


def _named(
    quick: RecordData,
    her: RecordData,
    rules: Rules,
    someones: Callable[[IdentifierKind, str], bool],
) -> bool:
    """Whether the quick contact gives an e-mail of its own naming it."""
    near = rules.near_duplicates
    own = _own_emails(quick, her, rules, someones)
    return any(names_her(e, quick.first_name, quick.last_name, near) for e in own)


def _her_year(
    quick: RecordData,
    her: RecordData,
    rules: Rules,
    someones: Callable[[IdentifierKind, str], bool],
) -> bool:
    """Whether an e-mail of the quick contact's own holds the dated one's birth year's
    last two digits (``tylerwhite95@``, Tyler White born in 1995)."""
    assert her.birth_date is not None
    year = f"{her.birth_date.year % 100:02d}"
    own = _own_emails(quick, her, rules, someones)
    return any(year in _TWO_DIGITS.findall(e.rpartition("@")[0]) for e in own)


def _a_slip(a: RecordData, b: RecordData, near: NearDuplicates) -> bool:
    """Whether the first or the family names differ by one slip of typing, not two listed
    names (Anne and Ann are twins' names)."""
    first_a, first_b = (fold_name(first_name_core(r.first_name or "")) for r in (a, b))
    last_a, last_b = (fold_name(r.last_name or "") for r in (a, b))
    return _slip(first_a, first_b, near.common_first_name) or _slip(
        last_a, last_b, near.common_family_name
    )


def _slip(x: str, y: str, common: Callable[[str], bool]) -> bool:
    if not x or not y or x == y:
        return False
    if OSA.distance(x, y, score_cutoff=1) > 1 and not keyboard_slip(x, y):
        return False
    return not (common(x) and common(y))
