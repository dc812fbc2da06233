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
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules, Signature
from membergraph.identity.values import own_values_disagree, own_values_part

__all__ = ["RULE", "partial_duplicates", "partial_signature"]

RULE = "crm_partial_duplicate"
Edge = tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]


def partial_signature(record: RecordData) -> Signature | None:
    """A CRM contact's signature with one name field left empty (``""``): first name,
    family name, birth date; None when both or neither are given."""
    first, last = (record.first_name or "").strip(), (record.last_name or "").strip()
    if bool(first) == bool(last):
        return None
    birth = record.birth_date.isoformat() if record.birth_date else ""
    return (first.casefold(), last.casefold(), birth)


def partial_duplicates(
    rules: Rules,
    kind: IdentifierKind,
    value: str,
    profiles: Iterable[RecordKey],
    signed: list[tuple[Signature, RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> list[Edge]:
    """Edges joining each contact on ``value`` that left a name field empty to the one
    person's contacts (``signed``: the whole signatures on the value) it fits."""
    if not rules.near_duplicates.partial_names or kind not in rules.near_duplicates.kinds:
        return []
    near, edges = rules.near_duplicates, []
    held = near.birth_date_placeholders
    for ref in profiles:
        record = records[ref]
        part = partial_signature(record) if record.source == "crm" else None
        if part is None or not part[2] or part[2] in held:
            continue
        if near.names_no_one(part[0] or part[1]):
            continue  # "Guest": a till's word for whoever stood there
        fits = [
            (sig, other)
            for sig, other in signed
            if sig[2] and sig[2] not in held and near.same_birth(part[2], sig[2])
            and near.names_close(part[0] or sig[0], part[1] or sig[1], sig[0], sig[1])
        ]  # fmt: skip
        if not fits or not all(
            near.same_person(a, b) for i, (a, _) in enumerate(fits) for b, _ in fits[i + 1 :]
        ):
            continue  # no one, or two people (twins): the empty field cannot say which
        if own_values_part(kind) and any(
            own_values_disagree(record, records[other], rules) for _, other in fits
        ):
            continue
        a, b = sorted((ref, fits[0][1]))
        edges.append((1, kind, value, a, b, RULE))
    return edges
