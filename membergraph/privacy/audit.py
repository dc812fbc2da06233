"""Who read what: every answer that unmasked a member's personal data is recorded.

During a request, each personal field answered unmasked (``pii:read``) is noted against the
member it belongs to (:meth:`PiiReads.note`, called by the schema's masking); once the
operation is over one entry per member read is appended to the store's audit: actor, member,
fields, time, request id. A masked answer notes nothing, so writes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from membergraph.auth import actor_name, caller_of
from membergraph.logs import REQUEST_ID
from membergraph.privacy import privacy_of
from membergraph.privacy.port import AccessEntry

__all__ = ["PiiReads", "record_reads", "upkeep"]

logger = logging.getLogger(__name__)

Path = tuple[str | int, ...]


def path_of(path: Any) -> Path:
    """A GraphQL path (linked ``key``/``prev``) as a tuple, root first."""
    keys: list[str | int] = []
    while path is not None:
        keys.append(path.key)
        path = path.prev
    return tuple(reversed(keys))


@dataclass(slots=True)
class PiiReads:
    """One request's unmasked reads: which member sits where, and what was read of whom."""

    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    enabled: bool = False  # the caller may read personal data: worth noting where members are
    members_at: dict[Path, tuple[str, ...]] = field(default_factory=dict)
    read: dict[str, set[str]] = field(default_factory=dict)

    def member_at(self, path: Path, member_ids: tuple[str, ...]) -> None:
        """The member object at ``path`` (seen by each of its fields), whose personal values
        are those of ``member_ids``: its own, or for a steward's dry run the members as they
        are whose records it would hold."""
        self.members_at[path] = member_ids

    def concerns_at(self, path: Path, member_ids: tuple[str, ...]) -> None:
        """An object at ``path`` outside any member (a match suggestion, an identity conflict)
        whose personal values are those of ``member_ids``; under a member, that member's."""
        if member_ids and not any(path[:end] in self.members_at for end in range(len(path))):
            self.members_at[path] = member_ids

    def note(self, path: Any, field_name: str) -> None:
        """A personal field at ``path`` was answered unmasked."""
        keys = path_of(path)
        for end in range(len(keys) - 1, 0, -1):
            members = self.members_at.get(keys[:end])
            if members is not None:
                named = ".".join(k for k in keys[end:] if isinstance(k, str))
                for member in members:
                    self.read.setdefault(member, set()).add(named or field_name)
                return

    @classmethod
    def for_request(cls, request: Any) -> PiiReads:
        # The id the access log and the response header carry (observability's middleware).
        reads = cls(request_id=REQUEST_ID.get() or uuid.uuid4().hex)
        reads.enabled = caller_of(request).can("pii:read")
        return reads

    def entries(self, actor: str) -> list[AccessEntry]:
        at = datetime.now(UTC)
        return [
            AccessEntry(member, actor, tuple(sorted(fields)), at, self.request_id)
            for member, fields in sorted(self.read.items())
        ]


async def record_reads(context: Any) -> None:
    """Append the unmasked reads noted so far to the audit (one entry per member), and
    start noting afresh (a subscription records each change it pushes)."""
    reads: PiiReads | None = getattr(context, "pii_reads", None)
    if reads is None or not reads.read:
        return
    actor = actor_name(getattr(context, "request", None))
    privacy = await privacy_of(context.gateway)
    entries = reads.entries(actor)
    reads.read.clear()
    await privacy.store.record_access(entries)


async def upkeep(gateway: Any, every_s: float = 60, prune_every: int = 60) -> None:
    """Every minute, retry unfinished privacy requests (one a process was killed in the
    middle of, once its lease ran out; one that waited for a push); hourly, drop audit
    entries past their retention."""
    from membergraph.privacy.erasure import erasure_of

    for turn in itertools.count():
        try:
            privacy = await privacy_of(gateway)
            if turn % prune_every == 0:
                keep = timedelta(days=gateway.settings.pii_access_retention_days)
                await privacy.store.prune_access(datetime.now(UTC) - keep)
            await (await erasure_of(gateway)).retry_unfinished()
        except Exception as exc:  # the store is down: the next turn
            logger.warning("privacy upkeep failed: %s", exc)
        await asyncio.sleep(every_s)


async def resume_erasures(gateway: Any) -> None:
    """At start, before the gateway answers: finish the erasures a killed process left
    unfinished (its lease is taken over at once, :mod:`.lease`), so no answer serves a
    person who asked to be forgotten while hers waits for the next minute's retry. One
    another live process runs is waited for, as long as an erasure is (half a request's
    time budget); the store down: said, and left to :func:`upkeep`."""
    from membergraph.privacy.erasure import erasure_of

    try:
        erasure = await erasure_of(gateway)
        for request in await erasure.retry_unfinished(wait=erasure.busy_wait):
            logger.warning("erasure %s resumed at start: %s", request.id, request.state)
    except Exception as exc:
        logger.warning("unfinished erasures not resumed at start: %s", exc)
