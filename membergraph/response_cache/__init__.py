"""A response cache for GraphQL queries, kept true by the change feed.

An answer is kept under what the request said (its method and its bytes: the body of a
POST, the query string of a GET), the media type it was answered in, and what the caller
may see (its scopes and the member a frontend token is bound to): two callers who may see
different things never share an entry, so a masked answer never reaches a ``pii:read``
caller, nor the reverse. It is tagged with the members its resolvers read
(:class:`~membergraph.resolvers.context.Reads`) and, for a lookup, with its value's tag
(:mod:`membergraph.identity.value_tags`: whom the value finds may change with no change to
the member found), and every change-feed entry naming one of them drops it: on the process
that made the change before that change is acknowledged (ingest and mutations catch up with
the feed before they answer), on every other process when its follower next reads the feed.

Three parts: :mod:`.store` (the entries, their tags and bounds), :mod:`.plan` (which
documents may be kept) and :mod:`.http` (the edge of ``/graphql``: keys, hits, ETags).

Only what the feed can invalidate is kept (:func:`plan`): queries whose root fields are
``member`` and ``memberByIdentifier`` and whose member fields read that member's own records
and lines; not an answer that found nobody (a member that appears later would not be
named by the feed as one it read), not one with errors, not one from a source the feed does
not cover (an HTTP API changes without telling us). When the follower has not read the feed
for longer than its lag bound (the store is down), nothing is served from the cache.

Bounded by entries and bytes (least recently used out first) and by age (``loyalty``'s
12-month window moves with the clock).

A second level, off unless ``response_cache_stored_entries`` is set, keeps the same answers
in the store, shared by every process and bounded on disk (:mod:`.stored`): all of the
above holds for it too (it keeps only what the first may keep, under what the caller may
see, and serves an answer only while no feed entry names a member it read, which the store
checks at each read), ``membergraph warm`` makes persisted queries' answers ahead
(:mod:`.warm`), and one process makes again those a change dropped (:mod:`.remake`).
"""

from membergraph.response_cache.http import (
    HttpResponseCache,
    ResponseCacheMiddleware,
    http_response_cache,
)
from membergraph.response_cache.plan import plan
from membergraph.response_cache.remake import RemakeFigures, Remaker, remaker
from membergraph.response_cache.store import CacheFigures, Key, ResponseCache
from membergraph.response_cache.stored import StoredFigures, StoredLevel, stored_level

__all__ = [
    "CacheFigures",
    "HttpResponseCache",
    "Key",
    "RemakeFigures",
    "Remaker",
    "ResponseCache",
    "ResponseCacheMiddleware",
    "StoredFigures",
    "StoredLevel",
    "http_response_cache",
    "plan",
    "remaker",
    "stored_level",
]
