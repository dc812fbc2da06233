"""One person's CRM contacts made at a re-enrolment, found by evidence weaker than a shared
e-mail or card: a shared phone (:mod:`~membergraph.identity.phone_duplicates`), or a card's
online order giving the other contact's e-mail.

A customer who forgot her account is enrolled again at a till: a new card, the e-mail left
out or a clerk's placeholder typed. Her two contacts share no e-mail; but when she orders
online with the new card, the order gives her e-mail, the old contact's: the card's
purchases name both. With close names, birth dates not disagreeing and no values of their
own on each, the two contacts are one person entered twice. (A household's card lent for
an order gives the lender's family member's e-mail: other first names, or values of their
own, keep them apart.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial

from membergraph.identity.call_accounts import RULE as CALL_RULE
from membergraph.identity.dropped_letters import born_one
from membergraph.identity.handovers import first_names_given_alike, hands_over
from membergraph.identity.naming_emails import emails_name_each
from membergraph.identity.near_edges import garbled_born_one
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.phone_duplicates import RULE as PHONE_RULE
from membergraph.identity.phone_duplicates import phone_duplicates, postcode_of
from membergraph.identity.quick_enrolments import enrolled_again
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules, Signature
from membergraph.identity.values import own_values_disagree

__all__ = [
    "CALL_RULE",
    "CARD_ORDER_RULE",
    "LOGIN_RULE",
    "PHONE_RULE",
    "Reenrolments",
    "given_online",
]

CARD_ORDER_RULE = "crm_card_order_duplicate"
LOGIN_RULE = "crm_login_duplicate"
_NO_ONES = ("hub", "blocked")  # statuses of values that identify no one
Edge = tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]


class Reenrolments:
    """The edges between re-enrolled contacts, for one resolution's values."""

    def __init__(
        self,
        rules: Rules,
        records: Mapping[RecordKey, RecordData],
        status: Mapping[tuple[IdentifierKind, str], str],
        signature: Mapping[RecordKey, Signature | None],
    ) -> None:
        self.rules, self.records, self.status, self.signature = rules, records, status, signature

    def own_values(
        self, a: RecordData, b: RecordData, besides: tuple[IdentifierKind, str] | None = None
    ) -> str:
        """``"own"`` when each contact has values of its own (any ``own_values`` kind),
        ``"placeholders"`` when only values the data shows to be no one's (hubs: a till's
        address) differ, else ``""`` (as when both were born on one day under one first name:
        ``near_duplicates.births_outweigh_own_values``). ``besides``: a value both hold,
        though only one contact carries it (the e-mail the other's card orders give)."""
        rules, status = self.rules, self.status
        if born_one(rules, a, b):
            return ""
        anywhere = rules.reenrolments.own_phones_without_postcode

        def no_ones(kind: IdentifierKind, key: str) -> bool:
            return rules.is_junk(kind, key) or status.get((kind, key)) in _NO_ONES

        def counts(kind: IdentifierKind, key: str) -> bool:
            return (kind, key) != besides

        place = partial(_maybe_one_place, rules, no_ones) if anywhere else _one_postcode
        if not own_values_disagree(a, b, rules, counts if besides else None, True, place):
            return ""
        theirs = own_values_disagree(
            a,
            b,
            rules,
            lambda kind, key: status.get((kind, key)) not in _NO_ONES and counts(kind, key),
            True,
            place,
        )
        return "own" if theirs else "placeholders"

    def on_phone(self, value: str, by_signature: Mapping[Signature, list[RecordKey]]) -> list[Edge]:
        """Edges between contacts on one phone that are one person entered twice."""
        rules, records = self.rules, self.records
        pairs = phone_duplicates(
            rules.reenrolments,
            rules.near_duplicates,
            by_signature,
            records,
            self._on_phone_own,
            partial(garbled_born_one, rules)
            if rules.reenrolments.garbled_first_names_on_one_value
            else None,
        )
        return [(1, IdentifierKind.PHONE, value, a, b, PHONE_RULE) for a, b in pairs]

    def on_calls(self, phone: str, pairs: Iterable[tuple[RecordData, RecordData]]) -> list[Edge]:
        """Edges between a contact carrying ``phone`` and a contact whose account a call from
        it typed (:mod:`~membergraph.identity.call_accounts`), as if both carried the phone:
        the phone is no value of the contact carrying it against the other."""
        ren = self.rules.reenrolments
        if not ren.call_accounts:
            return []
        near, besides = self.rules.near_duplicates, (IdentifierKind.PHONE, phone)
        names_one = (
            partial(garbled_born_one, self.rules) if ren.garbled_first_names_on_one_value else None
        )
        edges: list[Edge] = []
        for a, b in pairs:
            sig_a, sig_b = self.signature.get(a.ref), self.signature.get(b.ref)
            if sig_a is None or sig_b is None or self._a_phone_of_her_own(b):
                continue
            if ren.same_person(
                near,
                (sig_a, postcode_of(a)),
                (sig_b, postcode_of(b)),
                lambda a=a, b=b: self._on_phone_own(a, b, besides),  # type: ignore[misc]
                names_one,
            ):
                x, y = sorted((a.ref, b.ref))
                edges.append((1, IdentifierKind.PHONE, phone, x, y, CALL_RULE))
        return edges

    def _a_phone_of_her_own(self, record: RecordData) -> bool:
        """Whether the account's contact gives a phone of its own that identifies someone:
        she is reached there, and a call from another contact's phone about her account is
        someone else's (a twin ringing from her own mobile for her sister)."""
        rules = self.rules
        return any(
            i.kind is IdentifierKind.PHONE
            and not rules.is_junk(i.kind, i.key)
            and self.someones(i.kind, i.key)
            for i in record.identifiers
        )

    def _on_phone_own(
        self, a: RecordData, b: RecordData, besides: tuple[IdentifierKind, str] | None = None
    ) -> str:
        """:meth:`own_values` on a shared phone, where e-mails of their own say two people
        only when each names its contact (:func:`~membergraph.identity.naming_emails.
        emails_name_each`: a handle on one is what a re-enrolment gives)."""
        own = self.own_values(a, b, besides)
        ren = self.rules.reenrolments
        if own == "own" and ren.handover_on_a_phone and self.handed_over(a, b):
            return ""
        quick = ren.quick_enrolment_on_a_phone and besides is None
        if own == "own" and quick and enrolled_again(a, b, self.rules, self.records, self.someones):
            return ""
        if own != "own" or emails_name_each(a, b, self.rules, self.someones, self.place):
            return own
        return ""

    def handed_over(self, a: RecordData, b: RecordData) -> bool:
        """Whether one contact fell silent before the other began
        (``reenrolments.one_after_the_other``, :mod:`~membergraph.identity.handovers`): her
        old contact and its card stopped when she enrolled again; values of their own on
        each are then her old and new ones. Only with a birth date left out (a quick
        enrolment at a till skips it): twins named a letter apart, born one day, are
        enrolled years apart as often. Not when each has a phone of its own besides the
        shared one: she kept her phone; a mother and her daughter each keep a mobile beside
        the household's landline. Not when the first names are two of their own, only close
        by letters (:func:`~membergraph.identity.handovers.first_names_given_alike`), nor
        when a contact was seen while the other's holder was a child
        (:func:`~membergraph.identity.handovers.hands_over`), nor when the contact
        that fell silent holds no card (``reenrolments.handover_old_card``)."""
        rules = self.rules
        if not rules.reenrolments.one_after_the_other:
            return False
        if not first_names_given_alike(a, b, rules.near_duplicates):
            return False
        births = [(r.signature or ("", "", ""))[2] for r in (a, b)]
        if rules.near_duplicates.birth_said(*births) != "left_out":
            return False
        someones = self.someones

        def phones(kind: IdentifierKind, key: str) -> bool:
            return kind is IdentifierKind.PHONE and someones(kind, key)

        if own_values_disagree(a, b, rules, phones, False, self.place):
            return False
        ren = rules.reenrolments
        return hands_over(a, b, self.records, ren.handover_least_age, ren.handover_old_card)

    def someones(self, kind: IdentifierKind, key: str) -> bool:
        """Whether a value identifies someone: no hub, not blocked."""
        return self.status.get((kind, key)) not in _NO_ONES

    def place(self, a: RecordData, b: RecordData) -> bool:
        """Whether two contacts' phones are compared (as :meth:`own_values` compares them)."""
        rules = self.rules
        if not rules.reenrolments.own_phones_without_postcode:
            return _one_postcode(a, b)

        def no_ones(kind: IdentifierKind, key: str) -> bool:
            return rules.is_junk(kind, key) or not self.someones(kind, key)

        return _maybe_one_place(rules, no_ones, a, b)

    def on_card_orders(
        self,
        email: str,
        profiles: Iterable[RecordKey],
        signed: list[tuple[Signature, RecordKey]],
        holders_of: Mapping[RecordKey, list[RecordData]],
    ) -> list[Edge]:
        """Edges between a card holder's contact and a contact carrying ``email``, which the
        card's online orders give (``holders_of``: each card record's CRM contacts)."""
        if not self.rules.reenrolments.card_orders:
            return []
        same_person = self.rules.near_duplicates.same_person
        carrying = {ref for _, ref in signed}
        edges: list[Edge] = []
        for ref in profiles:
            if not given_online(self.records[ref], email):
                continue
            for holder in holders_of.get(ref, ()):
                held = self.signature.get(holder.ref)
                if held is None or holder.ref in carrying:
                    continue
                for sig, contact in signed:
                    if same_person(held, sig) and not self._own(holder, contact, email):
                        a, b = sorted((holder.ref, contact))
                        edges.append((1, IdentifierKind.EMAIL, email, a, b, CARD_ORDER_RULE))
        return edges

    def on_logins(
        self, email: str, users: Iterable[RecordData], targets: Mapping[RecordKey, bool]
    ) -> list[Edge]:
        """Edges between a contact whose logged-in sessions give ``email`` (``users``: the
        contacts the sessions log in as, neither carrying it nor holding a card whose
        orders give it) and the contacts that carry it (``targets``: True) or hold a card
        whose online orders give it (False), on the terms of :meth:`on_card_orders`."""
        if not self.rules.reenrolments.login_emails:
            return []
        same_person = self.rules.near_duplicates.same_person
        edges: list[Edge] = []
        for user in users:
            held = self.signature.get(user.ref)
            if held is None or user.ref in targets:
                continue
            for ref, carries in targets.items():
                sig = self.signature.get(ref)
                if sig is None or not same_person(held, sig):
                    continue
                if carries and self._undated_user(held, sig):
                    continue
                other = self.records[ref]
                if carries:
                    own = self._own(user, ref, email)
                else:
                    own = self.own_values(user, other) == "own" and not self.handed_over(
                        user, other
                    )
                if not own:
                    a, b = sorted((user.ref, ref))
                    edges.append((1, IdentifierKind.EMAIL, email, a, b, LOGIN_RULE))
        return edges

    def _undated_user(self, user: Signature, carrier: Signature) -> bool:
        """Whether a contact logging in gives no birth date where the contact carrying its
        e-mail gives one (``reenrolments.login_emails_undated_user`` off): a father's
        login with his own address, given on his namesake son's contact."""
        if self.rules.reenrolments.login_emails_undated_user:
            return False
        held = self.rules.near_duplicates.birth_date_placeholders
        return (not user[2] or user[2] in held) and bool(carrier[2]) and carrier[2] not in held

    def _own(self, holder: RecordData, contact: RecordKey, email: str) -> bool:
        """Whether a card's holder and a contact carrying the e-mail the card's online orders
        give each have values of their own. A holder with no e-mail of her own
        (``reenrolments.card_orders_email_hers``) holds that one through her card: it is no
        value of the contact's own against her, when a birth date is left out (a till's
        re-enrolment skips it; twins a letter apart give theirs, one date)."""
        other = self.records[contact]
        if self.own_values(holder, other) != "own" or self.handed_over(holder, other):
            return False
        near = self.rules.near_duplicates
        births = [(r.signature or ("", "", ""))[2] for r in (holder, other)]
        if (
            not self.rules.reenrolments.card_orders_email_hers
            or near.birth_said(*births) != "left_out"  # twins a letter apart share theirs
            or self._an_email_of_her_own(holder)
        ):
            return True
        return self.own_values(holder, other, (IdentifierKind.EMAIL, email)) == "own"

    def _an_email_of_her_own(self, record: RecordData) -> bool:
        rules, status = self.rules, self.status
        return any(
            i.kind is IdentifierKind.EMAIL
            and not rules.is_junk(i.kind, i.key)
            and status.get((i.kind, i.key)) not in _NO_ONES
            for i in record.identifiers
        )


def _one_postcode(a: RecordData, b: RecordData) -> bool:
    """Whether two contacts live at one address, however its line is written (``Apt 26``,
    ``#26``): one postcode. Each with a phone of its own there, they are two people: a
    father and a son of one name, the son's contact carrying his father's e-mail."""
    post = postcode_of(a)
    return bool(post) and post == postcode_of(b)


def _maybe_one_place(
    rules: Rules, no_ones: Callable[[IdentifierKind, str], bool], a: RecordData, b: RecordData
) -> bool:
    """Whether two contacts' phones are compared: at one postcode, or when one left out its
    postcode and everything else that says who she is (no birth date, no e-mail: a till's
    contact of a name and phones), both giving phones. Such a contact with a phone of its
    own besides the shared one may be a namesake whose contact lists a relative's."""
    post_a, post_b = postcode_of(a), postcode_of(b)
    if post_a and post_b:
        return post_a == post_b
    bare = [r for r, post in ((a, post_a), (b, post_b)) if not post]
    return all(_only_name_and_phones(r, rules, no_ones) for r in bare) and _has(a) and _has(b)


def _has(record: RecordData, kind: IdentifierKind = IdentifierKind.PHONE) -> bool:
    return any(i.kind is kind for i in record.identifiers)


def _only_name_and_phones(
    record: RecordData, rules: Rules, no_ones: Callable[[IdentifierKind, str], bool]
) -> bool:
    """Whether a contact gave no birth date and no e-mail (values that identify no one, a
    clerk's placeholder or the store's address, aside)."""
    held = rules.near_duplicates.birth_date_placeholders
    born = record.birth_date is not None and record.birth_date.isoformat() not in held
    return not born and all(
        no_ones(i.kind, i.key) for i in record.identifiers if i.kind is IdentifierKind.EMAIL
    )


def given_online(record: RecordData, email: str) -> bool:
    """Whether a card's purchase record carries ``email`` from an online order (the
    customer typed it, not a clerk at a till)."""
    return record.key.startswith("loyalty:") and any(
        i.kind is IdentifierKind.EMAIL and i.key == email and i.via == "online"
        for i in record.identifiers
    )
