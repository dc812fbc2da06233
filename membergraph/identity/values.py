"""What a value may do: link, or not (junk, a hub, shared by two CRM people).

A value's status depends only on the value and the records that carry it, so batch and
incremental resolution agree on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from membergraph.identity.card_emails import given_on_the_web, holders_by_days
from membergraph.identity.dropped_letters import born_one
from membergraph.identity.email_names import a_relatives_email
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules

__all__ = [
    "LINKING_KINDS",
    "NO_CALLER",
    "SHARED_DEVICE",
    "VALUE_LABELS",
    "ValueKey",
    "bag_reason",
    "busy_days",
    "busy_till",
    "closure_values",
    "day_evidence",
    "linking_values",
    "nobodys_reason",
    "own_values_disagree",
    "own_values_part",
    "stored_nobodys_reason",
    "person_of",
    "scanned_for_many",
    "status_of",
    "typed_at_till",
]

ValueKey = tuple[IdentifierKind, str]

SHARED_DEVICE = "a shared device: logged in as different members"
"""Why a web visitor logged in as two members or more belongs to no one (the rules'
``shared_devices_identify_no_one``)."""

LINKING_KINDS = (  # every kind but visitor ids
    IdentifierKind.CRM_ID,
    IdentifierKind.LOYALTY_ID,
    IdentifierKind.EMAIL,
    IdentifierKind.PHONE,
)


def linking_values(record: RecordData) -> set[ValueKey]:
    """The values of a record that may link it (every kind but visitor ids)."""
    return {(i.kind, i.key) for i in record.identifiers if i.kind in LINKING_KINDS}


def closure_values(record: RecordData) -> set[ValueKey]:
    """The values through which a change to a record may move others: its linking values,
    and a web visitor's device (its other logins' records decide whose the device's own
    events are: ``devices.py``)."""
    values = linking_values(record)
    if record.source == "web_analytics":
        values |= {
            (i.kind, i.key) for i in record.identifiers if i.kind is IdentifierKind.ANONYMOUS_ID
        }
    return values


def status_of(
    carriers: list[RecordData],
    key: ValueKey,
    rules: Rules,
    hubs: frozenset[ValueKey],
    person_of: Mapping[RecordKey, object],
) -> str:
    kind, value = key
    if rules.is_junk(kind, value):
        return "blocked"
    if kind is IdentifierKind.LOYALTY_ID and any(scanned_for_many(r, rules) for r in carriers):
        return "hub"
    if kind in _KEYS and any(_keyed_by(r, key) and busy_till(r, rules) for r in carriers):
        return "hub"
    if len(carriers) == 1:
        # One record carries it: it links nothing yet, and cannot be shared or a hub.
        return "hub" if key in hubs else "linkable"
    if key in hubs or len(carriers) > rules.hub_max_records:
        return "hub"
    # Who the carriers are is asked only when the answer could matter: fewer carriers than
    # the cap cannot be too many people, one CRM contact cannot be two.
    if len(carriers) > rules.hub_max_people:
        # A visitor that names no one (a device's e-mail opens) is no evidence of another
        # person: one person's e-mail sits on all her phones' visitors (iOS renews the
        # anonymous id every few weeks) and on a mail privacy proxy's.
        people = {person_of[record.ref] for record in carriers} - {None}
        if len(people) > rules.hub_max_people:
            return "hub"
    if len(carriers) > rules.till_max_people:
        typed = {person_of[r.ref] for r in carriers if typed_at_till(r, key)}
        if len(typed) > rules.till_max_people:
            return "hub"
    crm = [r for r in carriers if r.source == "crm"]
    if len(crm) > 1:
        people = {person_of[r.ref] for r in crm}
        if len(people) > 1 and not _one_person(crm, people, rules, kind):
            return "shared"
    return "linkable"


def scanned_for_many(record: RecordData, rules: Rules) -> bool:
    """Whether a card's purchases carry more e-mails typed at tills than one person gives
    (``rules.card_max_emails``, placeholders left out): a cashier's own card or a house
    card, scanned for guests who each gave an address for the e-receipt."""
    if record.source != "transactions" or not record.key.startswith("loyalty:"):
        return False
    typed = {
        i.key
        for i in record.identifiers
        if i.kind is IdentifierKind.EMAIL and i.via == "till" and not rules.is_junk(i.kind, i.key)
    }
    return len(typed) > rules.card_max_emails


def busy_days(record: RecordData, rules: Rules) -> int:
    """On how many days a purchase record had more purchases than ``rules.till_busy_day``."""
    if not record.days:
        return 0
    most = rules.till_busy_day
    return sum(1 for ids in record.days.values() if len(ids) > most)


def busy_till(record: RecordData, rules: Rules) -> bool:
    """Whether a purchase record shows more purchases a day than a shopper makes, on
    enough days (``rules.till_busy_day``, ``rules.till_busy_days``): a till's own card or
    address, scanned or typed for every guest who has none."""
    least = rules.till_busy_days
    days = record.days
    return (
        least > 0 and days is not None and len(days) >= least and busy_days(record, rules) >= least
    )


def bag_reason(record: RecordData, rules: Rules) -> str | None:
    """Why a purchase record holds many people's purchases, by what its own lines show
    (None: they show no such thing): a card on which tills typed many guests' e-mails
    (:func:`scanned_for_many`), or a card or address used many times a day on many days
    (:func:`busy_till`)."""
    if record.source != "transactions":
        return None
    if scanned_for_many(record, rules):
        cards = [i.value for i in record.identifiers if i.kind is IdentifierKind.LOYALTY_ID]
        return f"placeholder card {min(cards)}: carried by many different people"
    if busy_till(record, rules):
        label, value = _key_value(record)
        days, most = busy_days(record, rules), rules.till_busy_day
        return (
            f"placeholder {label} {value}: more than {most} purchases a day on {days} days"
            " (a till's own)"
        )
    return None


def day_evidence(
    record: RecordData, rules: Rules
) -> tuple[str | None, frozenset[str | tuple[str, str]]]:
    """All the engine reads of a record's purchases by day (``RecordData.days``) and of a
    card's e-mails by day (``email_days``): whether it is a till's own (:func:`bag_reason`),
    and the e-mails given with the card on enough days to be the holder's
    (``rules.card_email_days``, ``card_handle_email_days``,
    :func:`~membergraph.identity.card_emails.holders_by_days`), those of its web orders
    apart (``(e-mail, "web")``: ``card_web_email_days``, which another person's contact
    carrying the address turns back to a till's days).
    A line that moves only the days and leaves this the same can move no member, so an
    ingest keeps the days without walking the record's closure
    (``IdentityService.ingest``). A rule that comes to read the days must be read here too."""
    least, handle, names, web = (
        rules.card_email_days,
        rules.card_handle_email_days,
        rules.near_duplicates,
        rules.card_web_email_days,
    )
    held = record.email_days or {}
    # A web address's reading and a till's apart: another person's contact carrying it
    # (card_web_emails_of_others) sends it back to the till's days.
    regular = frozenset(
        e for e, days in held.items() if holders_by_days(e, len(days), least, handle, names)
    ) | frozenset(
        (e, "web")
        for e, days in held.items()
        if web and len(days) >= web and given_on_the_web(record, e)
    )
    return bag_reason(record, rules), regular


def _key_value(record: RecordData) -> tuple[str, str]:
    """What a purchase record is keyed by: its card, else its e-mail (label, value)."""
    for kind in (IdentifierKind.LOYALTY_ID, IdentifierKind.EMAIL):
        found = sorted(i.value for i in record.identifiers if i.kind is kind)
        if found:
            return VALUE_LABELS[kind], found[0]
    return "record", record.key


_KEYS = (IdentifierKind.LOYALTY_ID, IdentifierKind.EMAIL)  # what purchase records are keyed by


def _keyed_by(record: RecordData, key: ValueKey) -> bool:
    """Whether ``key`` is the value a purchase record is keyed by (``loyalty:<card>``,
    ``online:<e-mail>``), not one typed on it."""
    if record.source != "transactions":
        return False
    if key[0] is IdentifierKind.LOYALTY_ID:
        return record.key.startswith("loyalty:")
    # An online customer's only e-mail is the one it is keyed by.
    return key[0] is IdentifierKind.EMAIL and record.key.startswith("online:")


def typed_at_till(record: RecordData, key: ValueKey) -> bool:
    """Whether a record's value was typed at a till (an e-mail asked at the checkout)."""
    return any(i.via == "till" and (i.kind, i.key) == key for i in record.identifiers)


def _one_person(
    crm: list[RecordData], people: set[object], rules: Rules, kind: IdentifierKind
) -> bool:
    """Whether CRM contacts who say different things are one person by the near-duplicate
    rule: every two of them (a contact without a whole signature is nobody else), on
    ``kind`` (:func:`own_values_part`)."""
    signatures = sorted(p for p in people if isinstance(p, tuple) and len(p) == 3)
    if len(signatures) < len(people):
        return False
    same = rules.near_duplicates.same_person
    if not all(same(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1 :]):
        return False
    if not own_values_part(kind):
        return True
    return not any(  # one birthday, one first name: one person
        own_values_disagree(a, b, rules) and not born_one(rules, a, b)
        for i, a in enumerate(crm)
        for b in crm[i + 1 :]
    )


def own_values_part(kind: IdentifierKind) -> bool:
    """Whether two contacts with close names sharing a value of ``kind`` are two people
    when each has a value of their own (:func:`own_values_disagree`). On a family e-mail,
    yes: twins. On a loyalty card, no: a card is one member's account, and people change
    e-mail (a duplicate entered years later has the new one)."""
    return kind is not IdentifierKind.LOYALTY_ID


def own_values_disagree(
    a: RecordData,
    b: RecordData,
    rules: Rules,
    counts: Callable[[IdentifierKind, str], bool] | None = None,
    across_kinds: bool = False,
    one_place: Callable[[RecordData, RecordData], bool] | None = None,
) -> bool:
    """Whether two CRM contacts each have a real value the other lacks, of a kind the rules
    name (``near_duplicates.own_values``): twins who share a family address but each have
    their own e-mail, or, living at one address, each their own phone; not one person
    entered twice (whose second contact repeats the first one's values, or has none, or
    after a move has a new landline at a new address). ``counts``: which values count
    (default: every value not a placeholder). ``across_kinds``: one's own e-mail and the
    other's own phone will do (twins on the landline, one with an e-mail, one a mobile).
    ``one_place``: whether two contacts live at one address, where their phones are
    compared (default: the same address, as written)."""
    all_mine: set[tuple[IdentifierKind, str]] = set()
    all_theirs: set[tuple[IdentifierKind, str]] = set()
    for kind in rules.near_duplicates.own_values:
        at_one = one_place(a, b) if one_place else bool(a.address and a.address == b.address)
        if kind is IdentifierKind.PHONE and not at_one:
            continue
        mine, theirs = _own(a, kind, rules, counts), _own(b, kind, rules, counts)
        if mine - theirs and theirs - mine:
            return True
        all_mine |= {(kind, value) for value in mine - theirs}
        all_theirs |= {(kind, value) for value in theirs - mine}
    return across_kinds and bool(all_mine) and bool(all_theirs)


def _own(
    record: RecordData,
    kind: IdentifierKind,
    rules: Rules,
    counts: Callable[[IdentifierKind, str], bool] | None,
) -> set[str]:
    relatives = (
        kind is IdentifierKind.EMAIL
        and rules.relatives_emails
        and rules.relatives_emails_not_her_own
        and record.first_name
        and record.last_name
    )
    return {
        i.key
        for i in record.identifiers
        if i.kind is kind
        and not rules.is_junk(kind, i.key)
        and (counts is None or counts(kind, i.key))
        and not (
            relatives
            and a_relatives_email(
                i.value,
                record.first_name,
                record.last_name,
                rules.near_duplicates,
                first_names_not_slips=rules.relatives_emails_not_slips,
            )
        )
    }


VALUE_LABELS = {
    IdentifierKind.LOYALTY_ID: "card",
    IdentifierKind.EMAIL: "e-mail",
    IdentifierKind.PHONE: "phone",
    IdentifierKind.CRM_ID: "CRM id",
}
"""How a reason names a value's kind (``placeholder card LD65727893``), in the order a
record's values are read for one."""
_LABELS_ORDER = list(VALUE_LABELS)


NO_CALLER = "no phone and no account (a withheld number)"
"""Why a call naming no value is nobody's (no phone, none that reads as one, no account)."""


def nobodys_reason(
    record: RecordData, status: Mapping[ValueKey, str], calls: bool = True
) -> str | None:
    """Why a purchase record or a call is nobody's, when every value it carries is blocked
    or a hub (a store's own address typed at the till for every guest, the hold line's
    number) or, for a call, when it carries none (a withheld number); None: it is
    someone's. Its lines are nobody's, as a pattern placeholder's are. ``calls``: the
    rules' ``calls_identify_no_one`` (else a call is always someone's)."""
    if record.source != "transactions" and (record.source != "call_center" or not calls):
        return None
    # The value the record is keyed by first: its card, else its e-mail.
    values = sorted(
        (_LABELS_ORDER.index(i.kind), i.key, i.kind, i.value)
        for i in record.identifiers
        if i.kind in LINKING_KINDS
    )
    if not values:
        return NO_CALLER if record.source == "call_center" else None
    if any(status.get((k, key)) not in ("blocked", "hub") for _, key, k, _ in values):
        return None
    _, key, kind, value = values[0]
    if status[(kind, key)] == "blocked":
        return f"placeholder {VALUE_LABELS[kind]} {value}"
    return f"placeholder {VALUE_LABELS[kind]} {value}: carried by many different people"


def stored_nobodys_reason(record: RecordData, rules: Rules) -> str:
    """Why a stored record that has no member is nobody's: a visitor (a device's events of no
    one logged in, on a device logged in as two accounts) is a shared device; a purchase's
    or a call's values are each a pattern placeholder (``rules``) or, since the record was
    resolved without a member, a hub; a call may carry none."""
    if record.source == "web_analytics":
        # A visitor is nobody's only as a device logged in as different members (devices.py).
        return SHARED_DEVICE
    status = {
        value: "blocked" if rules.is_junk(*value) else "hub" for value in linking_values(record)
    }
    return nobodys_reason(record, status, rules.calls_identify_no_one) or "it identifies no one"


def person_of(record: RecordData, signature: tuple[str, str, str] | None) -> object:
    """Who a record stands for when counting people on a value.

    A CRM contact is its name and birth date; a loyalty account its card; a visitor or a
    call the account it logged in as or the agent typed (one person's forty devices are
    one person); a visitor that logged in as no one nobody (None: it is no evidence of a
    person other than the values it carries name); anything else only itself (forty
    unidentified calls from one number are forty people as far as anyone can tell: a hold
    line, not a person).
    """
    if record.source == "crm":
        return signature or record.ref
    claimed = [
        (ident.kind, ident.key)
        for ident in record.identifiers
        if ident.kind is IdentifierKind.LOYALTY_ID
        or (record.role == "leaf" and ident.via in ("login", "agent"))
    ]
    if claimed:
        return ("claims", min(claimed))
    return None if record.source == "web_analytics" else record.ref
