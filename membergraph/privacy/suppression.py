"""Suppressed identifiers: kept only as keyed hashes, refused at ingest, reachable nowhere.

An identifier is suppressed by its matching key (what records are matched on: an e-mail
trimmed, lower-cased and with Gmail's dots folded, a phone in E.164, a card upper-cased), so
every way of writing it is suppressed at once. The store keeps
``HMAC-SHA256(secret, kind + key)`` and nothing else: a suppression list stolen without
the secret names no one, and the gateway can still tell a new line carrying the value.

Under the key the settings give (:mod:`~membergraph.privacy.keys`): new suppressions are
made under the current key, each naming the key's check; a line is checked under former keys
too (a rotated secret's), and ``unsuppress`` lifts a suppression under any of them.

A hash cannot be keyed again when a release changes matching keys, so a value is checked
under the keys of earlier releases too: before store format 4 an e-mail kept its ``+tag``
outside Gmail (``tess+shop@fastmail.com`` was its own key, now ``tess@fastmail.com``), and
an erased person's tagged address, suppressed then, must stay refused after the upgrade;
before format 6 an internationalized domain was kept as typed, and the punycode a browser
sends (``jöhn@xn--exmple-cua.com``, now ``jöhn@exämple.com``) was a key of its own. A
spelling today's value cannot tell (a full-width ``ann@ｘ.com`` from an input method, now
``ann@x.com``) is checked from the line as typed: a record made from lines carries those keys
(``RecordData.typed_keys``), and ``unsuppress`` of the value so typed lifts it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import idna
import orjson
from pydantic import BaseModel

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.identity.normalize import IdentifierKind, normalize
from membergraph.identity.records import Identifier, RecordData, identifier_key, typed_email_keys
from membergraph.privacy.keys import PrivacyKeys
from membergraph.privacy.port import PrivacyStore, Suppression

__all__ = ["ERASED_LINE", "SUPPRESSIBLE", "Suppressor"]

ERASED_LINE = "line"
"""The kind of a suppression that remembers a line an erasure removed (its keyed hash)."""

SUPPRESSIBLE = frozenset({IdentifierKind.EMAIL, IdentifierKind.PHONE, IdentifierKind.LOYALTY_ID})
"""What a person may ask to suppress (an erasure suppresses every identifier it removes)."""


class Suppressor:
    """Suppresses identifiers and tells which records carry a suppressed one."""

    def __init__(self, store: PrivacyStore, keys: PrivacyKeys, region: str = "US") -> None:
        self.store = store
        self.keys = keys
        self._secret = keys.current
        self.region = region

    def digest(self, kind: IdentifierKind, key: str, secret: bytes | None = None) -> str:
        """The keyed hash an identifier (by its matching key) is kept as (under the current
        key, or ``secret``)."""
        message = f"{kind.value}\x00{key}".encode()
        return hmac.new(secret or self._secret, message, hashlib.sha256).hexdigest()

    def _every_digest(self, kind: IdentifierKind, key: str) -> tuple[str, ...]:
        """Its digests under the current key and every former one still checked."""
        return tuple(self.digest(kind, key, secret) for secret in self.keys.every)

    def pseudonym(self, line_id: str) -> str:
        """A stable stand-in for a line id that must not lead back to its line (a purchase
        kept for the books after its buyer was erased)."""
        message = f"line\x00{line_id}".encode()
        return "erased-" + hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:24]

    def line_digests(self, source: str, line: BaseModel) -> tuple[str, ...]:
        """The digests a line an erasure removed is remembered by (its source, id and
        content), under every key still checked: a copy of the folder loaded again must not
        bring back a line of hers that carries no identifier of hers (a cash sale whose note
        names her e-mail), nor a purchase beside the copy kept of it for the books. By its
        content too: a new line under an id a source gives again (a call-center tool
        numbering calls anew) is someone else's."""
        message = _line_message(source, line)
        return tuple(hmac.new(s, message, hashlib.sha256).hexdigest() for s in self.keys.every)

    async def suppress_lines(
        self, source: str, lines: Iterable[BaseModel], actor: str, reason: str
    ) -> int:
        """Remember the lines of ``source`` an erasure removed (keyed hashes only): a load
        or a push of the same line again leaves it out as ``suppressed``; how many were new."""
        at, check, kind = datetime.now(UTC), self.keys.check, ERASED_LINE
        entries = {
            d: Suppression(d, kind, actor, at, reason, check)
            for d in (self.line_digests(source, line)[0] for line in lines)
        }
        return await self.store.suppress(list(entries.values())) if entries else 0

    def key_of(self, kind: IdentifierKind, value: str) -> str:
        """The matching key of a value as written (raises ``BadIdentifier``)."""
        return identifier_key(kind, normalize(kind, value, self.region))

    async def suppress(
        self,
        identifiers: Iterable[tuple[IdentifierKind, str]],
        actor: str,
        reason: str | None = None,
    ) -> int:
        """Suppress ``(kind, matching key)`` pairs; how many were new."""
        at = datetime.now(UTC)
        check = self.keys.check
        entries = {
            self.digest(kind, key): Suppression(
                self.digest(kind, key), kind.value, actor, at, reason, check
            )
            for kind, key in identifiers
        }
        return await self.store.suppress(list(entries.values()))

    async def unsuppress(
        self, kind: IdentifierKind, key: str, value: str | None = None, typed: str | None = None
    ) -> bool:
        """Lift a suppression of ``key``, under any key still checked; with the normalized
        ``value`` (and the value as ``typed``), one an earlier release made of it under its
        own key too."""
        digests = self._every_digest(kind, key)
        for legacy in () if value is None else _legacy_keys(kind, key, value):
            digests += self._every_digest(kind, legacy)
        if kind is IdentifierKind.EMAIL:
            for legacy in typed_email_keys([typed]):
                digests += self._every_digest(kind, legacy)
        lifted = False
        for digest in digests:
            lifted = await self.store.unsuppress(digest) or lifted
        return lifted

    async def any_suppressed(self, identifiers: Iterable[Identifier]) -> bool:
        digests = {d for i in identifiers for d in self.digests_of(i)}
        return bool(await self.store.suppressed(digests))

    def digests_of(self, identifier: Identifier) -> tuple[str, ...]:
        """The digests an identifier is suppressed under, under every key still checked: its
        key's, and the keys earlier releases matched it on when they differ (a tagged
        e-mail's, an internationalized domain's punycode)."""
        digests = self._every_digest(identifier.kind, identifier.key)
        for legacy in _legacy_keys(identifier.kind, identifier.key, identifier.value):
            digests += self._every_digest(identifier.kind, legacy)
        return digests

    def digests(self, record: RecordData | None) -> frozenset[str]:
        """The digests of what a record (of a line) carries: what to check it against. With
        the keys an older release matched its e-mails on as typed, which their values no
        longer tell (a full-width ``ann@ｘ.com`` is ``ann@x.com`` since format 6)."""
        if record is None:
            return frozenset()
        found = {d for i in record.identifiers for d in self.digests_of(i)}
        for typed in record.typed_keys:
            found.update(self._every_digest(IdentifierKind.EMAIL, typed))
        return frozenset(found)

    async def refused(
        self,
        records: Sequence[RecordData | None],
        lines: Sequence[tuple[str, BaseModel]] | None = None,
    ) -> list[bool]:
        """For each record (of a line), whether it carries a suppressed identifier; given
        each one's line as ``(source, line)``, or whether an erasure removed that line."""
        digests = [self.digests(r) for r in records]
        if lines is not None:
            digests = [
                d | set(self.line_digests(*line)) for d, line in zip(digests, lines, strict=True)
            ]
        found = await self.store.suppressed(set().union(*digests)) if digests else set()
        return [bool(d & found) for d in digests]


def _line_message(source: str, line: BaseModel) -> bytes:
    """What a line is remembered by: its source, id and content as its model reads it (so
    the folder's spelling and the store's render of one line are one)."""
    line_id = getattr(line, SOURCES[SourceName(source)].id_field)
    content = orjson.dumps(line.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return f"{ERASED_LINE}\x00{source}\x00{line_id}\x00".encode() + hashlib.sha256(content).digest()


_GMAIL = ("@gmail.com", "@googlemail.com")


def _legacy_keys(kind: IdentifierKind, key: str, value: str) -> tuple[str, ...]:
    """The keys releases before store format 6 matched a normalized value on, other than
    ``key``: before format 4 an e-mail's ``+tag`` was left out on Gmail only (the value was
    its key); before format 6 a domain was kept as typed, so the punycode spelling of an
    internationalized one (what a browser's e-mail input sends) was a key of its own."""
    if kind is not IdentifierKind.EMAIL:
        return ()
    keys = {key}
    if value != key and not value.endswith(_GMAIL):
        keys.add(value)
    if not key.rpartition("@")[2].isascii() or "xn--" in key:
        keys |= {spelled for k in keys for spelled in _domain_spellings(k)}
    keys.discard(key)
    return tuple(sorted(keys))


def _domain_spellings(email: str) -> tuple[str, ...]:
    """``email`` with its internationalized domain all in punycode and all in Unicode: the
    two ways a release before format 6 kept it as typed (format 6 keeps Latin labels in
    Unicode, others in punycode)."""
    local, _, domain = email.rpartition("@")
    try:
        return (
            f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}",
            f"{local}@{idna.decode(domain, uts46=True)}",
        )
    except (idna.IDNAError, UnicodeError):  # (not a domain this release keeps: no key of its)
        return ()
