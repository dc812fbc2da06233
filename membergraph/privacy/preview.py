"""An erasure's dry run: what it would take, and whom, changing nothing.

Read by the search the erasure itself runs (:func:`~.subject.read_subject`,
:func:`~.naming.lines_beyond`): the records by source (hers in the member and elsewhere),
the identifiers it would suppress by kind and how many of her values it would leave to
another live member, the lines by source (her records' own, hers on a shared device, kept
for no one and naming her), and the people the member's CRM contacts read as
(:mod:`.spans`). Lines that fail validation are not counted: the erasure finds those naming
her as it rewrites the files (``lines_invalid``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass

from membergraph.gateway_parts import Gateway
from membergraph.identity.records import RecordKey
from membergraph.privacy.naming import lines_beyond, lines_of
from membergraph.privacy.spans import Spans, people_in
from membergraph.privacy.subject import read_subject

__all__ = ["ErasurePreview", "preview_erasure"]


@dataclass(frozen=True, slots=True)
class ErasurePreview:
    """What erasing the member (or only ``records`` of it) would take."""

    member_id: str
    spans: Spans
    records: dict[str, int]
    suppressed: dict[str, int]
    left_to_others: int
    lines: dict[str, int]
    members_elsewhere: int


async def preview_erasure(
    gateway: Gateway, member_id: str, only: Collection[RecordKey] | None = None
) -> ErasurePreview | None:
    """The dry run of erasing the live member ``member_id`` (None: no such member)."""
    store, rules = gateway.identity.store, gateway.identity.rules
    live = await store.resolve_member_id(member_id)
    if live is None:
        return None
    subject = await read_subject(store, live, rules, only=only)
    lines: Counter[str] = Counter()
    for name, found in (await lines_of(gateway, subject.refs)).items():
        lines[name.value] += len(found)
    beyond = await lines_beyond(gateway, subject, elsewhere=False)
    for part in (beyond.shared, beyond.nobodys):
        for name, found in part.items():
            lines[name.value] += len(found)
    return ErasurePreview(
        live,
        await people_in(store, live, rules),
        dict(Counter(source for source, _ in subject.refs)),
        dict(Counter(kind.value for kind, _ in subject.suppress)),
        subject.shared_values,
        dict(lines),
        len(subject.emptied) + len(subject.touched),
    )
