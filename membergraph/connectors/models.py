"""The four source formats of DESIGN.md as pydantic models.

Unknown fields are kept (``extra="allow"``) and ignored. Required fields are the line's id
and what identifies its owner; everything else may be missing or null in real exports.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from membergraph.connectors.reasons import Reason, unquoted

__all__ = [
    "AccountRef",
    "Address",
    "CallInteraction",
    "Consents",
    "CrmContact",
    "LineItem",
    "SourceName",
    "Transaction",
    "CONSENT_CHANNELS",
    "CONSENT_EVENTS",
    "Refusal",
    "WebEvent",
    "consent_choice",
    "crm_problem",
    "transaction_problem",
    "web_event_problem",
]


class SourceName(StrEnum):
    """The four source kinds, named as in files, URLs and ``records { source }``."""

    CRM = "crm"
    TRANSACTIONS = "transactions"
    WEB_ANALYTICS = "web_analytics"
    CALL_CENTER = "call_center"


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
"""No line happened before this: an earlier time is a placeholder (``0001-01-01``)."""
AHEAD = timedelta(days=1)
"""How far past now a line's time may be (clocks and time zones disagree a little); a time
further ahead is a placeholder (``9999-12-31``) that would order every later version stale."""
MAX_ID_LENGTH = 200
"""Characters a line id may have at most."""


def _utc(value: datetime) -> datetime:
    # Sources mix naive and offset timestamps; naive ones are read as UTC so ordering is total.
    at = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    if at < EARLIEST or at > datetime.now(UTC) + AHEAD:
        rule = f"is outside {EARLIEST.date().isoformat()} to a day from now"
        raise ValueError(unquoted(at.isoformat(), rule))
    return at


def _line_id(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be empty")
    if len(stripped) > MAX_ID_LENGTH:
        raise ValueError(f"longer than {MAX_ID_LENGTH} characters ({len(stripped)})")
    if not stripped.isprintable():
        raise ValueError("holds a control or invisible character")
    return stripped


PLACEHOLDER_BIRTH_DATES = frozenset({date(1, 1, 1), date(1111, 11, 11)})
"""The dummy dates before 1900 that forms put when they want a birth date and get none: taken
as written (the match rules' ``birth_date_placeholders`` read them as left out), never as a
person's."""


def _birth_date(value: date) -> date:
    # A date nobody alive has (a century and more ago, or after today) is a typo or a dummy
    # one: taken, it would weigh as a person's in every comparison and show in her profile.
    if value in PLACEHOLDER_BIRTH_DATES:
        return value
    born = value.isoformat()
    if value > (datetime.now(UTC) + AHEAD).date():
        raise ValueError(unquoted(born, "is in the future: no one is born after today"))
    if value < EARLIEST.date():
        rule = "(the dummy dates forms put for none, 0001-01-01 and 1111-11-11, are taken)"
        raise ValueError(unquoted(born, f"is before {EARLIEST.date().isoformat()} {rule}"))
    return value


Timestamp = Annotated[datetime, AfterValidator(_utc)]
"""A time between :data:`EARLIEST` and :data:`AHEAD` of now, in UTC when written naive."""
BirthDate = Annotated[date, AfterValidator(_birth_date)]
"""A birth date between :data:`EARLIEST` and today (a day ahead for time zones), or one of
:data:`PLACEHOLDER_BIRTH_DATES`."""
LineId = Annotated[str, AfterValidator(_line_id)]
"""A line's id: printable, at most :data:`MAX_ID_LENGTH` characters, surrounding spaces
dropped."""


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not (code.isascii() and code.isalpha()):
        raise ValueError(f"{value!r} is no ISO 4217 currency code (three letters, such as USD)")
    return code


Currency = Annotated[str, AfterValidator(_currency)]
"""An ISO 4217 code's form (three letters), read in any case and spacing: ``" usd"`` is USD.
Spend counts an amount in the deployment's currency, by the rate set for its own
(:mod:`membergraph.insights.currency`)."""

MAX_INT = 2**31 - 1
"""The largest number one line may carry: GraphQL's ``Int`` is 32-bit, and a line must never
make its member unreadable (sums are ``BigInt`` in the schema)."""


def _no_bool(value: object) -> object:
    # Lax reading takes "12" and 12.0 for 12 (exports write numbers so), but never true for 1:
    # a till that sends a boolean for an amount sends something else than it means.
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    if isinstance(value, str) and "_" in value:
        # Python's int() reads "1_000" as 1000; no export writes a number so, and a GraphQL
        # argument refuses it: a line does too, rather than guess.
        raise ValueError(f"{value!r} is no number: write its digits alone, without underscores")
    return value


def _whole(value: object) -> object:
    _no_bool(value)
    if isinstance(value, str) and "." in value:
        # Lax reading took "1.00" for 1: an amount in currency units read as 1 cent (user30).
        # A whole number written as text has no decimal point; as a JSON number, 12.0 is 12.
        raise ValueError(
            f"{value!r} is text with a decimal point: a count or an amount in cents is a whole"
            " number (1.00 in currency units is 100 cents)"
        )
    if isinstance(value, float) and value.is_integer() and abs(value) > MAX_INT:
        # Written with an exponent (1e20): out of range, said as the range. Left to pydantic,
        # it was "Unable to parse input string as an integer, exceeded maximum size".
        return int(value)
    return value


NOT_BOOL = BeforeValidator(_no_bool)
"""A number field's guard against booleans (msgspec's fast reader refuses them already)."""
WHOLE = BeforeValidator(_whole)
"""An integer field's guard: :data:`NOT_BOOL`'s, and no text with a decimal point
(msgspec's fast reader takes no text for a number at all)."""
# The bounds before the guard: pydantic then checks them in the int's own (compiled)
# validator; after a function validator it checks each in a Python call of its own (two
# more Python calls per number of every line read, for the same answers and errors).
Count = Annotated[int, Field(ge=0, le=MAX_INT), WHOLE]
"""Points, quantities, prices, durations: never negative."""
SignedCents = Annotated[int, Field(ge=-MAX_INT, le=MAX_INT), WHOLE]
"""An amount; negative only where the line's kind says so (:func:`transaction_problem`)."""


class _Line(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=False)


class Address(_Line):
    line1: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = None


class Consents(_Line):
    email: bool | None = None
    sms: bool | None = None
    push: bool | None = None
    phone: bool | None = None

    unknown_refused: ClassVar[bool] = True
    """An unknown field here is a channel nobody can read (``"e-mial": false``): the contact
    is refused (:func:`crm_problem`), and the fast reader refuses it first, so the model
    says why."""


class CrmContact(_Line):
    """One CRM contact (``crm.jsonl``)."""

    contact_id: LineId
    first_name: str | None = None
    last_name: str | None = None
    emails: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    loyalty_id: str | None = None
    previous_loyalty_ids: list[str] = Field(default_factory=list)
    """Cards this contact held before ``loyalty_id`` replaced them (lost, renewed): their
    loyalty accounts stay the contact's, so the member keeps their points."""
    birth_date: BirthDate | None = None
    address: Address | None = None
    preferred_language: str | None = None
    consents: Consents | None = None
    updated_at: Timestamp | None = None


class LineItem(_Line):
    sku: str
    category: str | None = None
    quantity: Count = 1
    unit_price_cents: Count = 0


class Transaction(_Line):
    """One purchase, refund or cancellation (``transactions.jsonl``)."""

    transaction_id: LineId
    loyalty_id: str | None = None
    email: str | None = None
    store_id: str | None = None
    channel: Literal["store", "online"]
    occurred_at: Timestamp
    amount_cents: SignedCents
    currency: Currency = "USD"
    points_earned: Count = 0
    points_redeemed: Count = 0
    status: Literal["completed", "refunded", "cancelled"] = "completed"
    items: list[LineItem] = Field(default_factory=list)
    updated_at: Timestamp | None = None
    """When the status last changed (orders two versions of the line)."""
    anonymised: bool = False
    """Kept for the books after its buyer was erased: amount, date, status, store and items,
    no card and no e-mail. Every load keeps it; it belongs to no member."""


class Refusal(str):
    """Why a valid-looking line is refused (its message), with the ``code`` its answer
    carries (``rejected`` lines without one carry ``INVALID_LINE``)."""

    __slots__ = ("code",)
    code: str

    def __new__(cls, message: str, code: str) -> Refusal:
        refusal = super().__new__(cls, message)
        refusal.code = code
        return refusal


def transaction_problem(line: Transaction) -> str | None:
    """What a valid transaction may not say across its fields: only a refund line carries a
    negative amount (a cancelled sale keeps the amount it had); an anonymised purchase
    names no buyer."""
    if line.amount_cents < 0 and line.status != "refunded":
        said = f"amount_cents: negative{{}} on a {line.status} transaction"
        return Reason(said.format(f" ({line.amount_cents})"), said.format(""))
    if line.anonymised and (line.loyalty_id or line.email):
        return "anonymised: an anonymised purchase carries no loyalty_id and no email"
    return None


class WebEvent(_Line):
    """One web analytics event (``web_analytics.jsonl``)."""

    event_id: LineId
    anonymous_id: LineId
    user_id: str | None = None
    email: str | None = None
    # Segment's types but ``alias`` (a merge of two user ids: who is who is the engine's)
    type: Literal["page", "screen", "track", "identify", "group"]
    name: str | None = None
    occurred_at: Timestamp
    properties: dict[str, Any] = Field(default_factory=dict)


CONSENT_EVENTS = ("Consent Updated", "Unsubscribed", "Subscribed")
"""Web event names that state a consent choice: ``Consent Updated`` (``properties:
{channel, granted}``), ``Unsubscribed`` and ``Subscribed`` (``properties: {channel}``,
e-mail when absent)."""
CONSENT_CHANNELS = ("EMAIL", "SMS", "PUSH", "PHONE")
"""The channels a consent is given or withdrawn on."""
UNREADABLE_CONSENT = "UNREADABLE_CONSENT"
"""The code of a consent event refused because its channel or its choice cannot be read."""
_SAID = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
_CHANNEL_SPELLING = re.compile(r"[\s_-]+")


def consent_choice(event: WebEvent) -> tuple[str, bool] | None:
    """The channel (one of :data:`CONSENT_CHANNELS`) and the choice a web event states, or
    None for an event that is no consent choice. The channel is read in any case, spacing
    and hyphenation (``" E-mail "`` is EMAIL); ``granted`` as a boolean or its word
    (``"false"``, ``"No"``: analytics properties are often all strings).

    Raises:
        ValueError: a consent event whose channel or choice cannot be read (``e-mial``,
            ``whatsapp``, ``granted: "maybe"``): refusing it is the only way its sender
            learns that an opt-out was not taken.
    """
    if event.name not in CONSENT_EVENTS:
        return None
    said = event.properties.get("channel", "email")
    channel = _CHANNEL_SPELLING.sub("", said).upper() if isinstance(said, str) else None
    if channel not in CONSENT_CHANNELS:
        raise ValueError(
            f"properties.channel: {said!r} is no channel a consent is given on; a"
            f" {event.name} event names one of email, sms, push, phone"
        )
    if event.name != "Consent Updated":
        return channel, event.name == "Subscribed"
    value = event.properties.get("granted")
    granted = value if isinstance(value, bool) else None
    if isinstance(value, str):
        granted = _SAID.get(value.strip().lower())
    if granted is None:
        raise ValueError(
            f"properties.granted: {value!r} is neither a grant nor a withdrawal; a"
            " Consent Updated event says true or false"
        )
    return channel, granted


def crm_problem(line: CrmContact) -> Refusal | None:
    """A contact whose ``consents`` name a channel that cannot be read (``"e-mial"``,
    ``"whatsapp"``): taken, its choice would be lost without anyone knowing."""
    unknown = getattr(line.consents, "model_extra", None)
    if not unknown:
        return None
    names = ", ".join(repr(name) for name in unknown)
    return Refusal(
        f"consents: {names} is no channel a consent is given on; consents name email, sms,"
        " push, phone",
        UNREADABLE_CONSENT,
    )


def web_event_problem(line: WebEvent) -> Refusal | None:
    """A consent event whose channel or choice cannot be read (:func:`consent_choice`)."""
    try:
        consent_choice(line)
    except ValueError as exc:
        return Refusal(str(exc), UNREADABLE_CONSENT)
    return None


LOGIN_MARK = "|login:"
"""Between a device's anonymous id and a login's contact id in a visitor record's key."""

EMAIL_MARK = "|email:"
"""Between a device's anonymous id and a digest of the e-mail an event names (an e-mail
open, a newsletter sign-up) in a visitor record's key."""


def email_digest(email: str) -> str:
    """A short digest of an e-mail as typed (trimmed, case folded): what a visitor record's
    key says of the e-mail its events name, so the address itself is in no key (keys are
    written to the change feed and the identity history)."""
    folded = email.strip().casefold().encode()
    return hashlib.blake2b(folded, digest_size=8, person=b"mg-visitor").hexdigest()


def visitor_key(anonymous_id: str, user_id: str | None, email: str | None = None) -> str:
    """The key of the identity record a web event belongs to: the device's under the login
    (``<anonymous_id>|login:<user_id>``, the id as the CRM id is normalized: trimmed) for
    an event of someone logged in; the device's under the e-mail the event names
    (``<anonymous_id>|email:<digest>``, :func:`email_digest`) for an event of no one logged
    in that names its own person (an e-mail open carries the recipient's address); the
    device's own (``<anonymous_id>``) otherwise. A device several people use (a family
    computer, a mail privacy proxy opening every reader's mail) is then one record per
    person it names, each that person's. ``email`` is the event's own person's: leave out
    the e-mail of an event sent to someone else (``Referral Sent``)."""
    login = user_id.strip() if user_id else ""
    if login:
        return f"{anonymous_id}{LOGIN_MARK}{login}"
    named = email.strip() if email else ""
    return f"{anonymous_id}{EMAIL_MARK}{email_digest(named)}" if named else anonymous_id


def device_part(key: str) -> str:
    """The device (anonymous id) a visitor record's key names (:func:`visitor_key`)."""
    return key.partition(LOGIN_MARK)[0].partition(EMAIL_MARK)[0]


class AccountRef(_Line):
    kind: Literal["crm_id", "loyalty_id", "email"]
    value: str


class CallInteraction(_Line):
    """One call-center interaction (``call_center.jsonl``)."""

    interaction_id: LineId
    caller_phone: str | None = None
    account_ref: AccountRef | None = None
    agent_id: str | None = None
    started_at: Timestamp
    duration_s: Count = 0
    reason: str | None = None
    sentiment: Annotated[float, NOT_BOOL, Field(ge=-1, le=1)] | None = None
    resolved: bool | None = None
    notes: str | None = None
