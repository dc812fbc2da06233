"""Value tags: what a cached lookup by an identifier is dropped by.

An answer of ``memberByIdentifier`` depends on which member the value finds, not only on
that member: another member's contact taking the e-mail, a merge or split moving a card, a
value suppressed or lifted may make the same lookup find someone else, and no change to
the member found says so. So the answer is tagged with its value's tag beside the members
it read, and every change that may move a value's owner (an ingested line, a record that
changed member, a suppression) carries the tags of the values it touched in its feed entry
(:attr:`~membergraph.identity.feed.FeedEntry.value_tags`): both levels of the response
cache drop an answer by either.

A tag is a digest of the identifier's kind and match key, never the value: the feed and the
kept answers hold no one's e-mail. It is not keyed: someone who reads the feed and guesses a
value can tell a change touched it, as someone who reads the store's identifiers can tell it
anyway; an erasure deletes the entries naming the erased member, their tags with them. Eight
bytes: a collision drops an answer more, never one less.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData

__all__ = ["TAG_PREFIX", "record_tags", "value_tag"]

TAG_PREFIX = "v:"
"""What starts a value tag: member IDs never do (``m_...``), so both share one set of tags."""


def value_tag(kind: IdentifierKind, key: str) -> str:
    """The tag of an identifier value (its kind and match key, as the store looks it up)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"mg-value-tag")
    digest.update(b"\0" + kind.value.encode())
    return TAG_PREFIX + digest.hexdigest()


def record_tags(records: Iterable[RecordData]) -> tuple[str, ...]:
    """The tags of every value ``records`` carry, sorted, each once."""
    return tuple(sorted({value_tag(i.kind, i.key) for r in records for i in r.identifiers}))
