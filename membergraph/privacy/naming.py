"""Her lines outside her member's records: one search, read by her export, removed by her
erasure, so what the one shows is what the other takes.

- ``elsewhere``: the lines of her own records another member holds (her online account
  taken by a relative's contact, her visitor split off by a steward);
- ``shared``: her lines on a device someone else logged in on too (those carrying her
  identifiers, or naming her e-mail or phone in their text);
- ``nobodys``: lines kept for no one (a cash sale, a purchase keyed by a placeholder) whose
  text names one of her e-mails or phones, however it spells them (a till that typed her
  e-mail into the card field), where such lines are kept under no owner: the store's source
  table and MongoDB collections (a folder's are found by the erasure's rewrite of its files).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from membergraph.connectors.lines import NOBODY
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteSource
from membergraph.gateway_parts import Gateway
from membergraph.identity.line_records import record_of_line
from membergraph.identity.normalize import (
    BadIdentifier,
    IdentifierKind,
    email_match_key,
    normalize_email,
    normalize_phone,
)
from membergraph.identity.records import RecordKey
from membergraph.masking import PHONE_IN_TEXT
from membergraph.privacy.subject import Subject, identifying

__all__ = ["Beyond", "lines_beyond", "line_ids", "lines_of"]

Lines = dict[SourceName, list[Any]]


@dataclass(slots=True)
class Beyond:
    """Her lines outside her member's records, by source (see the module)."""

    elsewhere: Lines = field(default_factory=dict)
    shared: Lines = field(default_factory=dict)
    nobodys: Lines = field(default_factory=dict)


async def lines_beyond(gateway: Gateway, subject: Subject, elsewhere: bool = True) -> Beyond:
    """Her lines outside her member (``elsewhere`` too unless told not: the erasure takes
    those records whole, with the rest of hers)."""
    region = gateway.settings.default_region
    named = _named(subject, region)
    found = Beyond()
    if elsewhere:
        found.elsewhere = await _owned_by(gateway, subject.elsewhere, lambda _s, _l: True)

    def hers(name: SourceName, line: Any) -> bool:
        record = record_of_line(name, line, region)
        if record is not None and identifying(record.identifiers) & subject.theirs:
            return True
        return named.in_text(line.model_dump_json())

    found.shared = await _owned_by(gateway, subject.shared, hers)
    if named:
        from membergraph.connectors.mongodb import MongoSource

        for name, connector in gateway.sources.items():
            if isinstance(connector, SqliteSource | MongoSource):
                lines = await _loaded(connector, [NOBODY])
                kept = [line for line in lines if named.in_text(line.model_dump_json())]
                if kept:
                    found.nobodys[name] = kept
    return found


async def lines_of(gateway: Gateway, refs: Iterable[RecordKey]) -> Lines:
    """Every line the records ``refs`` own, by source."""
    return await _owned_by(gateway, refs, lambda _s, _l: True)


def line_ids(name: SourceName, lines: Iterable[Any]) -> list[str]:
    """The ids of a source's lines, sorted."""
    id_field = SOURCES[name].id_field
    return sorted(str(getattr(line, id_field)) for line in lines)


async def _owned_by(gateway: Gateway, refs: Iterable[RecordKey], keep: Any) -> Lines:
    keys: dict[SourceName, set[str]] = {}
    for source, key in refs:
        keys.setdefault(SourceName(source), set()).add(key)
    found: Lines = {}
    for name, wanted in keys.items():
        connector = gateway.sources.get(name)
        if connector is not None:
            lines = [line for line in await _loaded(connector, sorted(wanted)) if keep(name, line)]
            if lines:
                found[name] = lines
    return found


async def _loaded(connector: Any, keys: list[str]) -> list[Any]:
    lines: list[Any] = []
    for owned in await connector.load_many(keys):
        if isinstance(owned, Exception):
            raise owned
        lines += owned
    return lines


# An e-mail or a phone as a line's text may hold it (in a JSON string: no quotes in it).
# Tried only where a run starts (the lookbehind), else quadratic in a long run's length.
_EMAIL_IN = re.compile(
    r"(?<![^\s\"'<>(),;:\[\]{}@])[^\s\"'<>(),;:\[\]{}@]+@[^\s\"'<>(),;:\[\]{}@]+"
)


@dataclass(frozen=True, slots=True)
class _Named:
    """Her e-mails and phones by their matching keys, found in a line's text however it
    spells them: ``tess.tagger+shop@fastmail.com`` is her ``tess.tagger@fastmail.com``,
    ``Jane.Doe@gmail.com`` her ``janedoe@gmail.com``, ``(415) 555-0199`` her
    ``+14155550199`` (a text holding only the keys' spelling would miss them all)."""

    emails: frozenset[str]
    phones: frozenset[str]
    region: str

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones)

    def in_text(self, text: str) -> bool:
        if self.emails and "@" in text:
            for found in _EMAIL_IN.findall(text):
                try:
                    if email_match_key(normalize_email(found)) in self.emails:
                        return True
                except BadIdentifier:
                    continue
        if self.phones:
            for found in PHONE_IN_TEXT.findall(text):
                try:
                    if normalize_phone(found, self.region) in self.phones:
                        return True
                except BadIdentifier:
                    continue
        return False


def _named(subject: Subject, region: str) -> _Named:
    """Her e-mails and phones, to find in a line's text."""
    keys = {kind: frozenset(k for c, k in subject.theirs if c is kind) for kind in IdentifierKind}
    return _Named(keys[IdentifierKind.EMAIL], keys[IdentifierKind.PHONE], region)
