"""Records, the nodes of the identity graph, and how each source line maps to one.

A record is a source's own notion of a customer:

========================  =====================================  ======
source line               record key                             role
========================  =====================================  ======
CRM contact               ``<contact_id>``                       profile
transaction with a card   ``loyalty:<LOYALTY_ID>``               profile
online order, no card     ``online:<email>``                     profile
web event, no login       ``<anonymous_id>``                     leaf
web event naming e-mail   ``<anonymous_id>|email:<digest>``      leaf
web event, logged in      ``<anonymous_id>|login:<contact_id>``  leaf
call interaction          ``<interaction_id>``                   leaf
========================  =====================================  ======

An online order whose e-mail is a placeholder (``na@na.com``: the rules' blocklist) makes no
record: it identifies no one, and is counted as a line without owner.

*Profile* records may bridge each other (a CRM contact and its loyalty account). *Leaf*
records (a visitor, a call) attach to at most one member and never join two: a web visitor
on a family computer or an agent's typo must not merge two people.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from operator import attrgetter
from typing import Any, NamedTuple

from membergraph.connectors.models import (
    SourceName,
    Transaction,
    WebEvent,
    visitor_key,
)
from membergraph.connectors.sources import SOURCES
from membergraph.identity.normalize import (
    BadIdentifier,
    IdentifierKind,
    card_match_key,
    crm_id_spellings,
    email_match_key,
    normalize,
)
from membergraph.identity.purchase_days import (
    DAY_IDS_KEPT,
    EMAIL_DAYS_KEPT,
    add_purchase,
    card_email,
    merged_days,
    purchase_day,
)
from membergraph.identity.rules import Rules

__all__ = [
    "ANONYMISED",
    "DAY_IDS_KEPT",
    "EMAIL_DAYS_KEPT",
    "add_purchase",
    "card_email",
    "Identifier",
    "Identity",
    "RecordData",
    "RecordKey",
    "identifier_key",
    "identifier_of",
    "identifiers_again",
    "identity_of",
    "merged_days",
    "purchase_day",
    "owner_of_transaction",
    "record_of_line",
    "sorted_refs",
    "transaction_record",
    "unattributed_reason",
    "own_email",
    "visitor_record",
    "web_event_key",
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


_CRM_VERSION = SOURCES[SourceName.CRM].order.version


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


@lru_cache(maxsize=1 << 16)
def _crm_id_spellings(normalized: str) -> tuple[str, ...]:
    return crm_id_spellings(normalized, _CRM_ID_FORMATS)


def _typed_crm_ids(raw: str, via: str, region: str) -> list[Identifier | None]:
    """A contact id as an agent typed it: one identifier per form of the CRM's it may be
    (digits alone may fit two: ``12345`` is ``C0012345`` or ``BSM-12345``), each with the
    value as typed, so the choice among them is left to which exist."""
    typed = _identifier(IdentifierKind.CRM_ID, raw, via, region)
    if typed is None:
        return [None]
    spellings = _crm_id_spellings(typed.value)
    if len(spellings) < 2:
        return [typed]
    return [identifier_of((IdentifierKind.CRM_ID, key, typed.value, via)) for key in spellings]


@lru_cache(maxsize=1 << 17)
def _identifier(kind: IdentifierKind, raw: str | None, via: str, region: str) -> Identifier | None:
    # Cached: a card, an e-mail or a visitor id recurs on many lines of a source.
    if raw is None:
        return None
    try:
        value = normalize(kind, raw, region)
    except BadIdentifier:
        # A bad identifier on a line is not a bad line: the line's facts still count.
        return None
    return identifier_of((kind, identifier_key(kind, value), value, via))


def identifiers_again(identifiers: Iterable[Identifier], region: str = "US") -> set[Identifier]:
    """Identifiers a store of an older format holds, as this release derives them from their
    values (``membergraph reresolve``): the value normalized again, its matching key made
    again (``ann+shop@mail.org`` is matched as ``ann@mail.org`` since format 4), a contact id
    an agent typed carried in each form it fits. A value this release refuses is left out."""
    again: set[Identifier] = set()
    for ident in identifiers:
        if ident.kind is IdentifierKind.CRM_ID and ident.via == "agent":
            made = _typed_crm_ids(ident.value, ident.via, region)
        else:
            made = [_identifier(ident.kind, ident.value, ident.via, region)]
        again.update(i for i in made if i is not None)
    return again


_CRM_ID_FORMATS = Rules().crm_id_formats
"""The built-in rules' contact id forms (default_rules.toml), for the same reason as below."""

_PLACEHOLDER = Rules().is_junk
"""The built-in rules' placeholders (default_rules.toml): a record is made from a line
before any configured rules are at hand, and must be the same in every process."""


def _collect(items: Iterable[Identifier | None]) -> set[Identifier]:
    return {item for item in items if item is not None}


def owner_of_transaction(line: Transaction, region: str = "US") -> str | None:
    """The record key a transaction belongs to: its card, else its online e-mail."""
    identity = _IDENTITIES[SourceName.TRANSACTIONS]
    found = identity.describe(*identity.read(line), region)
    return None if found is None else found[0]


def unattributed_reason(
    loyalty_id: str | None, email: str | None, region: str = "US"
) -> str | None:
    """Why a transaction with these fields belongs to no one: its e-mail is a placeholder
    and it has no usable card, its e-mail is written as an address but is none (``a@-b.com``:
    the reason says what is wrong), or it carries neither a card nor an e-mail address (a
    cash sale; a till's ``refused`` typed for the e-mail). Kept for the books, no member's:
    a till's typo is no error of the sender's. None: it is someone's."""
    card = _card(loyalty_id, region)
    if card is not None:
        return None
    online = _identifier(IdentifierKind.EMAIL, email, "online", region)
    if online is not None and _PLACEHOLDER(IdentifierKind.EMAIL, online.key):
        return f"placeholder e-mail {online.value}"
    house = _identifier(IdentifierKind.LOYALTY_ID, loyalty_id, "till", region)
    if online is None and house is not None:
        return f"placeholder card {house.value}"
    if online is None and email is not None and "@" in email:
        try:
            normalize(IdentifierKind.EMAIL, email, region)
        except BadIdentifier as exc:
            return str(exc)
    return NO_CUSTOMER if online is None else None


NO_CUSTOMER = "no card and no e-mail address (a cash sale)"
"""Why a purchase that names no customer at all is nobody's (counted under this reason)."""


def _card(loyalty_id: str | None, region: str) -> Identifier | None:
    """A transaction's card, unless it is a placeholder (a till's house card): that
    identifies no one."""
    card = _identifier(IdentifierKind.LOYALTY_ID, loyalty_id, "till", region)
    return None if card is None or _PLACEHOLDER(IdentifierKind.LOYALTY_ID, card.key) else card


Described = tuple[str, frozenset[Identifier]] | None
"""A record's key and identifiers, from the fields of a line (None: the line has no owner)."""


@lru_cache(maxsize=1 << 16)
def transaction_record(
    loyalty_id: str | None, email: str | None, channel: str, region: str = "US"
) -> Described:
    """The record of a transaction with these fields: its card's, else its online e-mail's."""
    card = _card(loyalty_id, region)
    if card is not None:
        key = f"loyalty:{card.key}"
    else:
        online = _identifier(IdentifierKind.EMAIL, email, "online", region)
        if online is None or _PLACEHOLDER(IdentifierKind.EMAIL, online.key):
            # A placeholder identifies no one: the purchase is nobody's (counted as such),
            # not an "online customer" holding every guest's purchases.
            return None
        key = f"online:{online.value}"
    via = "online" if channel == "online" else "till"
    return key, frozenset(_collect([card, _identifier(IdentifierKind.EMAIL, email, via, region)]))


_OTHERS_EMAIL = frozenset(name.casefold() for name in Rules().others_email_events)
"""The built-in rules' events whose e-mail is someone else's (default_rules.toml)."""


def own_email(
    email: str | None, name: str | None, kind: str | None = None, login: str | None = None
) -> str | None:
    """The e-mail of a web event's own person: None on an event sent to someone else
    (``Referral Sent``: the rules' ``others_email_events``), whose e-mail is the friend's,
    and on an event of someone logged in (``login``) other than an ``identify`` (``kind``):
    a form filled in while logged in (a newsletter sign-up for a friend, a gift) may carry
    anyone's address, and a login's e-mails claim guest orders
    (``logins_claim_online_orders``): one such event would hand a stranger's orders to the
    session's member, and its member-bound token would read them."""
    if email is None:
        return None
    if name is not None and name.casefold() in _OTHERS_EMAIL:
        return None
    if kind is not None and kind != "identify" and login is not None and login.strip():
        return None
    return email


def web_event_key(event: WebEvent) -> str:
    """The key of the visitor record a web event belongs to (:func:`visitor_record`)."""
    email = own_email(event.email, event.name, event.type, event.user_id)
    return visitor_key(event.anonymous_id, event.user_id, email)


@lru_cache(maxsize=1 << 16)
def visitor_record(
    anonymous_id: str,
    user_id: str | None,
    email: str | None,
    name: str | None = None,
    kind: str | None = None,
    region: str = "US",
) -> Described:
    """The record of a web event with these fields: its device under that login's for an
    event of someone logged in (``<anonymous_id>|login:<contact id>``), its device under
    the e-mail it names for an event of no one logged in that names its own person (an
    e-mail open: ``<anonymous_id>|email:<digest>``), its device's (``<anonymous_id>``)
    otherwise. A device several people log in on (a family
    computer, a library PC, a mail privacy proxy) is then several records, one per login,
    each its person's; its anonymous events stay the device's (``engine.device_logins``).
    A login that is a placeholder (``0``: a page script's bug) names no one: its record is
    resolved as the device's own. On an event sent to someone else (``Referral Sent``: the rules'
    ``others_email_events``) the e-mail is the friend's, not the visitor's; on an event of
    someone logged in only an ``identify`` (``kind``) gives hers (:func:`own_email`)."""
    email = own_email(email, name, kind, user_id)
    return visitor_key(anonymous_id, user_id, email), frozenset(
        _collect(
            [
                _identifier(IdentifierKind.ANONYMOUS_ID, anonymous_id, "web", region),
                _identifier(IdentifierKind.CRM_ID, user_id, "login", region),
                _identifier(IdentifierKind.EMAIL, email, "identify", region),
            ]
        )
    )


class Identity(NamedTuple):
    """How lines of a source whose record is a function of a few fields map to it."""

    read: Callable[[Any], tuple[Any, ...]]  # the fields, from a line: one C call
    describe: Callable[..., Described]  # the record's key and identifiers, from the fields
    role: str
    # Why a line with these fields (and the region) that has no record belongs to no one
    # (None: it names no customer at all, a bad line).
    unowned: Callable[..., str | None] = lambda *fields: None


ANONYMISED = "anonymised: kept for the books, its buyer erased"
"""Why an anonymised purchase (:attr:`Transaction.anonymised`) belongs to no one."""


def _transaction(
    loyalty_id: str | None, email: str | None, channel: str, anonymised: bool, region: str
) -> Described:
    return transaction_record(loyalty_id, email, channel, region)


def _unowned_transaction(
    loyalty_id: str | None, email: str | None, channel: str, anonymised: bool, region: str
) -> str | None:
    return ANONYMISED if anonymised else unattributed_reason(loyalty_id, email, region)


_IDENTITIES: dict[str, Identity] = {
    SourceName.TRANSACTIONS: Identity(
        attrgetter("loyalty_id", "email", "channel", "anonymised"),
        _transaction,
        "profile",
        _unowned_transaction,
    ),
    SourceName.WEB_ANALYTICS: Identity(
        attrgetter("anonymous_id", "user_id", "email", "name", "type"), visitor_record, "leaf"
    ),
}


def identity_of(source: str) -> Identity | None:
    """How a line of ``source`` maps to its record when a few fields decide it (None: CRM
    contacts and calls, each line its own record)."""
    return _IDENTITIES.get(source)


_ACCOUNT_KINDS = {
    "crm_id": IdentifierKind.CRM_ID,
    "loyalty_id": IdentifierKind.LOYALTY_ID,
    "email": IdentifierKind.EMAIL,
}


def record_of_line(source: SourceName, line: Any, region: str = "US") -> RecordData | None:
    """Map one validated source line to the record it describes (None: no owner).

    ``line`` is a line of ``source``: its model (:class:`CrmContact`, :class:`Transaction`,
    :class:`WebEvent`, :class:`CallInteraction`), or what
    :func:`~membergraph.connectors.fastlines.fast_decoder` read, with the same fields. So
    this looks at ``source``, not at the line's class.
    """
    if source == SourceName.CRM:
        address = None
        if line.address and line.address.line1 and line.address.postal_code:
            address = f"{line.address.line1.strip().casefold()}|{line.address.postal_code.strip()}"
        return RecordData(
            source=source,
            key=line.contact_id,
            role="profile",
            identifiers=_collect(
                [
                    _identifier(IdentifierKind.CRM_ID, line.contact_id, "crm", region),
                    _identifier(IdentifierKind.LOYALTY_ID, line.loyalty_id, "crm", region),
                    # A replaced card is still the contact's: its account and points follow.
                    *(
                        _identifier(IdentifierKind.LOYALTY_ID, card, "crm", region)
                        for card in line.previous_loyalty_ids
                    ),
                    *(_identifier(IdentifierKind.EMAIL, e, "crm", region) for e in line.emails),
                    *(_identifier(IdentifierKind.PHONE, p, "crm", region) for p in line.phones),
                ]
            ),
            first_name=line.first_name,
            last_name=line.last_name,
            birth_date=line.birth_date,
            address=address,
            version=_CRM_VERSION(line),
        )
    identity = _IDENTITIES.get(source)
    if identity is not None:  # a purchase's card or e-mail, a visit's visitor
        found = identity.describe(*identity.read(line), region)
        if found is None:
            return None
        record = RecordData(source, found[0], identity.role, set(found[1]))
        if source == SourceName.TRANSACTIONS:
            add_purchase(record, purchase_day(line), line.transaction_id, card_email(*found))
        return record
    ref = line.account_ref
    return RecordData(
        source=source,
        key=line.interaction_id,
        role="leaf",
        identifiers=_collect(
            [
                _identifier(IdentifierKind.PHONE, line.caller_phone, "switch", region),
                *(
                    _typed_crm_ids(ref.value, "agent", region)
                    if ref and ref.kind == "crm_id"
                    else [_identifier(_ACCOUNT_KINDS[ref.kind], ref.value, "agent", region)]
                    if ref
                    else []
                ),
            ]
        ),
    )
