"""Which CRM contacts on one shared card or e-mail are one person entered twice under names
written differently: the edges of the near-duplicate rule (``rules.near_duplicates``).

Close names and one birth date (or a date left out on one) on a shared value say one person;
on an e-mail (a family may share one, a card it may not) values of their own on each say two:
twins, each with her own address, or a father and son of one name on the son's contact given
the father's address. A value the data shows to be no one's (a store's e-mail or phone a till
types for every guest: a hub) is no value of hers. With no birth date to compare, the phones
speak at one home however written, or where an address is left out: a parent and a child of
one name on the parent's address, each with a mobile of his own and none shared, are two
people; a household's line, on two people's contacts, is nobody's own, so a contact giving
the landline and her duplicate her mobile still join; at two homes, a new phone is what a
move brings. The
contacts left apart meet again as a match suggestion, for a steward to weigh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from membergraph.identity.comparisons import address_level
from membergraph.identity.dropped_letters import born_one
from membergraph.identity.her_email import a_familys_address
from membergraph.identity.name_forms import first_name_core
from membergraph.identity.near_duplicates import NearDuplicates, Signature
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.seen_as_a_child import seen_as_a_child
from membergraph.identity.values import ValueKey, own_values_disagree, own_values_part

__all__ = ["RULE", "garbled_born_one", "near_duplicates", "one_if_email_and_phone"]

RULE = "crm_near_duplicate"
_NO_ONES = ("hub", "blocked")  # statuses of values that identify no one

Edge = tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]


def near_duplicates(
    rules: Rules,
    kind: IdentifierKind,
    value: str,
    by_signature: Mapping[Signature, list[RecordKey]],
    records: Mapping[RecordKey, RecordData],
    status: Mapping[ValueKey, str],
    her_email: Callable[[RecordKey, RecordKey], bool] | None = None,
    uses_another: Callable[[RecordKey, RecordKey], bool] | None = None,
) -> list[Edge]:
    """Edges between CRM contacts on a strong value whose names differ but are close, with
    one birth date (``rules.near_duplicates``), and, on an e-mail, no values of their own
    that disagree: one person entered twice, not twins sharing a family address.
    ``her_email``: whether two contacts on the e-mail are one person whatever phones of
    their own say (:func:`~membergraph.identity.her_email.one_name_on_her_email`).
    ``uses_another``: whether an undated contact (first) is seen using an address of her own
    beside a dated one's (second) on the e-mail
    (:func:`~membergraph.identity.her_email.undated_uses_another`).

    Example:
        >>> near_duplicates(Rules(), IdentifierKind.EMAIL, "a@b.c", {}, {}, {})
        []
    """
    near = rules.near_duplicates
    firsts = sorted((refs[0], sig) for sig, refs in by_signature.items())
    return [
        (1, kind, value, a, b, RULE)
        for i, (a, sig_a) in enumerate(firsts)
        for b, sig_b in firsts[i + 1 :]
        if (
            near.same_person(sig_a, sig_b)
            or (
                kind is IdentifierKind.EMAIL
                and one_if_email_and_phone(near, sig_a, sig_b)
                and (
                    _a_phone_shared(records[a], records[b], status)
                    or garbled_born_one(rules, sig_a, sig_b)
                )
            )
        )
        and not (
            own_values_part(kind)
            and not born_one(rules, records[a], records[b])
            and _two_people(records[a], records[b], sig_a, sig_b, rules, status)
            and not (her_email is not None and her_email(a, b))
        )
        and not seen_as_a_child(records[a], records[b], records, rules.undated_duplicates_least_age)
        and not (
            kind is IdentifierKind.EMAIL
            and rules.familys_address_undated_apart
            and _a_familys_undated(value, records[a], records[b], sig_a, sig_b, near, status)
        )
        and not (
            uses_another is not None
            and not _a_phone_shared(records[a], records[b], status)
            and _undated_uses_another(a, b, sig_a, sig_b, near, uses_another)
        )
    ]


def _undated_uses_another(
    a: RecordKey,
    b: RecordKey,
    sig_a: Signature,
    sig_b: Signature,
    near: NearDuplicates,
    uses_another: Callable[[RecordKey, RecordKey], bool],
) -> bool:
    """Whether of two contacts, one dated and one not, the undated one is seen using an
    address of her own (``Rules.undated_using_another_apart``)."""
    held = near.birth_date_placeholders
    undated_a, undated_b = (not sig[2] or sig[2] in held for sig in (sig_a, sig_b))
    if undated_a == undated_b:
        return False
    return uses_another(a, b) if undated_a else uses_another(b, a)


def _a_familys_undated(
    value: str,
    a: RecordData,
    b: RecordData,
    sig_a: Signature,
    sig_b: Signature,
    near: NearDuplicates,
    status: Mapping[ValueKey, str],
) -> bool:
    """Whether two contacts on ``value`` are a family's two people, not one entered twice:
    the address is a family's, a birth date is left out, the first names are not written
    alike and no phone is shared (``Rules.familys_address_undated_apart``)."""
    return (
        near.birth_said(sig_a[2], sig_b[2]) == "left_out"
        and fold_name(sig_a[0] or "") != fold_name(sig_b[0] or "")
        and not _a_phone_shared(a, b, status)
        and any(a_familys_address(value, r.last_name or "") for r in (a, b))
    )


def one_if_email_and_phone(near: NearDuplicates, a: Signature, b: Signature) -> bool:
    """Whether two contacts that ``same_person`` leaves apart are one person if they share
    an e-mail and a phone: one first name under two family names with no birth date to
    compare (``family_name_changes_on_email_and_phone``: a marriage, not a family), or one
    family name and one birth date under first names far apart, one of them no common
    first name (``garbled_first_names``: ``Tmi``/``Timothy``, ``JF``/``Jean-François``;
    ``Mary``/``Mark`` are twins).

    Example:
        >>> near = NearDuplicates()
        >>> one_if_email_and_phone(near, ("Tmi", "Murphy", "1945-07-24"),
        ...                        ("Timothy", "Murphy", "1945-07-24"))
        True
    """
    said = near.birth_said(a[2], b[2])
    if said == "left_out":
        return (
            near.family_name_changes
            and near.family_name_changes_on_email_and_phone
            and near.names_said(a, b) == "first_only"
        )
    if said != "agreed" or not near.garbled_first_names:
        return False
    first_a, first_b = (fold_name(first_name_core(sig[0])) for sig in (a, b))
    common_a, common_b = near.common_first_name(first_a), near.common_first_name(first_b)
    if common_a and common_b:
        return False  # Mary and Mark: twins on the family's address and line
    typed, meant = (first_b, first_a) if common_a else (first_a, first_b)
    if not common_a and not common_b and len(typed) > len(meant):
        typed, meant = meant, typed
    return _typed_from(typed, meant) and near.family_names_close(a[1], b[1])


def garbled_born_one(rules: Rules, a: Signature, b: Signature) -> bool:
    """Whether two contacts are one person on a shared phone or e-mail alone by a first name
    typed past recognition under one family name and one birthday, given on both
    (``reenrolments.garbled_first_names_on_one_value``; ``Dbe``/``Deborah``, ``Bne``/
    ``Benjamin``), as :func:`one_if_email_and_phone` reads them on both.

    Example:
        >>> garbled_born_one(Rules(), ("Dbe", "Murphy", "1965-09-05"),
        ...                  ("Deborah", "Murphy", "1965-09-05"))
        True
    """
    near = rules.near_duplicates
    return (
        rules.reenrolments.garbled_first_names_on_one_value
        and near.birth_said(a[2], b[2]) == "agreed"
        and one_if_email_and_phone(near, a, b)
    )


def _typed_from(typed: str, meant: str) -> bool:
    """Whether a first name could be another typed past recognition: its initial, and its
    letters but one found in the other (``Tmi``/``Timothy``, ``dqn``/``Daniel``,
    ``JF``/``Jean-François``), not a name of its own (``Zephyr``/``Timothy``,
    ``Tobias``/``Timothy``: twins on the family's e-mail and line, one name uncommon).

    Example:
        >>> _typed_from("tmi", "timothy"), _typed_from("tobias", "timothy")
        (True, False)
    """
    letters = [c for c in typed if c.isalpha()]
    if not letters or not meant or letters[0] != meant[0]:
        return False
    return sum(c not in meant for c in letters) <= 1


def _two_people(
    a: RecordData,
    b: RecordData,
    sig_a: Signature,
    sig_b: Signature,
    rules: Rules,
    status: Mapping[ValueKey, str],
) -> bool:
    """Whether values of their own on each say two contacts on a shared e-mail are two
    people (``near_duplicates.own_values``; ``own_values_identify_someone``,
    ``undated_own_phones``)."""
    near = rules.near_duplicates
    counts = None
    if near.own_values_identify_someone:

        def counts(kind: IdentifierKind, key: str) -> bool:
            return status.get((kind, key)) not in _NO_ONES

    if own_values_disagree(a, b, rules, counts):
        return True
    if not near.undated_own_phones or near.birth_said(sig_a[2], sig_b[2]) != "left_out":
        return False
    if address_level(a, b) in ("postcode", "differs"):
        return False  # two homes: a move, and a new phone at the new one
    mine, theirs = _own_phones(a, status), _own_phones(b, status)
    return bool(mine and theirs and not mine & theirs)  # one phone shared: hers


def _a_phone_shared(a: RecordData, b: RecordData, status: Mapping[ValueKey, str]) -> bool:
    """Whether two contacts share a phone that identifies someone (not a placeholder, not
    a hub such as a store's number typed for every guest)."""
    phones = {i.key for i in a.identifiers if i.kind is IdentifierKind.PHONE}
    return any(
        i.kind is IdentifierKind.PHONE
        and i.key in phones
        and status.get((i.kind, i.key)) not in _NO_ONES
        for i in b.identifiers
    )


def _own_phones(record: RecordData, status: Mapping[ValueKey, str]) -> set[str]:
    """A contact's phones that are one person's: linkable (not a placeholder, not a value
    many people carry, not a household's line on two people's contacts)."""
    return {
        i.key
        for i in record.identifiers
        if i.kind is IdentifierKind.PHONE and status.get((i.kind, i.key)) == "linkable"
    }
