"""The response cache at ``/graphql``'s HTTP edge: the key from the request, a hit answered
before any GraphQL work, a miss kept once answered, ETags and 304 on GET."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membergraph.asgi_headers import header
from membergraph.http_rules import GRAPHQL_RESPONSE, decode_json, wants_graphql_response
from membergraph.identity.feed import FeedFollower
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.records import identifier_key
from membergraph.identity.store.answers import NOT_HERE, StoredAnswer
from membergraph.persisted import PersistedQueries, PersistedQueryError
from membergraph.resolvers.context import Reads
from membergraph.response_cache.plan import NEITHER, Plan, plan
from membergraph.response_cache.store import Entry, Key, ResponseCache, etag_of
from membergraph.response_cache.stored import StoredLevel, stored_key
from membergraph.settings import Settings

__all__ = [
    "HttpResponseCache",
    "ResponseCacheMiddleware",
    "Ticket",
    "http_response_cache",
]


@dataclass(slots=True)
class Ticket:
    """One request on its way through the view, as the cache sees it."""

    key: Key | None
    since: int
    plan: Plan
    reads: Reads = field(default_factory=Reads)
    stored: bytes | None = None  # its key in the store's answers (None: not kept there)
    cursor: int = 0  # the feed cursor its reads begin after
    began: float = 0.0  # when its reads began (Unix time): the request's instant


class HttpResponseCache:
    """The response cache at ``/graphql``'s HTTP edge: the key from the request, a hit
    answered before any GraphQL work, a miss kept once answered, ETag on GET."""

    STATE = "response_cache"  # the request's ticket, in the ASGI scope's state
    REFRESH = "response_cache_refresh"
    """Set true in the ASGI scope's state by a warm (:mod:`.warm`), or for a read after a
    feed position not reached in time (:mod:`membergraph.read_after`): the request is
    answered afresh, never from either level, and kept as any miss is."""

    def __init__(
        self,
        cache: ResponseCache,
        schema: GraphQLSchema,
        private: bool,
        persisted: PersistedQueries | None = None,
        region: str = "US",
    ) -> None:
        self.cache = cache
        self.region = region
        """Where phone numbers without a country code are read (as the lookups read them)."""
        self.schema = schema
        self.persisted = persisted or PersistedQueries()
        self.cache_control = "private, no-cache" if private else "no-cache"
        self.follower: FeedFollower | None = None
        self.stored: StoredLevel | None = None
        """The second level, in the store (None: off, or the store keeps none)."""
        self._stored_seen: dict[int, None] = {}  # requests the store answered lately
        self.remaker: Any = None
        """What makes again the warm queries' answers a change dropped (:mod:`.remake`)."""
        self.clock: Callable[[], float] = time.time
        """The wall clock (Unix time): a request's instant, what its figures are as of
        (without a reference date), and when a kept answer stops being true."""

    def follow(self, follower: FeedFollower | None) -> None:
        """Keep answers true by ``follower``'s change feed from now on (None: the feed is
        closed; nothing is served from the cache until another follows it)."""
        if follower is not None:
            follower.listeners.append(self.cache.follow)
            if self.stored is not None:
                follower.listeners.append(self.stored.follow)
        self.follower = follower

    def _following(self) -> FeedFollower | None:
        """The follower when it read the feed lately (else the cache is not used)."""
        follower = self.follower
        if follower is None or not follower.reading_within(max(1.0, 5 * follower.interval)):
            return None
        return follower

    def look_up(self, scope: Scope, body: bytes) -> ASGIApp | None:
        """The cached answer to the request ``scope`` and ``body`` (a POST's) ask for, or
        None (then the request's ticket is in the scope's state)."""
        method = scope["method"]
        wants_spec = wants_graphql_response(header(scope, b"accept") or "")
        payload = body if method == "POST" else scope["query_string"]
        key: Key | None = None
        state = scope.setdefault("state", {})
        caller = state.get("caller")
        scopes: frozenset[str] = getattr(caller, "scopes", frozenset())
        # Unmasked answers are not kept: the audit of who read personal data sees each read.
        unmasked = "pii:read" in scopes
        kept = not unmasked and self.cache.max_entries > 0
        if kept and self._following() is None:
            self.cache.lagging += 1  # the feed not read lately: answered afresh, not kept
            kept = False
        if kept and state.get(self.REFRESH):
            kept = False  # a warm's: for the store's answers (a client never sends its bytes)
        if kept:
            key = (scopes, getattr(caller, "member_id", None), wants_spec, method, payload)
            entry = self.cache.get(key, self.clock)
            if entry is not None and method == "POST":
                return _Kept(entry)  # the hot path: nothing built but two ASGI messages
            if entry is not None:
                return self._answer(Request(scope), entry.body, entry.media_type, entry.etag)
        ticket = Ticket(key, self.cache.generation, NEITHER)
        ticket.cursor = self.follower.position if self.follower is not None else 0
        ticket.began = ticket.reads.at = self.clock()
        self._plan(scope, payload, ticket, _NOBODY if unmasked else caller)
        state[self.STATE] = ticket
        return None

    def _plan(self, scope: Scope, payload: bytes, ticket: Ticket, caller: Any) -> None:
        """The request's plan, and its key among the store's answers when they may keep it
        (``caller``: :data:`_NOBODY` when they may not); one the view will refuse is neither
        a change nor kept."""
        try:
            post = scope["method"] == "POST"
            data = decode_json(payload) if post else dict(Request(scope).query_params)
            if not isinstance(data, dict):
                return
            extensions = data.get("extensions")
            if isinstance(extensions, str):  # GET: JSON in the query string
                extensions = decode_json(extensions)
            if not (extensions is None or isinstance(extensions, dict)):
                return
            query = self.persisted.query_for(data.get("query"), extensions)
            variables = data.get("variables")
            if isinstance(variables, str):  # GET
                variables = decode_json(variables)
        except (ValueError, PersistedQueryError):
            return
        name = data.get("operationName")
        if not isinstance(query, str) or not (name is None or isinstance(name, str)):
            return
        ticket.plan = found = plan(self.schema, query, name)
        if (
            found.cacheable
            and self.stored is not None
            and caller is not _NOBODY
            and (variables is None or isinstance(variables, dict))
        ):
            if found.by_match_key and found.looks_up is not None and variables:
                variables = self._by_match_key(variables, found.looks_up)
            scopes: frozenset[str] = getattr(caller, "scopes", frozenset())
            bound = getattr(caller, "member_id", None)
            ticket.stored = stored_key(
                scopes, bound, query, found.name, variables, found.variables, self.stored.made_by
            )

    def _by_match_key(
        self, variables: dict[str, Any], looks_up: tuple[str, str | None, str]
    ) -> dict[str, Any]:
        """``variables`` with the lookup's value as the lookup matches it (normalized as at
        ingestion, then its match key): the store keeps one answer for every spelling of an
        identifier, and a warm's (made from the values as the store holds them) answers a
        client that sends ``" Jane@X.org"``. A value that is no identifier stays as sent
        (its answer is an error: not kept)."""
        _, kind, variable = looks_up
        value = variables.get(variable)
        if not isinstance(value, str) or kind not in _KINDS:
            return variables
        try:
            key = identifier_key(_KINDS[kind], normalize(_KINDS[kind], value, self.region))
        except BadIdentifier:
            return variables
        return {**variables, variable: key}

    def _again(self, key: Key) -> bool:
        """Whether the store answered ``key`` lately (it is remembered now if not)."""
        said = hash(key)
        seen = self._stored_seen
        if said in seen:
            del seen[said]
            return True
        seen[said] = None
        if len(seen) > _SEEN:
            del seen[next(iter(seen))]
        return False

    async def look_up_stored(self, scope: Scope) -> ASGIApp | None:
        """The answer the store keeps for the request :meth:`look_up` missed, or None."""
        state = scope.get("state", {})
        ticket, stored = state.get(self.STATE), self.stored
        if stored is None or not isinstance(ticket, Ticket) or ticket.stored is None:
            return None
        if state.get(self.REFRESH):
            return None  # a warm's: made again, so the answer kept lives a TTL from now
        found = stored.read_here(ticket.stored)
        if found is NOT_HERE:
            found = await stored.read(ticket.stored)
        if not isinstance(found, StoredAnswer):
            return None
        wants_spec = wants_graphql_response(header(scope, b"accept") or "")
        media_type = GRAPHQL_RESPONSE if wants_spec else "application/json"
        entry = None
        # The first level keeps a request the store answered twice lately (a hot member's):
        # one asked once, as most are, would only push the hot ones out of it.
        if ticket.key is not None and self._again(ticket.key):
            moment, wall = found.expires, stored.clock  # (no longer than the store keeps it)
            entry = self.cache.put(
                ticket.key, found.body, media_type, found.members, ticket.since, moment, wall
            )
        if entry is None:
            etag = etag_of(found.body, media_type)
            entry = Entry(found.body, media_type, etag, frozenset(found.members), 0, 0)
        if scope["method"] == "POST":
            return _Kept(entry)
        return self._answer(Request(scope), entry.body, entry.media_type, entry.etag)

    @classmethod
    def reads_of(cls, request: Any) -> Reads | None:
        """The recorder of what the request's resolvers read (for its context)."""
        ticket = getattr(request, "scope", {}).get("state", {}).get(cls.STATE)
        return ticket.reads if isinstance(ticket, Ticket) else None

    async def keep(self, request: Request, response: Response) -> Response:
        """After the view answered: keep the answer if it may be kept, catch up with the
        feed after a change (so this process's caches know before the client does)."""
        state = request.scope.get("state", {})
        ticket = state.get(self.STATE)
        if not isinstance(ticket, Ticket):
            return response
        if ticket.plan.mutation and (follower := self.follower) is not None:
            await follower.catch_up()
        body = bytes(response.body) if response.status_code == 200 else b""
        if not body:
            return response
        etag = None
        media_type = response.headers.get("content-type", "application/json")
        reads = ticket.reads
        if (
            ticket.key is not None
            and ticket.plan.cacheable
            and not reads.untagged
            and b'"errors"' not in body  # a partial answer (a source down) is not kept
        ):
            kept = self.cache.put(
                ticket.key, body, media_type, reads.members, ticket.since, reads.until, self.clock
            )
            etag = kept.etag if kept else None
        if (
            ticket.stored is not None
            and self.stored is not None
            and ticket.plan.cacheable
            and ticket.reads.members
            and not ticket.reads.untagged
            and b'"errors"' not in body
        ):
            self.stored.keep_later(
                ticket.stored,
                body,
                reads.members,
                ticket.cursor,
                ticket.began,
                reads.until,
                spread=bool(state.get(self.REFRESH)),  # a warm's, or the re-maker's
            )
        if request.method != "GET":
            return response
        if etag is None:
            etag = etag_of(body, media_type)
        return self._answer(request, body, media_type, etag, response)

    def _answer(
        self,
        request: Request,
        body: bytes,
        media_type: str,
        etag: str,
        response: Response | None = None,
    ) -> Response:
        if request.method != "GET":
            return Response(body, media_type=media_type)
        headers = {"etag": etag, "cache-control": self.cache_control}
        headers["vary"] = "Accept, Authorization, X-API-Key"
        if _matches(",".join(request.headers.getlist("if-none-match")), etag):
            return Response(status_code=304, headers=headers)
        if response is None:
            return Response(body, media_type=media_type, headers=headers)
        response.headers.update(headers)
        return response


_SEEN = 4096  # requests the store answered that the first level remembers
_KINDS = {kind.name: kind for kind in IdentifierKind}  # (as the document writes them)
_NOBODY: Any = object()  # (a caller whose answers the store's answers may not keep)


class _Kept:
    """A kept answer, sent as its two ASGI messages (the middleware may add headers to
    the first, so each answer gets its own list)."""

    __slots__ = ("entry",)

    def __init__(self, entry: Entry) -> None:
        self.entry = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.entry
        headers = list(entry.headers)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})


class ResponseCacheMiddleware:
    """Pure ASGI middleware on ``/graphql``, inside authentication and the GraphQL-over-HTTP
    rules: a kept answer is sent from here, before the router, the view and any GraphQL
    work; a miss goes on with its ticket in the scope's state and its body, read once,
    handed on as it came."""

    def __init__(self, app: ASGIApp, responses: HttpResponseCache, path: str = "/graphql") -> None:
        self.app = app
        self.responses = responses
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        body = await _body(receive) if scope["method"] == "POST" else b""
        hit = self.responses.look_up(scope, body)
        if hit is None and self.responses.stored is not None:
            hit = await self.responses.look_up_stored(scope)
        if hit is not None:
            await hit(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


async def _body(receive: Receive) -> bytes:
    """The request's body.

    Raises:
        ClientDisconnect: the client left before sending it all (nobody to answer), as
            Starlette's ``Request.body`` says it; :mod:`membergraph.request_telemetry`
            counts it.
    """
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as the view expects it: the body read here first, then what follows
    (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match's weak comparison (RFC 9110 13.1.2): ``W/"x"`` matches ``"x"``; the
    header may be sent as several lines, read here joined as one list."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return etag in tags or "*" in tags


def http_response_cache(
    settings: Settings, schema: Any, persisted: PersistedQueries | None = None
) -> HttpResponseCache:
    """The cache of ``/graphql`` as the settings size it (``schema``: Strawberry's;
    ``persisted``: the view's, so a query sent by its hash is planned as its text). It
    serves nothing until it follows the change feed (:meth:`HttpResponseCache.follow`).

    Off (0 entries) when a source is read over HTTP: its API changes without a feed entry.
    """
    entries = 0 if settings.http_sources else settings.response_cache_entries
    cache = ResponseCache(entries, settings.response_cache_bytes, settings.response_cache_ttl_s)
    private = settings.has_credentials
    return HttpResponseCache(cache, schema._schema, private, persisted, settings.default_region)
