"""What made a store: its format, and the rules it was resolved under.

Every store keeps a :class:`StoreMark`: the :data:`STORE_FORMAT` of the release that wrote
its records, and :func:`rules_digest` of the match rules its members were resolved under.
A new store is marked with the format when it is opened; whole-store resolutions write the
whole mark (``load``, a first start, ``membergraph resolve``, ``membergraph reresolve``);
a start reads it (:func:`verdict`):

- an older format (a store written before a change of what a record is or how it is keyed)
  is not served: its records and those a new ingest would make would be keyed two ways;
- a newer format (a store written by a later release) is not served either: nothing here
  knows what its records mean, and nothing downgrades it;
- other rules: served as it is, said in the log, ``/readyz`` and the commands, until
  ``membergraph reresolve`` applies them.

A store holding records and no mark was made before marks existed: format 0, the oldest.
"""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import orjson

from membergraph.identity.rules import Rules
from membergraph.identity.store.types import StoreError

__all__ = [
    "STORE_FORMAT",
    "StoreFormatError",
    "StoreMark",
    "Verdict",
    "apart",
    "current_mark",
    "read_mark",
    "reresolve_command",
    "rules_digest",
    "verdict",
]

STORE_FORMAT = 7
"""The format of the records this release writes.

Bump it (by one, in the same commit) whenever a change alters what a record is or how it is
keyed: a record key derived another way (web visitors became ``<anonymous_id>|login:<contact
id>``), a record of a new kind, a field a record keeps that resolution reads (purchase
``days``), an identifier's matching key normalized another way. A store of an older format
then refuses to start until ``membergraph reresolve`` brings it up, rather than holding
records keyed two ways. A change of thresholds or of what the rules compare is not a format
change: :func:`rules_digest` tells it. Say in the commit and docs/upgrading.md ("Upgrading and
changing the rules") what the new format changes.

Formats: 0, a store from before marks (the oldest); 1, web visitors keyed
``<anonymous_id>|login:<contact id>`` per login, purchase records with ``days``; 2, contact
ids matched in the CRM's own forms (``crm_id_formats``: ``c-0012345`` is ``C0012345``), a
typed number that fits two forms carried as both; 3, web events of no one logged in naming
their own person's e-mail keyed ``<anonymous_id>|email:<digest>``; 4, e-mails read without
invisible characters or spaces beside the ``@`` (``ann@mail.org\u200b`` is ``ann@mail.org``),
matched without a ``+tag`` on every domain (``ann+shop@mail.org`` is ``ann@mail.org``); 5,
a card's purchase records with the days each e-mail was given with the card
(``email_days``: ``Rules.card_email_days`` reads them); 6, an e-mail's internationalized
domain in the one form IDNA gives its every spelling, Latin labels in Unicode and others in
punycode (``jöhn@xn--exmple-cua.com`` and a full-width ``ann@ｘ.com`` are ``jöhn@exämple.com``
and ``ann@x.com``; Cyrillic ``аррӏе.com`` is ``xn--80ak6aa92e.com``); 7, an online order
taken at a store's counter with a card and its buyer's own address (not the store's) keyed
``online:<email>``, the address's online order, not the card's
(``Rules.counter_orders_are_the_buyers``: a clerk's card on a guest's order).
"""


class Verdict(StrEnum):
    """What a start makes of a store's mark."""

    CURRENT = "current"
    NEW = "new"  # holds nothing yet: its first resolution marks it
    OTHER_RULES = "other rules"
    OLDER = "older format"
    NEWER = "newer format"


@dataclass(frozen=True, slots=True)
class StoreMark:
    """What made a store: its format and the digest of the rules it was resolved under."""

    format: int
    rules: str


class StoreFormatError(StoreError):
    """A store this release must not serve or resolve (older or newer format)."""


def read_mark(format_held: object, rules: str) -> StoreMark:
    """The mark a store holds, its format as stored (a number, or its text).

    Raises:
        StoreFormatError: the format is no number (the store's meta was edited or damaged):
            nothing can tell what its records mean.
    """
    try:
        held = int(str(format_held))
    except ValueError:
        raise StoreFormatError(
            f"the store's format mark reads {str(format_held)[:40]!r}, not a format number:"
            " it was edited or damaged, so what its records mean cannot be told; restore the"
            " store from a backup, or load the source files into a new store"
        ) from None
    return StoreMark(held, rules)


def rules_digest(rules: Rules) -> str:
    """A digest of the rules in effect (every value, defaults included, as validated): a
    release whose built-in rules changed, or an edited rules file, gives another one; a
    rules file that only moves comments or spells a default out does not."""
    data = orjson.dumps(rules.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(data).hexdigest()[:16]


def current_mark(rules: Rules) -> StoreMark:
    """The mark a resolution under ``rules`` by this release writes."""
    return StoreMark(STORE_FORMAT, rules_digest(rules))


def apart(found: StoreMark | None, holds_records: bool) -> Verdict | None:
    """:attr:`Verdict.OLDER` or :attr:`Verdict.NEWER` when a store marked ``found`` is of
    another format than this release's (``holds_records``: as :func:`verdict`), else None.
    An adapter opens such a store without writing this release's schema into it (a refused
    start writes nothing); ``membergraph reresolve`` writes it (``write_schema``)."""
    if found is not None and found.format > STORE_FORMAT:
        return Verdict.NEWER
    if holds_records and (found is None or found.format < STORE_FORMAT):
        return Verdict.OLDER
    return None


def verdict(found: StoreMark | None, holds_records: bool, rules: Rules) -> Verdict:
    """What a store marked ``found`` is to this release under ``rules`` (``holds_records``:
    whether it holds any record; one with none is new, unless a newer release marked it)."""
    other = apart(found, holds_records)
    if other is not None:
        return other
    if not holds_records or found is None:
        return Verdict.NEW
    if not found.rules:  # written by this release, never resolved whole: by ingests only
        return Verdict.CURRENT
    return Verdict.CURRENT if found.rules == rules_digest(rules) else Verdict.OTHER_RULES


def reresolve_command(url: str | None, rules: Path | None = None) -> str:
    """The command that brings the store at ``url`` up (its password left out; None: an
    answer without credentials, which names no server), under the rules file the gateway
    runs with (``rules``: ``MEMBERGRAPH_RULES``): run without it, ``reresolve`` applies the
    built-in rules, finds the store current under them and changes nothing."""
    from membergraph.identity.store.mongodb_client import redact

    store = "--store URL" if url is None else f"--store '{redact(url)}'"
    if rules is None:
        said = ""
    elif url is None:
        said = "MEMBERGRAPH_RULES=FILE "  # (the gateway's; no path said without credentials)
    else:
        said = f"MEMBERGRAPH_RULES={shlex.quote(str(rules))} "
    return f"{said}membergraph reresolve {store}"


def refusal(found: StoreMark | None, url: str) -> str:
    """The one line a start refuses a store of another format with."""
    have = 0 if found is None else found.format
    where = reresolve_command(url)
    if have > STORE_FORMAT:
        return (
            f"store format {have} was written by a newer membergraph release; this one reads "
            f"format {STORE_FORMAT}: run that release (nothing here downgrades a store)"
        )
    return (
        f"store format {have} is older than this release's format {STORE_FORMAT} (records "
        f"keyed another way): not served; bring it up with `{where}` (--dry-run first shows "
        "what changes)"
    )
