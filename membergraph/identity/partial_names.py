"""One person's CRM contacts when one of them left a name field empty.

A form with an optional field, a clerk in a hurry, an import that lost a column: a contact
comes with a family name and no first name (``Miller``, born 1973-06-05), or a first name
alone. It has no whole signature, so the near-duplicate rule never compares it, and the
e-mail or card it shares with the person's full contact reads as two people's (a family's):
her orders and opens are left to no one. When the name it does give is close to that same
field of the contacts sharing the value, and its birth date (given) agrees with theirs, it
is that person's contact, provided those contacts are one person by the rules: twins share a
family name and a birth date, and a contact without the first name cannot say which twin it
is. Values of their own on each still say two people, as on any shared e-mail.

A contact whose name names no one (``Walk-In Customer``, ``Valued Customer``: a clerk's
word for whoever stood at the till) but gives a birth date is, likewise, the person's whose
contacts share its e-mail or card and give that same date: the clerk typed a word for the
name, not for the e-mail and the birth date.

With no birth date to compare (left out on either), an e-mail that names the person
(``barbara.harris@``, ``rjohnson@``) says whose contact it is: her own address, typed for
her, where a family's (``the.millers@``) or a nickname's (``coffeelover113@``) could be
anyone's of the household.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from membergraph.identity.email_names import names_her
from membergraph.identity.name_forms import first_name_core
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules, Signature
from membergraph.identity.values import own_values_disagree, own_values_part

__all__ = ["PLACEHOLDER_NAME_RULE", "RULE", "partial_duplicates", "partial_signature"]

RULE = "crm_partial_duplicate"
PLACEHOLDER_NAME_RULE = "crm_placeholder_name_duplicate"
Edge = tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]


def partial_signature(record: RecordData) -> Signature | None:
    """A CRM contact's signature with one name field left empty (``""``): first name,
    family name, birth date; None when both or neither are given."""
    first, last = (record.first_name or "").strip(), (record.last_name or "").strip()
    if bool(first) == bool(last):
        return None
    birth = record.birth_date.isoformat() if record.birth_date else ""
    return (first.casefold(), last.casefold(), birth)


def _anywhere(a: RecordData, b: RecordData) -> bool:
    return True


def _first_name_again(
    near: NearDuplicates, part: Signature, signed: list[tuple[Signature, RecordKey]]
) -> list[tuple[Signature, RecordKey]]:
    """The contacts on a shared phone whose first name a contact giving a first name alone
    gives again (``reenrolments.partial_names_on_a_phone``): the same, or a listed form of
    it more than a letter apart (``Sue``/``Susan``; ``Ann`` and ``Anne`` are twins'), with
    no birth date against (a son of one first name gives his own). A family name alone is
    anyone's of the household on its landline."""
    first = fold_name(first_name_core(part[0]))

    def again(other: str) -> bool:
        x = fold_name(first_name_core(other))
        if x == first:
            return True
        forms = x in near.first_name_forms(first) or first in near.first_name_forms(x)
        return forms and not near.one_slip(x, first)

    return [
        (sig, other)
        for sig, other in signed
        if first and again(sig[0]) and near.same_birth(part[2], sig[2])
    ]


def _named_by_email(
    rules: Rules,
    value: str,
    record: RecordData,
    part: Signature,
    signed: list[tuple[Signature, RecordKey]],
    records: Mapping[RecordKey, RecordData],
    till_word: bool = False,
) -> list[tuple[Signature, RecordKey]]:
    """The contacts on an e-mail that names them (``names_her``: her family name with a
    form of her first name, ``barbara.harris@``) whose birth dates leave nothing to compare
    with ``part``, and whose names fit the first name it gives: with no birth date, her own
    address, named for her, says whose contact it is
    (``near_duplicates.partial_names_by_email``). A family name alone or a till's word says
    no more than the address does (a parent's, given for a student enrolled with the family
    name only): such a contact must share her phone too. A date it gives that one of the
    contacts on the address contradicts says another person (her son, born 2007). A till's
    word (``till_word``) with ``placeholder_names_by_email`` needs no phone: the clerk typed
    a word for whoever stood there, and the address that person gave names her; when some
    of her contacts do share its phone, those are the ones it joins."""
    near, held = rules.near_duplicates, rules.near_duplicates.birth_date_placeholders
    dated = part[2] and part[2] not in held
    if dated and any(sig[2] and not near.same_birth(part[2], sig[2]) for sig, _ in signed):
        return []
    phones = {i.key for i in record.identifiers if i.kind is IdentifierKind.PHONE}
    phones = {p for p in phones if not rules.is_junk(IdentifierKind.PHONE, p)}

    def shares_a_phone(other: RecordKey) -> bool:
        return any(
            i.kind is IdentifierKind.PHONE and i.key in phones for i in records[other].identifiers
        )

    named = [
        (sig, other)
        for sig, other in signed
        if near.birth_said(part[2], sig[2]) == "left_out" and names_her(value, sig[0], sig[1], near)
    ]
    if part[0]:
        return [(s, o) for s, o in named if near.names_close(part[0], part[1] or s[1], s[0], s[1])]
    # Her contacts sharing its phone say whose it is, as before: her others, with a phone of
    # their own (her mobile), would read as another person's and leave it to no one.
    # A date it gives (a young adult's, on her parent's address) says no more than the
    # address: only an undated till's word goes without a phone.
    by_phone = [(sig, other) for sig, other in named if shares_a_phone(other)]
    if by_phone or dated or not (till_word and near.placeholder_names_by_email):
        return by_phone
    return named


def partial_duplicates(
    rules: Rules,
    kind: IdentifierKind,
    value: str,
    profiles: Iterable[RecordKey],
    signed: list[tuple[Signature, RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> list[Edge]:
    """Edges joining each contact on ``value`` that left a name field empty to the one
    person's contacts (``signed``: the whole signatures on the value) it fits; and, with
    ``placeholder_names_by_birth``, each contact whose name names no one (a till's
    ``Walk-In Customer``) to those whose birth date agrees with its own."""
    near = rules.near_duplicates
    # A till's contact gives the customer's phone as it gives her e-mail: a landline is a
    # family's, but one birth date on it is one person's.
    kinds = (*near.kinds, IdentifierKind.PHONE) if near.placeholder_names_by_birth else near.kinds
    if kind not in kinds or not (near.partial_names or near.placeholder_names_by_birth):
        return []
    edges = []
    held = near.birth_date_placeholders
    on_phone = kind is IdentifierKind.PHONE and rules.reenrolments.partial_names_on_a_phone
    for ref in profiles:
        record = records[ref]
        if record.source != "crm":
            continue
        part, rule = partial_signature(record), RULE
        if part is None:
            whole = record.signature
            if not (near.placeholder_names_by_birth and whole and near.signs_as_no_one(whole)):
                continue
            # The clerk typed a word for the name; the e-mail and the birth date are hers.
            part, rule = ("", "", whole[2]), PLACEHOLDER_NAME_RULE
        elif (
            not near.partial_names
            or (kind not in near.kinds and not (on_phone and part[0]))
            or near.names_no_one(part[0] or part[1])
        ):
            continue  # "Guest": a till's word for whoever stood there
        dated = bool(part[2]) and part[2] not in held
        phone_part = rule == RULE and kind not in near.kinds  # on_phone: a first name alone
        if phone_part:
            fits = _first_name_again(near, part, signed)
        elif not dated:
            fits = []
        elif rule == PLACEHOLDER_NAME_RULE:  # no name to help: one date, as written
            fits = [(sig, other) for sig, other in signed if sig[2] == part[2]]
        else:
            fits = [
                (sig, other)
                for sig, other in signed
                if sig[2] and sig[2] not in held and near.same_birth(part[2], sig[2])
                and near.names_close(part[0] or sig[0], part[1] or sig[1], sig[0], sig[1])
            ]  # fmt: skip
        undated = not fits and kind is IdentifierKind.EMAIL and near.partial_names_by_email
        if undated:
            till_word = rule == PLACEHOLDER_NAME_RULE
            fits = _named_by_email(rules, value, record, part, signed, records, till_word)
        if phone_part:
            undated = any(near.birth_said(part[2], sig[2]) == "left_out" for sig, _ in fits)
        if not fits or not all(
            near.same_person(a, b) for i, (a, _) in enumerate(fits) for b, _ in fits[i + 1 :]
        ):
            continue  # no one, or two people (twins): the empty field cannot say which
        # With no date to compare, a phone of its own on each says two people wherever they
        # live, as does her own e-mail against the other's own phone (a guest a clerk put
        # on her address, who gave the till his own mobile).
        anywhere = _anywhere if undated else None
        if own_values_part(kind) and any(
            own_values_disagree(record, records[o], rules, None, undated, anywhere) for _, o in fits
        ):
            continue
        a, b = sorted((ref, fits[0][1]))
        edges.append((1, kind, value, a, b, rule))
    return edges
