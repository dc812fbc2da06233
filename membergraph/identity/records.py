"""Records, the nodes of the identity graph, and their identifiers.

A record is a source's own notion of a customer (:mod:`.line_records` maps each source line
to the record it describes). *Profile* records may bridge each other (a CRM contact and its
loyalty account). *Leaf* records (a visitor, a call) attach to at most one member and never
join two: a web visitor on a family computer or an agent's typo must not merge two people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import NamedTuple

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import (
    BadIdentifier,
    IdentifierKind,
    card_match_key,
    crm_id_spellings,
    email_as_typed,
    email_match_key,
    normalize,
)
from membergraph.identity.purchase_days import EMAIL_DAYS_KEPT, merged_days
from membergraph.identity.rules import Rules
from membergraph.identity.value_cache import value_cache

__all__ = [
    "Identifier",
    "RecordData",
    "RecordKey",
    "identifier_key",
    "identifier_of",
    "identifiers_again",
    "left_out_why",
    "make_identifier",
    "sorted_refs",
    "typed_crm_ids",
    "typed_email_keys",
]

RecordKey = tuple[str, str]
"""``(source, key)``, as ``records { source key }`` shows it."""


class Identifier(NamedTuple):
    """An identifier value seen on a record.

    ``key`` is what records are matched on (Gmail dots folded); ``value`` is the normalized
    value as given; ``via`` says how it was captured (``crm``, ``login``, ``online``, ``till``,
    ``identify``, ``switch``, ``agent``), which sets how much it is trusted.

    A named tuple, not a dataclass: batches hash and compare millions of them, and a
    tuple's hash and order are C code.
    """

    kind: IdentifierKind
    key: str
    value: str
    via: str


@dataclass(slots=True)
class RecordData:
    """What the identity engine knows of one record."""

    source: str
    key: str
    role: str  # "profile" | "leaf"
    identifiers: set[Identifier] = field(default_factory=set)
    first_name: str | None = None
    last_name: str | None = None
    birth_date: date | None = None
    address: str | None = None
    days: dict[str, frozenset[str]] | None = None
    """A purchase record's purchases by day (``YYYY-MM-DD``: the ids of its lines that day,
    at most ``DAY_IDS_KEPT``): how the rules tell a till's own card, scanned for guests
    many times a day, from a shopper's (``Rules.till_busy_days``). Sets of line ids, not
    counts: a line sent twice or read again at a restart counts once."""
    email_days: dict[str, frozenset[str]] | None = None
    """A card's purchases' e-mails by day: each e-mail's matching key, the days it was
    given with the card (the earliest ``EMAIL_DAYS_KEPT``): how the rules tell the
    holder's own second address, given with her card day after day, from a guest's, given
    once with a clerk's (``Rules.card_email_days``). Days, not counts, for the same reason
    as ``days``."""
    version: str | None = None
    """A CRM contact's: the place of the line it was built from in the source's order
    (:meth:`~membergraph.connectors.sources.Ordering.version`: ``updated_at``, then the
    content's digest). Of two versions of a contact, the record keeps the newer one's name,
    birth date and address whichever writer brings the older (:meth:`fold`). None: unknown
    (a record stored by an earlier release): the version folded in is taken, as it was."""

    typed_keys: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    """The keys releases before store format 6 matched its lines' e-mails on that their
    values now no longer tell (:func:`typed_email_keys`): what a suppression such a release
    made is checked under. Only a record made from lines carries them (the store keeps none):
    what the suppression check of a line reads."""

    ref: RecordKey = field(init=False, repr=False, compare=False)
    """``(source, key)``, kept: the engine asks for it millions of times a batch."""

    def __post_init__(self) -> None:
        self.ref = (self.source, self.key)

    def merge(self, other: RecordData) -> bool:
        """Fold another line of the same record in; return whether anything changed (its
        version too: a whole resolution writes a record whose line is newer, though it
        says the same)."""
        was = self.version
        person = self.fold(other)
        days = self.fold_days(other)
        return person or days or was != self.version

    def fold(self, other: RecordData) -> bool:
        """Fold in another line's identifiers and, if it is no older than the one this was
        built from (a CRM contact's :attr:`version`), its person; whether the identifiers or
        the person changed (not the version alone)."""
        before = (len(self.identifiers), self.first_name, self.last_name, self.birth_date)
        was_at = self.address
        self.identifiers |= other.identifiers
        if other.typed_keys:
            self.typed_keys |= other.typed_keys
        if other.source == SourceName.CRM and not _older(other.version, self.version):
            self.first_name, self.last_name = other.first_name, other.last_name
            self.birth_date, self.address = other.birth_date, other.address
            self.version = other.version or self.version
        after = (len(self.identifiers), self.first_name, self.last_name, self.birth_date)
        return before != after or was_at != self.address

    def fold_days(self, other: RecordData) -> bool:
        """Fold in a newer line's purchases by day, and a card's e-mails by day; whether
        they moved."""
        moved = False
        if other.days:
            days = merged_days(self.days, other.days)
            if days != self.days:
                self.days, moved = days, True
        if other.email_days:
            emails = merged_days(self.email_days, other.email_days, EMAIL_DAYS_KEPT)
            if emails != self.email_days:
                self.email_days, moved = emails, True
        return moved

    def remember(self, older: RecordData) -> bool:
        """Keep the identifier values of an older version of this record (a CRM contact's
        e-mail before it changed: the purchases under it are still hers), and nothing else
        of it: the names, birth date and address stay this version's. Return whether any
        value was new."""
        before = len(self.identifiers)
        self.identifiers |= older.identifiers
        return len(self.identifiers) != before

    @property
    def signature(self) -> tuple[str, str, str] | None:
        """Who a CRM contact says it is: first name, last name (both present), birth date
        (``""`` when left out: many forms make it optional). A whole name written last name
        first in the first-name field (``SMITH, Linda``, the last name left empty) is read
        as the two."""
        first, last = self.first_name, self.last_name
        if first and not (last and last.strip()) and "," in first:
            last, _, first = first.partition(",")
        if first and first.strip() and last and last.strip():
            return (
                first.strip().casefold(),
                last.strip().casefold(),
                self.birth_date.isoformat() if self.birth_date else "",
            )
        return None


def _older(version: str | None, than: str | None) -> bool:
    """Whether a line's version is known to be older than another's."""
    return version is not None and than is not None and version < than


def sorted_refs(refs: Iterable[RecordKey]) -> list[RecordKey]:
    """``sorted(refs)``, source by source: comparing plain keys rather than tuples halves
    the time (0.8 -> 0.4 s for a first load's 293,000 records)."""
    by_source: dict[str, list[str]] = {}
    for source, key in refs:
        by_source.setdefault(source, []).append(key)
    return [(source, key) for source in sorted(by_source) for key in sorted(by_source[source])]


identifier_of: Callable[[Iterable[object]], Identifier] = partial(tuple.__new__, Identifier)
"""``Identifier._make``, in C (a named tuple's own constructor is Python: about 1.5 µs more
for each of the 712,000 values a 1 M-line batch normalizes)."""


def identifier_key(kind: IdentifierKind, normalized: str) -> str:
    """The matching key of an already normalized value. A contact id is the CRM's own
    spelling of it when it has one only (``c0012345`` is ``C0012345``)."""
    if kind is IdentifierKind.EMAIL:
        return email_match_key(normalized)
    if kind is IdentifierKind.CRM_ID:
        spellings = _crm_id_spellings(normalized)
        return spellings[0] if len(spellings) == 1 else normalized
    return card_match_key(normalized) if kind is IdentifierKind.LOYALTY_ID else normalized


@value_cache(1 << 16)
def _crm_id_spellings(normalized: str) -> tuple[str, ...]:
    return crm_id_spellings(normalized, _CRM_ID_FORMATS)


def typed_crm_ids(raw: str, via: str, region: str) -> list[Identifier | None]:
    """A contact id as an agent typed it: one identifier per form of the CRM's it may be
    (digits alone may fit two: ``12345`` is ``C0012345`` or ``BSM-12345``), each with the
    value as typed, so the choice among them is left to which exist."""
    typed = make_identifier(IdentifierKind.CRM_ID, raw, via, region)
    if typed is None:
        return [None]
    spellings = _crm_id_spellings(typed.value)
    if len(spellings) < 2:
        return [typed]
    return [identifier_of((IdentifierKind.CRM_ID, key, typed.value, via)) for key in spellings]


@value_cache(1 << 17)
def _normalized(kind: IdentifierKind, raw: str, region: str) -> tuple[str, str] | str:
    """``raw``'s matching key and normalized value, or why it is none of its kind: one
    normalization for every way a value is captured, and for saying why it is left out (a
    folder's load notes each line's values as it reads them, then resolves them)."""
    try:
        value = normalize(kind, raw, region)
    except BadIdentifier as exc:
        return str(exc)
    return identifier_key(kind, value), value


@value_cache(1 << 17)
def make_identifier(
    kind: IdentifierKind, raw: str | None, via: str, region: str
) -> Identifier | None:
    # Cached: a card, an e-mail or a visitor id recurs on many lines of a source.
    if raw is None:
        return None
    made = _normalized(kind, raw, region)
    if isinstance(made, str):
        # A bad identifier on a line is not a bad line: the line's facts still count.
        return None
    return identifier_of((kind, *made, via))


def left_out_why(field: str, kind: IdentifierKind, raw: str | None, region: str) -> str | None:
    """Why the value ``raw`` of a line's ``field`` is left out of its record's identifiers,
    naming the field (``loyalty_id left out: '???' is not a loyalty number (4-32 letters and
    digits)``): what :func:`make_identifier` drops without a word. None: no value, or one
    that is an identifier."""
    if raw is None:
        return None
    made = _normalized(kind, raw, region)
    return f"{field} left out: {made}" if isinstance(made, str) else None


def typed_email_keys(raw: Iterable[str | None]) -> frozenset[str]:
    """The keys releases before store format 6 matched e-mails typed as ``raw`` on, where
    this release's value of one no longer tells them: a domain IDNA maps to another (a
    full-width ``ann@ｘ.com`` from an input method is ``ann@x.com`` now, and nothing in
    ``ann@x.com`` says it was typed so). Empty for an ASCII address (nearly all), and for a
    domain typed as it is kept (``jöhn@exämple.com``) or in punycode (both spellings of a
    value are checked anyway: ``privacy/suppression.py``)."""
    keys: set[str] = set()
    for typed in raw:
        if typed is None or typed.isascii():
            continue  # nearly every address: nothing to add
        before = email_as_typed(typed)
        if before.rpartition("@")[2].isascii():
            continue
        try:
            now = normalize(IdentifierKind.EMAIL, typed)
        except BadIdentifier:
            continue
        if before != now:
            # Formats 4 and 5 matched it without a +tag, earlier ones with it.
            keys.update((email_match_key(before), before))
    return frozenset(keys) if keys else _NO_KEYS


_NO_KEYS: frozenset[str] = frozenset()


def identifiers_again(identifiers: Iterable[Identifier], region: str = "US") -> set[Identifier]:
    """Identifiers a store of an older format holds, as this release derives them from their
    values (``membergraph reresolve``): the value normalized again, its matching key made
    again (``ann+shop@mail.org`` is matched as ``ann@mail.org`` since format 4), a contact id
    an agent typed carried in each form it fits. A value this release refuses is left out."""
    again: set[Identifier] = set()
    for ident in identifiers:
        if ident.kind is IdentifierKind.CRM_ID and ident.via == "agent":
            made = typed_crm_ids(ident.value, ident.via, region)
        else:
            made = [make_identifier(ident.kind, ident.value, ident.via, region)]
        again.update(i for i in made if i is not None)
    return again


_CRM_ID_FORMATS = Rules().crm_id_formats
"""The built-in rules' contact id forms (default_rules.toml): identifiers are made before
any configured rules are at hand, and must be the same in every process."""
