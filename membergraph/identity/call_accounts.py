"""A call from the phone on one of her CRM contacts about her other contact's account: one
person entered twice, on the terms of a shared phone.

A caller rings from the phone her contact carries and gives the agent an account (a contact
id, a card, an e-mail) that another contact holds: the switch and the agent name two
contacts. A relative calling for someone of the family gives that person's account from his
own phone; a customer enrolled twice gives the one she has at hand. So the call is read as
the phone written on the account's contact too, and the two contacts are one person when the
phone rule says so (:mod:`~membergraph.identity.phone_duplicates`: close names, birth dates
not disagreeing, one postcode, no values of their own on each, the phone aside):
``reenrolments.call_accounts``. Not when the account's contact gives a phone of its own
that identifies someone: she is reached there, and a call from another contact's phone
about her account is a relative's (a twin named a letter apart, ringing from her mobile for
her sister: our generator's ``relative_call``). A phone on two people's contacts (a
household's line) or an account on two (a family's e-mail) names no one contact: such calls
link nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["RULE", "call_pairs"]

RULE = "crm_call_duplicate"
_ACCOUNT_KINDS = (IdentifierKind.CRM_ID, IdentifierKind.LOYALTY_ID, IdentifierKind.EMAIL)


def call_pairs(
    phone: str,
    carriers: Mapping[tuple[IdentifierKind, str], list[RecordData]],
    status: Mapping[tuple[IdentifierKind, str], str],
) -> list[tuple[RecordData, RecordData]]:
    """``(contact carrying the phone, contact holding the account)`` for each call from
    ``phone`` (the switch's) whose agent typed an account another contact holds; the phone
    and the account each linkable (one person's), in key order, each pair once."""
    on_phone = carriers.get((IdentifierKind.PHONE, phone), ())
    contacts = [r for r in on_phone if r.source == "crm"]
    if not contacts:
        return []
    holding = {r.ref for r in contacts}
    pairs: dict[tuple[RecordKey, RecordKey], tuple[RecordData, RecordData]] = {}
    for call in on_phone:
        if call.source != "call_center" or not _rang_from(call, phone):
            continue
        for ident in call.identifiers:
            key = (ident.kind, ident.key)
            if ident.via != "agent" or ident.kind not in _ACCOUNT_KINDS:
                continue
            if status.get(key) != "linkable":
                continue
            for holder in carriers.get(key, ()):
                if holder.source != "crm" or holder.ref in holding:
                    continue
                for contact in contacts:
                    pairs.setdefault((contact.ref, holder.ref), (contact, holder))
    return [pairs[k] for k in sorted(pairs)]


def _rang_from(call: RecordData, phone: str) -> bool:
    return any(
        i.kind is IdentifierKind.PHONE and i.key == phone and i.via == "switch"
        for i in call.identifiers
    )
