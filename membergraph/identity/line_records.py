"""How each source line maps to the record it describes.

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter
from typing import Any, NamedTuple

from membergraph.connectors.models import (
    SourceName,
    Transaction,
    WebEvent,
    visitor_key,
)
from membergraph.connectors.sources import SOURCES
from membergraph.identity.counter_orders import buyers_address
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.purchase_days import add_purchase, card_email, purchase_day
from membergraph.identity.records import (
    Identifier,
    RecordData,
    left_out_why,
    make_identifier,
    typed_crm_ids,
    typed_email_keys,
)
from membergraph.identity.rules import Rules
from membergraph.identity.value_cache import value_cache

__all__ = [
    "typed_record_key",
    "ANONYMISED",
    "NO_CUSTOMER",
    "Described",
    "Identity",
    "identity_of",
    "own_email",
    "owner_of_transaction",
    "purchase_identifier",
    "purchase_key",
    "record_of_line",
    "typed_emails",
    "transaction_record",
    "unattributed_reason",
    "visitor_record",
    "web_event_key",
]

_CRM_VERSION = SOURCES[SourceName.CRM].order.version

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
    the reason says what is wrong), its card is written as none (``LD-1 (old)``: the reason
    names the field and says what is wrong), or it carries neither a card nor an e-mail (a
    cash sale; a till's ``refused`` typed for the e-mail). Kept for the books, no member's:
    a till's typo is no error of the sender's. None: it is someone's."""
    card = _card(loyalty_id, region)
    if card is not None:
        return None
    online = make_identifier(IdentifierKind.EMAIL, email, "online", region)
    if online is not None and _PLACEHOLDER(IdentifierKind.EMAIL, online.key):
        return f"placeholder e-mail {online.value}"
    house = make_identifier(IdentifierKind.LOYALTY_ID, loyalty_id, "till", region)
    if online is None and house is not None:
        return f"placeholder card {house.value}"
    if online is not None:
        return None
    card_why = left_out_why("loyalty_id", IdentifierKind.LOYALTY_ID, loyalty_id, region)
    if email is not None and "@" in email:
        try:
            normalize(IdentifierKind.EMAIL, email, region)
        except BadIdentifier as exc:
            return f"{card_why}; {exc}" if card_why else str(exc)
    return card_why or NO_CUSTOMER


NO_CUSTOMER = "no card and no e-mail address (a cash sale)"
"""Why a purchase that names no customer at all is nobody's (counted under this reason)."""


def _card(loyalty_id: str | None, region: str) -> Identifier | None:
    """A transaction's card, unless it is a placeholder (a till's house card): that
    identifies no one."""
    card = make_identifier(IdentifierKind.LOYALTY_ID, loyalty_id, "till", region)
    return None if card is None or _PLACEHOLDER(IdentifierKind.LOYALTY_ID, card.key) else card


Described = tuple[str, frozenset[Identifier]] | None
"""A record's key and identifiers, from the fields of a line (None: the line has no owner)."""


@value_cache(1 << 16)
def transaction_record(
    loyalty_id: str | None, email: str | None, channel: str, region: str = "US"
) -> Described:
    """The record of a transaction with these fields: its card's, else its online e-mail's."""
    card = _card(loyalty_id, region)
    if card is not None:
        key = purchase_key(card)
    else:
        online = make_identifier(IdentifierKind.EMAIL, email, "online", region)
        if online is None or _PLACEHOLDER(IdentifierKind.EMAIL, online.key):
            # A placeholder identifies no one: the purchase is nobody's (counted as such),
            # not an "online customer" holding every guest's purchases.
            return None
        key = purchase_key(online)
    via = "online" if channel == "online" else "till"
    return key, frozenset(
        _collect([card, make_identifier(IdentifierKind.EMAIL, email, via, region)])
    )


# A purchase record is made of one identifier: a loyalty account of its card, an online
# customer of its e-mail. Its key says which (the prefix) and names it (the card's matching
# key, the e-mail as normalized); each is read as a till's or an online order's line gives it.
_MADE_OF: dict[str, tuple[IdentifierKind, str]] = {
    "loyalty": (IdentifierKind.LOYALTY_ID, "till"),
    "online": (IdentifierKind.EMAIL, "online"),
}


def purchase_key(made_of: Identifier) -> str:
    """The key of the purchase record made of a card (``loyalty:<card>``) or of an online
    order's e-mail (``online:<email>``)."""
    if made_of.kind is IdentifierKind.LOYALTY_ID:
        return f"loyalty:{made_of.key}"
    return f"online:{made_of.value}"


def card_record(kind: str, key: str) -> str | None:
    """The key of the purchase record a loyalty card's match key ``key`` is the key of
    (``loyalty:<card>``: its account and balance), None for another kind. A lookup by the
    card answers the member holding it first, before a contact that only names the card
    (a steward may have split the card off her)."""
    return f"loyalty:{key}" if kind == IdentifierKind.LOYALTY_ID.value else None


def purchase_identifier(key: str, region: str = "US") -> Identifier | None:
    """The identifier a purchase record's key names, read as a line's card or e-mail is
    (``loyalty:ld-1111-0001`` names card ``LD11110001``); None for a key of no such form or
    naming no valid card or e-mail."""
    how, _, value = key.partition(":")
    made = _MADE_OF.get(how.strip().casefold())
    return None if made is None else make_identifier(made[0], value, made[1], region)


def typed_record_key(source: str, key: str, region: str = "US") -> str:
    """A purchase record's key as a person types it, in the form :func:`transaction_record`
    keys it (:func:`purchase_key`): ``loyalty:ld-1111-0001`` is ``loyalty:LD11110001``,
    ``online: Ann@Mail.ORG`` is ``online:ann@mail.org``; any other key, and one naming no
    card or e-mail, as typed."""
    made_of = purchase_identifier(key, region) if source == SourceName.TRANSACTIONS else None
    return key if made_of is None else purchase_key(made_of)


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


@value_cache(1 << 16)
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
                make_identifier(IdentifierKind.ANONYMOUS_ID, anonymous_id, "web", region),
                make_identifier(IdentifierKind.CRM_ID, user_id, "login", region),
                make_identifier(IdentifierKind.EMAIL, email, "identify", region),
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


_WEB_STORES = frozenset(store.casefold() for store in Rules().web_store_ids)


def _transaction(
    card: str | None, email: str | None, channel: str, _: bool, store: str | None, region: str
) -> Described:
    if channel == "online" and store and store.strip().casefold() not in _WEB_STORES:
        # At a store's counter a card may be a clerk's, the e-mail a guest's (counter_orders)
        if _card(card, region) is not None and buyers_address(email, store, region):
            return transaction_record(None, email, channel, region)
        email = email if _card(card, region) is None else None
    return transaction_record(card, email, channel, region)


def _unowned_transaction(
    card: str | None, email: str | None, _: str, anonymised: bool, __: str | None, region: str
) -> str | None:
    return ANONYMISED if anonymised else unattributed_reason(card, email, region)


_IDENTITIES: dict[str, Identity] = {
    SourceName.TRANSACTIONS: Identity(
        attrgetter("loyalty_id", "email", "channel", "anonymised", "store_id"),
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
    this looks at ``source``, not at the line's class. The record carries the keys older
    releases matched the line's e-mails on as typed (:attr:`RecordData.typed_keys`).
    """
    if source == SourceName.CRM:
        address = None
        if line.address and line.address.line1 and line.address.postal_code:
            address = f"{line.address.line1.strip().casefold()}|{line.address.postal_code.strip()}"
        contact = RecordData(
            source=source,
            key=line.contact_id,
            role="profile",
            identifiers=_collect(
                [
                    make_identifier(IdentifierKind.CRM_ID, line.contact_id, "crm", region),
                    make_identifier(IdentifierKind.LOYALTY_ID, line.loyalty_id, "crm", region),
                    # A replaced card is still the contact's: its account and points follow.
                    *(
                        make_identifier(IdentifierKind.LOYALTY_ID, card, "crm", region)
                        for card in line.previous_loyalty_ids
                    ),
                    *(make_identifier(IdentifierKind.EMAIL, e, "crm", region) for e in line.emails),
                    *(make_identifier(IdentifierKind.PHONE, p, "crm", region) for p in line.phones),
                ]
            ),
            first_name=line.first_name,
            last_name=line.last_name,
            birth_date=line.birth_date,
            address=address,
            version=_CRM_VERSION(line),
        )
        return _with_typed_keys(contact, source, line)
    identity = _IDENTITIES.get(source)
    if identity is not None:  # a purchase's card or e-mail, a visit's visitor
        found = identity.describe(*identity.read(line), region)
        if found is None:
            return None
        record = RecordData(source, found[0], identity.role, set(found[1]))
        if source == SourceName.TRANSACTIONS:
            add_purchase(record, purchase_day(line), line.transaction_id, card_email(*found))
        email = line.email
        if email is None or email.isascii():  # (typed_emails, without its cost: every line)
            return record
        return _with_typed_keys(record, source, line)
    ref = line.account_ref
    call = RecordData(
        source=source,
        key=line.interaction_id,
        role="leaf",
        identifiers=_collect(
            [
                make_identifier(IdentifierKind.PHONE, line.caller_phone, "switch", region),
                *(
                    typed_crm_ids(ref.value, "agent", region)
                    if ref and ref.kind == "crm_id"
                    else [make_identifier(_ACCOUNT_KINDS[ref.kind], ref.value, "agent", region)]
                    if ref
                    else []
                ),
            ]
        ),
    )
    return _with_typed_keys(call, source, line)


def _with_typed_keys(record: RecordData, source: SourceName, line: Any) -> RecordData:
    if emails := typed_emails(source, line):
        record.typed_keys = typed_email_keys(emails)
    return record


def typed_emails(source: SourceName, line: Any) -> list[str]:
    """The e-mails a line of ``source`` gives as typed, when one is not plain ASCII (else
    none: a release before format 6 kept those as this one does)."""
    if source == SourceName.CRM:
        emails: list[str] = line.emails
    elif source == SourceName.CALL_CENTER:
        ref = line.account_ref
        emails = [ref.value] if ref is not None and ref.kind == "email" else []
    else:
        email = line.email
        return [] if email is None or email.isascii() else [email]
    return [e for e in emails if not e.isascii()]
