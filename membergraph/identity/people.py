"""Who the records carrying a value are, as the engine counts people on it (a value on
more people than the rules allow is a hub: :func:`~membergraph.identity.values.status_of`).

The engine and a change's closure walk (``hub_stops.py``) count with this one class, so
the walk stops only at values the engine holds to be hubs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.values import ValueKey, person_of

__all__ = ["People", "Signature", "crm_signatures"]

Signature = tuple[str, str, str]


def crm_signatures(
    records: Iterable[RecordData], rules: Rules
) -> dict[RecordKey, Signature | None]:
    """Each CRM contact's signature (name and birth date), None for a contact a till typed
    for whoever stood there (``Walk-In Customer``: it signs as no one)."""
    no_one = rules.near_duplicates.signs_as_no_one
    return {
        record.ref: None if sig is None or no_one(sig) else sig
        for record in records
        if record.source == "crm"
        for sig in (record.signature,)
    }


class People(dict[RecordKey, object]):
    """Who each record stands for (:func:`person_of`), worked out when first asked: only
    values on two records or more ask. A record that claims a card or a contact (a card's
    purchases, a login) stands for the CRM contact holding it, when one person's contacts
    do: her card and her login are not two more people on her e-mail."""

    def __init__(
        self,
        records: Mapping[RecordKey, RecordData],
        signature: Mapping[RecordKey, Signature | None],
        carriers: Mapping[ValueKey, Sequence[RecordData]],
        is_junk: Callable[[IdentifierKind, str], bool] | None = None,
    ) -> None:
        super().__init__()
        self.records, self.signature, self.carriers = records, signature, carriers
        self.is_junk = is_junk

    def __missing__(self, ref: RecordKey) -> object:
        person = person_of(self.records[ref], self.signature.get(ref))
        if (
            isinstance(person, tuple)
            and len(person) == 2
            and person[0] == "claims"
            # A placeholder an agent typed (``test@test.com``) is no one's contact, whoever
            # gave it too: its holders are not read (a change's closure never reaches them).
            and not (self.is_junk is not None and self.is_junk(*person[1]))
        ):
            holders = {
                self.signature.get(holder.ref) or holder.ref
                for holder in self.carriers.get(person[1], ())
                if holder.source == "crm"
            }
            if len(holders) == 1:
                person = holders.pop()
        self[ref] = person
        return person
