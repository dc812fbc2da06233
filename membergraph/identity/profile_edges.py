"""The evidence among profiles (CRM contacts, loyalty accounts, online customers): which
pairs a shared value links and under which rule, the engine's second phase.

A value carried by two profiles links them by the strongest rule that holds, in priority
order: one person entered twice in the CRM (same name and birth date, or close names:
``rules.near_duplicates``, a re-enrolment, a name left empty or a till's placeholder), a
shared loyalty number, a shared e-mail. A phone alone never links (households share
landlines); a value staff typed for whoever stood there says nothing; an e-mail on a card's
purchases that is a stranger's (a guest's online order) is not the holder's. The engine
takes the edges in order and unites what limits and cannot-links allow.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import partial

from membergraph.connectors.models import LOGIN_MARK
from membergraph.identity.call_accounts import call_pairs
from membergraph.identity.card_emails import a_strangers_email, web_email_days
from membergraph.identity.her_email import one_name_on_her_email, undated_uses_another
from membergraph.identity.naming_emails import emails_name_each
from membergraph.identity.near_duplicates import Signature
from membergraph.identity.near_edges import RULE as NEAR_RULE
from membergraph.identity.near_edges import near_duplicates
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.ordering_emails import another_uses, never_orders_with
from membergraph.identity.partial_names import (
    PLACEHOLDER_NAME_RULE,
    partial_duplicates,
    partial_signature,
)
from membergraph.identity.partial_names import RULE as PARTIAL_RULE
from membergraph.identity.phone_duplicates import postcode_of
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.reenrolments import (
    CALL_RULE,
    CARD_ORDER_RULE,
    LOGIN_RULE,
    PHONE_RULE,
    Reenrolments,
    given_online,
)
from membergraph.identity.rules import Rules
from membergraph.identity.values import ValueKey, own_values_disagree, own_values_part

__all__ = ["DUPLICATES", "Edge", "ProfileEvidence"]

_NO_ONES = ("hub", "blocked")  # statuses of values that identify no one
_SOMEONES = ("linkable", "shared")  # statuses of values that identify someone
_RULE_ORDER = {"manual": 0, "crm_duplicate": 1, "loyalty_id": 3, "crm_id": 3, "email": 4}
_UNDATED = 2  # a duplicate with no birth date to compare: after those whose dates agree
DUPLICATES = (
    "crm_duplicate",
    NEAR_RULE,
    PHONE_RULE,
    CALL_RULE,
    CARD_ORDER_RULE,
    LOGIN_RULE,
    PARTIAL_RULE,
    PLACEHOLDER_NAME_RULE,
)  # rules that find one person entered twice

Edge = tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]
"""``(priority, kind, value, a, b, rule)``: edges sort into the order they are tried."""


class ProfileEvidence:
    """The edges among one resolution's profiles, and what each link's evidence says.

    ``carriers`` and ``status`` are the engine's: each linking value's records (in key
    order, bags and relatives' e-mails set aside) and its status.
    """

    def __init__(
        self,
        records: Mapping[RecordKey, RecordData],
        rules: Rules,
        carriers: Mapping[ValueKey, list[RecordData]],
        status: Mapping[ValueKey, str],
        signature: Mapping[RecordKey, Signature | None],
    ) -> None:
        self.records, self.rules, self.carriers = records, rules, carriers
        self.status, self.signature = status, signature
        self.reenrolments = Reenrolments(rules, records, status, signature)

    def edges(self) -> list[Edge]:
        """Every edge a shared value makes among profiles, sorted: the order to try them."""
        edges: list[Edge] = []
        signature, status_of_value = self.signature, self.status
        for key, carriers in self.carriers.items():
            if len(carriers) < 2:
                continue
            status = status_of_value[key]
            if status == "blocked" or status == "hub":
                continue
            # In key order whatever order the carriers came in: which pairs a value links
            # (a star from the first) must not hang on the order a caller resolves in.
            profiles = sorted(r.ref for r in carriers if r.role == "profile")
            kind, value = key
            if kind is IdentifierKind.EMAIL and len(profiles) > 1:
                profiles = [ref for ref in profiles if not self.strangers_on_card(ref, value)]
            if kind is IdentifierKind.EMAIL and profiles:
                edges += self._on_logins(value, carriers, profiles)
            if kind is IdentifierKind.PHONE and status == "linkable" and profiles:
                pairs = call_pairs(value, self.carriers, status_of_value)
                edges += self.reenrolments.on_calls(value, pairs)
            if len(profiles) < 2:
                continue
            signed = [(sig, ref) for ref in profiles if (sig := signature.get(ref))]
            if len(signed) > 1:  # most values are on one CRM contact at most
                by_signature: dict[tuple[str, str, str], list[RecordKey]] = defaultdict(list)
                for sig, ref in signed:
                    by_signature[sig].append(ref)
                for sig, same in by_signature.items():
                    for other in same[1:]:
                        if self._namesakes(kind, value, sig, same[0], other):
                            continue
                        edges.append((1, kind, value, same[0], other, "crm_duplicate"))
                if len(by_signature) > 1 and kind in self.rules.near_duplicates.kinds:
                    her_email = uses_another = None
                    if kind is IdentifierKind.EMAIL:
                        her_email = partial(self._her_email, value)
                        if self.rules.undated_using_another_apart:
                            uses_another = partial(self._uses_another, value)
                    edges += near_duplicates(
                        self.rules,
                        kind,
                        value,
                        by_signature,
                        self.records,
                        self.status,
                        her_email,
                        uses_another,
                    )
                elif len(by_signature) > 1 and kind is IdentifierKind.PHONE:
                    edges += self.reenrolments.on_phone(value, by_signature)
            if signed and len(signed) < len(profiles):  # a contact with a name left empty
                edges += partial_duplicates(self.rules, kind, value, profiles, signed, self.records)
            if signed and kind is IdentifierKind.EMAIL:
                holders = {ref: self._holders(ref) for ref in profiles}
                edges += self.reenrolments.on_card_orders(value, profiles, signed, holders)
            if status != "linkable" or kind is IdentifierKind.PHONE:
                # A phone alone never merges: households share landlines.
                continue
            if not self.given(key, carriers):
                continue  # staff typed it each time: for whom, the value cannot say
            rule = "email" if kind is IdentifierKind.EMAIL else kind.value.lower()
            order = _RULE_ORDER[rule]
            for a, b in self._pairs(kind, value, profiles):
                edges.append((order, kind, value, a, b, rule))
        if self.rules.near_duplicates.member_cards_apart:
            edges = [self._dated_first(edge) for edge in edges]
        edges.sort()
        return edges

    def _dated_first(self, edge: Edge) -> Edge:
        """A duplicate edge with no birth date to compare tried after those whose dates
        agree: a member of one person's dated contacts is formed first, and what it holds
        (its cards' addresses, its birth dates) then weighs on a contact that gave none."""
        _, kind, value, a, b, rule = edge
        if rule not in DUPLICATES:
            return edge
        sig_a, sig_b = self.signature.get(a), self.signature.get(b)
        near = self.rules.near_duplicates
        if sig_a and sig_b and near.birth_said(sig_a[2], sig_b[2]) != "left_out":
            return edge
        return (_UNDATED, kind, value, a, b, rule)

    def _pairs(
        self, kind: IdentifierKind, value: str, profiles: list[RecordKey]
    ) -> list[tuple[RecordKey, RecordKey]]:
        """The pairs a linkable value links among the profiles carrying it: a star from the
        first. An e-mail on a contact that she never orders under
        (``rules.emails_she_never_orders_with``) links her to no card-less online orders
        under it: two stars, one without them, one without her (a card carrying it too
        still joins both)."""
        apart = self._never_orders_with(value, profiles) if kind is IdentifierKind.EMAIL else ()
        if not apart:
            return [(profiles[0], other) for other in profiles[1:]]
        pairs = []
        for group in (
            [ref for ref in profiles if not ref[1].startswith("online:")],
            [ref for ref in profiles if ref not in apart],
        ):
            pairs += [(group[0], other) for other in group[1:]]
        return pairs

    def never_orders(self, contact: RecordKey, email: str) -> bool:
        """Whether a CRM contact never orders under ``email``: it names her not, and the
        addresses she is seen using hold others, never it (whoever else uses it)."""
        return contact in self._never_orders_with(email, [contact], online=False)

    def _never_orders_with(
        self, email: str, profiles: list[RecordKey], online: bool = True
    ) -> set[RecordKey]:
        """The contacts among ``profiles`` that never order under ``email`` (``never_orders_with``)
        when card-less online orders carry it too (``online``: else by her addresses alone)."""
        rules = self.rules
        if not rules.emails_she_never_orders_with or not (
            not online
            or any(ref[0] == "transactions" and ref[1].startswith("online:") for ref in profiles)
        ):
            return set()
        status, near = self.status, rules.near_duplicates
        usable = lambda e: status.get((IdentifierKind.EMAIL, e)) in _SOMEONES  # noqa: E731
        holders_own = lambda ref, e: not self.strangers_on_card(ref, e)  # noqa: E731
        others = named_users = None
        if rules.emails_another_uses and online:
            others = lambda contact, e: another_uses(  # noqa: E731
                contact, e, self.carriers, near, holders_own
            )
        if rules.emails_naming_another_user and online:
            named_users = lambda contact, e: another_uses(  # noqa: E731
                contact, e, self.carriers, near, holders_own, named=True
            )
        return {
            ref
            for ref in profiles
            if ref[0] == "crm"
            and never_orders_with(
                self.records[ref],
                email,
                self.carriers,
                usable,
                near,
                rules.call_value_slips,
                others,
                named_users,
                rules.emails_naming_two_generations,
            )
        }

    def _namesakes(
        self,
        kind: IdentifierKind,
        value: str,
        sig: tuple[str, str, str],
        a: RecordKey,
        b: RecordKey,
    ) -> bool:
        """Whether two contacts of one name and no birth date to compare, sharing a value
        a family shares (not a card), each have values of their own: a father and son of
        one name on the household's landline, each with his own e-mail
        (``reenrolments.namesakes_need_own_values``: values that identify her)."""
        held = self.rules.near_duplicates.birth_date_placeholders
        if not own_values_part(kind) or (sig[2] and sig[2] not in held):
            return False
        one, other = self.records[a], self.records[b]
        if not own_values_disagree(one, other, self.rules):
            return False
        if kind is IdentifierKind.EMAIL and self._her_email(value, a, b):
            return False  # her own address, a phone of her own now
        if not self.rules.reenrolments.namesakes_need_own_values:
            return True
        # A value that identifies no one (the store's address a clerk typed when she gave
        # none) is no value of her own: differing only by such, one person at one postcode.
        status = self.status

        def someones(k: IdentifierKind, key: str) -> bool:
            return status.get((k, key)) not in _NO_ONES

        if own_values_disagree(one, other, self.rules, someones):
            # Each giving an address naming himself, or phones of their own: namesakes.
            return emails_name_each(one, other, self.rules, someones)
        reenrolments = self.rules.reenrolments
        return not reenrolments.placeholders_one_person(postcode_of(one), postcode_of(other))

    def _someones(self, kind: IdentifierKind, key: str) -> bool:
        """Whether a value identifies someone: no hub or till's, no junk."""
        return self.status.get((kind, key)) not in _NO_ONES and not self.rules.is_junk(kind, key)

    def _her_email(self, email: str, a: RecordKey, b: RecordKey) -> bool:
        """Whether two contacts on ``email`` are one person whatever phones of their own
        say (:func:`~membergraph.identity.her_email.one_name_on_her_email`)."""
        records = self.records
        return one_name_on_her_email(
            records[a], records[b], email, self.rules, self.carriers, self._someones, records
        )

    def _uses_another(self, email: str, undated: RecordKey, dated: RecordKey) -> bool:
        """Whether an undated contact on ``email`` is seen using an address of her own
        (:func:`~membergraph.identity.her_email.undated_uses_another`)."""
        one, other, records = self.records[undated], self.records[dated], self.records
        return undated_uses_another(one, other, email, self.carriers, self._someones, records)

    def names_and_birth(self, a: RecordKey, b: RecordKey, rule: str) -> dict[str, list[str]]:
        """What two CRM contacts found one person's agreed on, for the link's evidence: each
        name the same or ``close``, and the birth date only when both have one (a date left
        out or a placeholder is ``left_out``: not compared; day and month ``swapped``)."""
        if rule == PLACEHOLDER_NAME_RULE:  # a till's word for a name: the date agreed or
            births = [(self.records[r].signature or ("", "", ""))[2] for r in (a, b)]
            said_birth = self.rules.near_duplicates.birth_said(*births)  # none to compare
            return {said_birth: ["birth_date"], "names_no_one": ["first_name", "last_name"]}
        said: dict[str, list[str]] = {"agreed": []}
        sig_a = self.signature.get(a) or partial_signature(self.records[a])
        sig_b = self.signature.get(b) or partial_signature(self.records[b])
        for n, name in enumerate(("first_name", "last_name")):
            if sig_a and sig_b and not (sig_a[n] and sig_b[n]):
                said.setdefault("left_out", []).append(name)  # a field left empty
                continue
            same = rule == "crm_duplicate" or bool(sig_a and sig_b and sig_a[n] == sig_b[n])
            said.setdefault("agreed" if same else "close", []).append(name)
        birth = self.rules.near_duplicates.birth_said(
            sig_a[2] if sig_a else "", sig_b[2] if sig_b else ""
        )
        said.setdefault(birth, []).append("birth_date")
        return said

    def _on_logins(
        self, email: str, carriers: list[RecordData], profiles: list[RecordKey]
    ) -> list[Edge]:
        """Edges between the contacts whose logged-in sessions give ``email`` (an
        ``identify`` event: the account's own address) and the contacts carrying it or
        holding a card whose online orders give it (``reenrolments.login_emails``)."""
        if not self.rules.reenrolments.login_emails:
            return []
        users = {
            holder.ref: holder
            for record in carriers
            if record.role == "leaf" and LOGIN_MARK in record.key and _identifies(record, email)
            for ident in record.identifiers
            if ident.kind is IdentifierKind.CRM_ID and ident.via == "login"
            for holder in self.carriers.get((ident.kind, ident.key), ())
            if holder.source == "crm"
        }
        if not users:
            return []
        targets: dict[RecordKey, bool] = {}
        for ref in profiles:
            if self.records[ref].source == "crm":
                targets[ref] = True
            elif given_online(self.records[ref], email):
                for holder in self._holders(ref):
                    targets.setdefault(holder.ref, False)
        return self.reenrolments.on_logins(email, users.values(), targets)

    def _holders(self, ref: RecordKey) -> list[RecordData]:
        """A card's purchase record's CRM contacts (none for any other record)."""
        record = self.records[ref]
        if record.source != "transactions" or not record.key.startswith("loyalty:"):
            return []
        return [
            carrier
            for ident in record.identifiers
            if ident.kind is IdentifierKind.LOYALTY_ID
            for carrier in self.carriers.get((ident.kind, ident.key), ())
            if carrier.source == "crm"
        ]

    def strangers_on_card(self, ref: RecordKey, email: str) -> bool:
        """Whether an e-mail on a card's purchases is someone else's than the card holder's
        (:func:`~membergraph.identity.card_emails.a_strangers_email`): a guest's, given for
        an online order a clerk put on her own card."""
        holders = self._holders(ref)
        if not holders:
            return False
        record = self.records[ref]
        given = [i.key for i in record.identifiers if i.kind is IdentifierKind.EMAIL]
        days = len((record.email_days or {}).get(email, ()))
        rules = self.rules
        return a_strangers_email(
            email,
            holders,
            rules.is_junk,
            given,
            days,
            rules.card_email_days,
            rules.card_handle_email_days,
            rules.near_duplicates,
            rules.card_emails_naming_others,
            self._no_ones if rules.card_emails_hubs_not_hers else None,
            rules.card_emails_name_slips,
            web_email_days(record, email, holders, rules, self.carriers, self.signature),
        )

    def _no_ones(self, kind: IdentifierKind, key: str) -> bool:
        """Whether a value identifies no one: a hub (the store's address a till typed for
        every guest who gave none)."""
        return self.status.get((kind, key)) == "hub"

    def given(self, key: ValueKey, carriers: list[RecordData]) -> bool:
        """Whether a record carries the value by a channel other than staff typing it
        (``rules.typed_by_staff``): the customer gave it."""
        staff, (kind, value) = self.rules.typed_by_staff, key
        return not staff or any(
            i.kind is kind and i.key == value and i.via not in staff
            for record in carriers
            for i in record.identifiers
        )


def _identifies(record: RecordData, email: str) -> bool:
    """Whether a logged-in device's record gives ``email`` from an ``identify`` event."""
    return any(
        i.kind is IdentifierKind.EMAIL and i.key == email and i.via == "identify"
        for i in record.identifiers
    )
