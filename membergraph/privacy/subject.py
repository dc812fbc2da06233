"""Who an erasure is about: the person, found by her identifiers, not only by her member.

A steward may have split her own records off her member (her visitor, her call) and linked
them elsewhere; a relative may hold her online account. :func:`read_subject` reads, before
anything goes, her member's records and every record outside it that is hers by what it
carries:

- an account made of one of her identifiers (``online:<her e-mail>``, ``loyalty:<her card>``);
- a web visitor or a call whose every identifying value is hers (a visitor that logged in
  as her, a call from her phone): the device and the call are hers, with all their lines;
- a visitor that logged in as her and as someone else (a shared device) is ``shared``: it
  loses her lines and her identifiers, and keeps the other person's.

Her identifiers are those her CRM contacts give (else her purchase accounts'), never what an
agent typed, and never a placeholder (``none@none.com``, a store's address typed at the till
for many people): it identifies no one, so it is not hers to suppress, and suppressing it
would refuse every other customer's line a till typed it on. Another person's CRM contact
that gives one of them (a family e-mail, a household phone) is his line and stays (the
README says so), and so does the value itself: one another live member's records carry (not
as an agent typed it), such as the family e-mail or the visitor id of a device he logs in
on too, is not suppressed (``shared_values`` counts them): suppressed, it would refuse his
next lines and make him reachable on no channel.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from membergraph.connectors.models import SourceName
from membergraph.identity.line_records import purchase_identifier
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import revealed_placeholders
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore

__all__ = ["Subject", "identifying", "read_subject"]

Theirs = set[tuple[IdentifierKind, str]]


@dataclass(frozen=True, slots=True)
class Subject:
    """What the identity store still says of the person, read before anything goes.

    ``elsewhere`` are her own records found by her identifiers outside her member (her
    online account split off by a steward, or taken by another contact with the same family
    e-mail; her visitor or call split off and linked to someone else); ``emptied`` the
    members that held only those (erased with her, in ``member_ids``), ``touched`` the
    members that keep other records once those go.
    """

    member_id: str
    member_ids: tuple[str, ...]
    refs: tuple[RecordKey, ...]
    suppress: tuple[tuple[IdentifierKind, str], ...]
    words: tuple[str, ...]
    elsewhere: tuple[RecordKey, ...] = ()
    emptied: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()
    shared: tuple[RecordKey, ...] = ()
    theirs: frozenset[tuple[IdentifierKind, str]] = frozenset()
    """Her identifying values: what a shared record's lines are told apart by, and lose."""
    traces: tuple[str, ...] = ()
    """What a stale copy of a row of hers in a file's bytes holds: her records' keys (every
    row of hers names one: a source line its owner, an identifier its record) and her
    identifiers' keys."""
    named_by: tuple[str, ...] = ()
    """What names her in a line that fails validation (whose owner no model can say): her
    records' keys, and her identifiers (placeholders and an agent's typing left out) as
    given and as matched; with ``names``, her first and last names, and her address."""
    names: tuple[tuple[str, str], ...] = ()
    shared_values: int = 0
    """How many of her values another live member's records carry too: left unsuppressed."""

    def owners(self) -> dict[SourceName, set[str]]:
        found: dict[SourceName, set[str]] = {}
        for source, key in self.refs:
            found.setdefault(SourceName(source), set()).add(key)
        return found


_LEAVES = frozenset({SourceName.WEB_ANALYTICS.value, SourceName.CALL_CENTER.value})


def _made_of(ref: RecordKey, theirs: Theirs) -> bool:
    """Whether a record is an account made of one of the person's identifiers."""
    source, key = ref
    made_of = purchase_identifier(key) if source == SourceName.TRANSACTIONS else None
    return made_of is not None and (made_of.kind, made_of.key) in theirs


def identifying(identifiers: Iterable[Identifier]) -> Theirs:
    """The values that say whose a line or record is: not its own id, not an agent's typing."""
    return {
        (i.kind, i.key)
        for i in identifiers
        if i.via != "agent" and i.kind is not IdentifierKind.ANONYMOUS_ID
    }


def _hers(record: RecordData, theirs: Theirs) -> bool | None:
    """Whether a record outside her member is hers: an account made of her identifier, or a
    visitor or call whose every identifying value is hers; None: a visitor or call that
    holds hers and another person's (shared)."""
    if record.source == SourceName.TRANSACTIONS.value:
        return _made_of(record.ref, theirs)
    if record.source not in _LEAVES:
        return False  # another person's contact that gives her value: his line
    said = identifying(record.identifiers)
    if said and said <= theirs:
        return True
    return None if said & theirs else False


def _identifying(pairs: Iterable[tuple[RecordKey, Identifier]]) -> Theirs:
    """Her identifiers: her CRM contacts' (else her purchase accounts'), never an agent's."""
    listed = list(pairs)
    crm = [i for ref, i in listed if ref[0] == SourceName.CRM.value and i.via != "agent"]
    own = crm or [i for ref, i in listed if ref[0] == SourceName.TRANSACTIONS.value]
    return {(i.kind, i.key) for i in own}


async def _hers_elsewhere(
    store: IdentityStore, refs: list[RecordKey], theirs: Theirs
) -> tuple[list[RecordKey], set[str], set[str], list[RecordKey]]:
    """Her own records outside her member: the records, the members they empty (erased
    with her), the members that keep other records, and the records she shares."""
    carried = await store.carriers(theirs) if theirs else {}
    held = set(refs)
    candidates = sorted({r for rs in carried.values() for r in rs if r not in held})
    loaded = await store.load_records(candidates)
    verdicts = {ref: _hers(record, theirs) for ref, record in loaded.items()}
    verdicts.update(await _devices(store, [*refs, *(r for r, v in verdicts.items() if v)], theirs))
    verdicts = {ref: hers for ref, hers in verdicts.items() if ref not in held}
    found = sorted(ref for ref, hers in verdicts.items() if hers)
    shared = sorted(ref for ref, hers in verdicts.items() if hers is None)
    where = await store.assignments(found)
    emptied: set[str] = set()
    touched: set[str] = set()
    for other in sorted(set(where.values())):
        remaining = set((await store.member_records([other]))[0]) - set(found) - held
        (touched if remaining else emptied).add(other)
    return found, emptied, touched, shared


async def _devices(
    store: IdentityStore, refs: list[RecordKey], theirs: Theirs
) -> dict[RecordKey, bool | None]:
    """The records of the devices she logged in on (each login's events are a record of
    their own; the device's events of no one logged in another, ``identity/devices.py``),
    with whether each is hers: a device only she logged in on is hers, with its anonymous
    browsing; one someone else logged in on too is shared."""
    web = [r for r in refs if r[0] == SourceName.WEB_ANALYTICS.value]
    if not web:
        return {}
    devices = {
        (i.kind, i.key)
        for record in (await store.load_records(web)).values()
        for i in record.identifiers
        if i.kind is IdentifierKind.ANONYMOUS_ID
    }
    on_devices = await store.carriers(devices)
    found: dict[RecordKey, bool | None] = {}
    for refs_of_device in on_devices.values():
        records = await store.load_records(refs_of_device)
        logins = set().union(*(identifying(r.identifiers) for r in records.values()))
        mine = logins <= theirs
        for ref, record in records.items():
            if mine:
                found[ref] = True
            else:  # the device's own events are shared: those naming her go
                found[ref] = _hers(record, theirs) if identifying(record.identifiers) else None
    return found


def _traces(refs: Iterable[RecordKey], records: Iterable[RecordData]) -> tuple[str, ...]:
    found = {key for _, key in refs} | {i.key for r in records for i in r.identifiers}
    return tuple(sorted(t for t in found if len(t) >= 6))


async def _no_ones(store: IdentityStore, rules: Rules | None, values: Theirs) -> Theirs:
    """The placeholders among ``values``: the rules' blocklist and what the data reveals."""
    if rules is None or not values:
        return set()
    junk = {v for v in values if rules.is_junk(*v)}
    return junk | await revealed_placeholders(store, rules, values - junk)


async def read_subject(
    store: IdentityStore,
    member_id: str,
    rules: Rules | None = None,
    only: Collection[RecordKey] | None = None,
) -> Subject:
    """The member, the IDs that lead to it, its records, her records held elsewhere and
    what identifies the person (with ``rules``, placeholders left out).

    With ``only`` (some of the member's records, named hers by the officer: the member holds
    another person's too), she is those records and what is hers by their identifiers; the
    member keeps the rest, and its ID (it is ``touched``)."""
    refs = (await store.member_records([member_id]))[0]
    narrowed = only is not None and not set(refs) <= set(only)
    if narrowed:
        refs = sorted(set(refs) & set(only or ()))
    earlier = set((await store.origins(refs)).values()) | set((await store.previous(refs)).values())
    ids = set() if narrowed else {member_id}
    for other in earlier - ids:  # an ID that is now another live member's is not theirs
        now = await store.resolve_member_id(other)
        if now is None or (now == member_id and not narrowed):
            ids.add(other)
    pairs = (await store.member_identifiers([member_id]))[0]
    if narrowed:
        pairs = [(ref, i) for ref, i in pairs if ref in set(refs)]
    theirs = _identifying(pairs)
    theirs -= await _no_ones(store, rules, theirs)
    elsewhere, emptied, touched, shared = await _hers_elsewhere(store, refs, theirs)
    if narrowed and member_id not in emptied:
        touched.add(member_id)  # it keeps the records not hers
    ids |= emptied
    every = sorted({*refs, *elsewhere})
    records = await store.load_records(every)
    words = {key for _, key in every}
    for record in records.values():
        words |= {w for i in record.identifiers for w in (i.value, i.key)}
        words |= {w for w in (record.first_name, record.last_name, record.address) if w}
        if record.first_name and record.last_name:
            words.add(f"{record.first_name} {record.last_name}")
    # What an agent typed may be another person's: it is erased with the call, not suppressed.
    suppress = {(i.kind, i.key) for _, i in pairs if i.via != "agent"}
    suppress |= {
        (i.kind, i.key) for ref in elsewhere for i in records[ref].identifiers if i.via != "agent"
    }
    suppress -= await _no_ones(store, rules, suppress)
    named_by = {key for _, key in every} | {key for _, key in suppress}
    named_by |= {
        i.value for r in records.values() for i in r.identifiers if (i.kind, i.key) in suppress
    }
    others = await _carried_by_others(store, suppress, {*every, *shared})
    named_by |= {r.address for r in records.values() if r.address}
    names = {(r.first_name, r.last_name) for r in records.values() if r.first_name and r.last_name}
    return Subject(
        member_id,
        tuple(sorted(ids)),
        tuple(every),
        tuple(sorted(suppress - others)),
        tuple(sorted(words)),
        tuple(elsewhere),
        tuple(sorted(emptied)),
        tuple(sorted(touched)),
        tuple(shared),
        frozenset(theirs),
        _traces(every, records.values()),
        tuple(sorted(named_by)),
        tuple(sorted(names)),
        len(others),
    )


async def _carried_by_others(store: IdentityStore, values: Theirs, hers: set[RecordKey]) -> Theirs:
    """Her values a record of another live member carries too, not as an agent typed it
    (a relative's contact giving the family e-mail, his login on the device she shared):
    his as much as hers."""
    carried = await store.carriers(values) if values else {}
    others = {ref for refs in carried.values() for ref in refs if ref not in hers}
    held = await store.assignments(others) if others else {}
    found: Theirs = set()
    for record in (await store.load_records(held)).values():
        found |= {(i.kind, i.key) for i in record.identifiers if i.via != "agent"} & values
    return found
