"""An online order taken at a store's counter with a card: the card holder's, or its buyer's?

An online order under a store's id (not one of ``Rules.web_store_ids``) was keyed at that
store's counter. Two things happen there with a card on the order:

- a card holder picks up an order and gives no address: the clerk types the store's own,
  which carries the store's number (``store59103@`` at store ``S59103``); the purchase is
  the holder's, and the address names no one (``line_records`` leaves it off the card);
- a guest with no card orders at the counter and a clerk puts his own card on it, beside
  the guest's address: the purchase is the guest's. Kept on the clerk's card, every such
  guest joined the clerk's member (five or six people in one member).

So such an order whose e-mail is a real address that is not the store's own is its buyer's:
the e-mail's online order, as a card-less one is (``Rules.counter_orders_are_the_buyers``);
the card on it, a clerk's, names no one there. A holder who gives her own address at the
counter has her order under that address, which her contact and her other orders carry.
"""

from __future__ import annotations

import re

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import make_identifier
from membergraph.identity.rules import Rules

__all__ = ["buyers_address", "names_the_store"]

_RULES = Rules()
"""The built-in rules: a record is made from a line before any configured rules are at hand
(as ``Rules.web_store_ids``)."""

_DIGITS = re.compile(r"\d+")


def names_the_store(email_key: str, store_id: str) -> bool:
    """Whether an address's local part carries the store id's number (``store59103@`` or
    ``store059103@`` for ``S59103``): the store's own address, typed for a customer."""
    number = "".join(_DIGITS.findall(store_id))
    if not number or int(number) == 0:
        return False
    local = email_key.rpartition("@")[0]
    return any(int(run) == int(number) for run in _DIGITS.findall(local))


def buyers_address(email: str | None, store_id: str, region: str) -> bool:
    """Whether a counter order's e-mail makes it its buyer's online order: a real address
    (not a placeholder) that is not the store's own, under the rule
    ``counter_orders_are_the_buyers``."""
    if not _RULES.counter_orders_are_the_buyers:
        return False
    found = make_identifier(IdentifierKind.EMAIL, email, "online", region)
    if found is None or _RULES.is_junk(IdentifierKind.EMAIL, found.key):
        return False
    return not names_the_store(found.key, store_id)
