"""An erasure's ``sources`` step: the person's lines leave every source the gateway owns.

Her records' lines go from each source (a purchase stays for the books without what
identifies the buyer; a source read over HTTP is asked on the feed instead); then her lines
in records she shares with someone else (a family computer's visitor), the lines kept for no
one that name her e-mail or phone (a till that typed it into the card field), and the folder
the embedded store was loaded from, rewritten without them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteSource
from membergraph.identity.normalize import (
    BadIdentifier,
    IdentifierKind,
    email_match_key,
    normalize_email,
    normalize_phone,
)
from membergraph.identity.records import record_of_line
from membergraph.masking import PHONE_IN_TEXT
from membergraph.privacy import Privacy
from membergraph.privacy.port import Erasure, PrivacyRequest
from membergraph.privacy.sources import (
    NOBODY,
    compact_folder,
    erase_lines,
    erase_source,
    her_lines,
)
from membergraph.privacy.subject import Subject, identifying
from membergraph.resolvers.context import Gateway

__all__ = ["SourcesStep"]


class SourcesStep:
    """The ``sources`` step of one erasure service (idempotent: a retry finds what is left)."""

    def __init__(self, gateway: Gateway, privacy: Privacy, folder: Path | None) -> None:
        self.gateway = gateway
        self.privacy = privacy
        self.folder = folder  # the folder the embedded store was loaded from, if any

    async def run(self, request: PrivacyRequest, subject: Subject | None) -> None:
        """Her lines leave every source; the counts go on ``request``."""
        if subject is None:
            return
        owners = subject.owners()
        pseudonym = self.privacy.suppressor.pseudonym
        for name, connector in self.gateway.sources.items():
            if not owners.get(name):
                continue
            erased = await erase_source(connector, owners[name], pseudonym)
            if erased.forwarded and name.value not in request.forwarded:
                request.forwarded.append(name.value)  # asked on the feed, after the identity
            request.sources.setdefault(name.value, "requested" if erased.forwarded else "deleted")
            request.counts["lines"] = request.counts.get("lines", 0) + len(erased.lines)
            per_source = f"lines_{name.value}"  # what went where, for the report
            request.counts[per_source] = request.counts.get(per_source, 0) + len(erased.lines)
            request.counts["kept_for_books"] = (
                request.counts.get("kept_for_books", 0) + erased.kept_for_books
            )
        for name, copy in self.gateway.synced.items():
            # An HTTP source's lines that `membergraph sync` keeps in the store: ours to erase
            # (the API itself was asked above, on the feed).
            if owners.get(name):
                erased = await erase_source(copy, owners[name], pseudonym)
                request.counts["lines"] = request.counts.get("lines", 0) + len(erased.lines)
                synced = f"lines_{name.value}_synced"
                request.counts[synced] = request.counts.get(synced, 0) + len(erased.lines)
        request.counts["forwarded"] = len(request.forwarded)
        named = _named(subject, self.gateway.settings.default_region)
        shared = await self._shared_lines(subject, named)
        for name, ids in shared.items():
            erased = await erase_lines(self.gateway.sources[name], ids)
            request.counts["lines_shared"] = request.counts.get("lines_shared", 0) + len(
                erased.lines
            )
            # Their feed entries name the device's member, not hers: they go now.
            gone = tuple((name.value, line_id) for line_id in erased.lines)
            await self.privacy.store.erase_identity(Erasure((), (), gone, ()), datetime.now(UTC))
        nobodys = await self._nobodys_lines(named)
        for name, ids in nobodys.items():
            erased = await erase_lines(self.gateway.sources[name], ids, pseudonym)
            request.counts["lines_nobodys"] = request.counts.get("lines_nobodys", 0) + len(
                erased.lines
            )
            request.counts["kept_for_books"] = (
                request.counts.get("kept_for_books", 0) + erased.kept_for_books
            )
        for name, ids in nobodys.items():
            shared[name] = [*shared.get(name, []), *ids]
        await self._compact_folder(owners, shared)

    async def _shared_lines(self, subject: Subject, named: _Named) -> dict[SourceName, list[str]]:
        """Her lines in the records she shares (a visitor that also logged in as someone
        else): those whose identifying values are hers, and those whose text names one of
        her e-mails or phones (an anonymous page event noting her address)."""
        region = self.gateway.settings.default_region
        keys: dict[SourceName, set[str]] = {}
        for source, key in subject.shared:
            keys.setdefault(SourceName(source), set()).add(key)
        found: dict[SourceName, list[str]] = {}
        for name, wanted in keys.items():
            connector = self.gateway.sources.get(name)
            if connector is None:
                continue

            def hers(line: Any, name: SourceName = name) -> bool:
                record = record_of_line(name, line, region)
                if record is not None and identifying(record.identifiers) & subject.theirs:
                    return True
                return named.in_text(line.model_dump_json())

            found[name] = await her_lines(connector, wanted, hers)
        return found

    async def _nobodys_lines(self, named: _Named) -> dict[SourceName, list[str]]:
        """The lines kept for no one (a cash sale, a purchase keyed by a placeholder) whose
        text names one of her e-mails or phones: a till that typed her e-mail into the card
        field made a line that is nobody's, and holds her address all the same."""
        from membergraph.connectors.mongodb import MongoSource

        found: dict[SourceName, list[str]] = {}
        for name, connector in self.gateway.sources.items():
            # Only where nobody's lines are kept under no owner: the store's source table and
            # MongoDB collections (a folder's are found by the folder's rewrite below).
            if not named or not isinstance(connector, SqliteSource | MongoSource):
                continue

            def hers(line: Any) -> bool:
                return named.in_text(line.model_dump_json())

            ids = await her_lines(connector, {NOBODY}, hers)
            if ids:
                found[name] = ids
        return found

    async def _compact_folder(
        self, owners: dict[SourceName, set[str]], shared: dict[SourceName, list[str]]
    ) -> None:
        folder = self.folder
        if folder is None or not folder.is_dir():
            return
        owner_of: dict[SourceName, Callable[[BaseModel], str | None]] = {}
        table = None
        for name in SOURCES:
            connector = self.gateway.sources.get(name)
            if connector is not None and hasattr(connector, "owner"):
                owner_of[name] = connector.owner
            if isinstance(connector, SqliteSource):
                table = connector.lines
        suppressor = self.privacy.suppressor
        ids = {name: set(found) for name, found in shared.items()}
        _, fingerprint = await compact_folder(
            folder, owners, owner_of, suppressor.pseudonym, suppressor.region, ids
        )
        if table is not None and await table.meta("folder") is not None:
            await table.set_meta("folder", fingerprint)  # loaded as it is now: not again


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
