"""Answers made before they are asked: persisted queries asked for every member or
identifier they look up, through the gateway's own app, so each answer is kept in the store
(:mod:`.stored`) as a client's would be, under the key a client asking it will meet.

A query warms when its manifest operation is one the cache may keep and its one root field
looks a member up from a variable: ``member(id: $id)`` (every member's ID) or
``memberByIdentifier(kind: EMAIL, value: $value)`` with the kind written in the document
(every identifier of that kind, as the store holds it normalized). It is asked as the caller
an API key names (what that caller may see is part of the key), or, without credentials, as
the demo's caller.

Each request is handed to the app as an ASGI call (no HTTP client between: its own work per
request was an eighth of a warm's). ``share`` splits a warm between processes
(``membergraph warm --jobs N``): each asks the values whose digest falls to it, so together
they ask each once, whatever order the store lists them in; each writes its own answers
(one per key: a key written twice is replaced, never doubled).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message

from membergraph.identity.normalize import IdentifierKind
from membergraph.response_cache.http import HttpResponseCache
from membergraph.response_cache.plan import plan
from membergraph.response_cache.stored import LIFETIMES
from membergraph.settings import Settings

__all__ = [
    "Asker",
    "Lookup",
    "Share",
    "WarmError",
    "Warmed",
    "credentials",
    "graphql_post_scope",
    "lookups",
    "warm",
]

_PAGE = 500  # members read at a time
_AT_ONCE = 4  # requests in flight


Share = tuple[int, int]
"""``(k, n)``: the ``k``-th of ``n`` processes warming together (``k`` from 0)."""


class WarmError(ValueError):
    """A warm that cannot run, said in words (the command exits 2 with it)."""


@dataclass(frozen=True, slots=True)
class Warmed:
    operation: str
    asked: int
    kept: int  # answers written to the store (the kept ones of any other request included)
    seconds: float
    lifetimes: tuple[int, ...] = ()
    """The answers asked to be kept (one the store found stale too), by how long after
    their request they stop being true
    (:attr:`StoredLevel.lifetimes <.stored.StoredLevel.lifetimes>`)."""


async def warm(
    app: Starlette,
    settings: Settings,
    operations: Sequence[str],
    caller: str | None = None,
    progress: Callable[[str, int], None] | None = None,
    share: Share = (0, 1),
) -> list[Warmed]:
    """Ask each of ``operations`` (manifest operation names) for every value it looks up,
    through ``app`` (made from ``settings``, its lifespan entered), as the caller the API
    key named ``caller`` is; ``share``: only the values that fall to this process of those
    warming together.

    Raises:
        WarmError: the answers are not kept in the store, an operation is not in the
            manifest or does not look a member up from a variable, or no API key is named
            ``caller``.
    """
    responses = app.state.response_cache
    level = responses.stored
    if level is None:
        raise WarmError(
            "answers are not kept in the store: set MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES"
            " (and no source read over HTTP)"
        )
    ask = Asker(app, credentials(settings, caller))
    done = []
    for lookup in lookups(responses, operations):
        name = lookup.name
        began, kept = asyncio.get_running_loop().time(), level.kept
        level.lifetimes = [0] * (len(LIFETIMES) + 2)
        asked = 0
        pending: set[asyncio.Task[None]] = set()
        async for value in _values(app, lookup, share):
            pending.add(asyncio.create_task(ask(lookup.body(value))))
            asked += 1
            level.warmed += 1
            if len(pending) >= _AT_ONCE:
                finished, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    task.result()  # (a refusal stops the warm)
            if progress is not None and asked % 1000 == 0:
                progress(name, asked)
        if pending:
            for task in (await asyncio.wait(pending))[0]:
                task.result()
        await level.flush()
        seconds = asyncio.get_running_loop().time() - began
        done.append(Warmed(name, asked, level.kept - kept, seconds, tuple(level.lifetimes)))
        level.lifetimes = None
    return done


@dataclass(frozen=True, slots=True)
class Lookup:
    """A persisted query that looks one member up from a variable, as a warm asks it."""

    name: str
    query: str
    field: str  # "member" or "memberByIdentifier"
    kind: str | None  # the identifier kind written in the document (memberByIdentifier)
    variable: str
    by_match_key: bool

    def body(self, value: str) -> bytes:
        """The POST body asking it for ``value``."""
        asked = {"query": self.query, "operationName": self.name}
        return orjson.dumps({**asked, "variables": {self.variable: value}})

    async def values(
        self, store: Any, members: Sequence[str], seen: set[str]
    ) -> list[tuple[str, str]]:
        """What it is asked for ``members``: their IDs, or the values of its kind they hold,
        once each (one per match key when its answers are kept by it: ``Jo.E@x.org`` and
        ``joe@x.org`` found by one key are one answer; ``seen``, those asked already, grows),
        each after what makes it once (the ID, the key or the value)."""
        if self.field == "member":
            return [(member_id, member_id) for member_id in members]
        wanted = IdentifierKind(self.kind) if self.kind is not None else None
        found = []
        for identifiers in await store.member_identifiers(members):
            for _, identifier in identifiers:
                once = identifier.key if self.by_match_key else identifier.value
                if identifier.kind == wanted and once not in seen:
                    seen.add(once)
                    found.append((once, identifier.value))
        return found


def lookups(responses: HttpResponseCache, operations: Sequence[str]) -> list[Lookup]:
    """Each of ``operations`` (manifest operation names) as a warm asks it.

    Raises:
        WarmError: an operation is not in the manifest or does not look a member up from a
            variable with fields the cache keeps.
    """
    named = _operations(responses.persisted.manifest)
    found = []
    for name in operations:
        query = named.get(name)
        if query is None:
            known = ", ".join(sorted(named)) or "none"
            raise WarmError(f"no operation {name!r} in the persisted query manifest ({known})")
        planned = plan(responses.schema, query, name)
        if planned.looks_up is None:
            raise WarmError(
                f"{name} does not look one member up from a variable (member(id: $id) or"
                " memberByIdentifier(kind: <KIND>, value: $value)) with fields the cache keeps"
            )
        field, kind, variable = planned.looks_up
        found.append(Lookup(name, query, field, kind, variable, planned.by_match_key))
    return found


def graphql_post_scope(
    headers: Sequence[tuple[bytes, bytes]], body: bytes, state: dict[str, Any]
) -> dict[str, Any]:
    """The ASGI scope of a POST of ``body`` to ``/graphql`` from a loopback client, as a
    server hands it to the app (``state`` the request's starting state)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [*headers, (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 80),
        "state": state,
    }


class Asker:
    """POSTs a body to ``/graphql`` as one ASGI call into the app, answered afresh, never
    from a cache level, so each answer a warm asks is written again and lives a TTL from
    this warm (one served from the store would keep the expiry of the warm that made it: a
    warm run again renewed nothing)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        self.headers.append((b"accept", b"application/json"))
        self.headers.append((b"content-type", b"application/json"))

    async def __call__(self, body: bytes) -> None:
        scope = graphql_post_scope(self.headers, body, {HttpResponseCache.REFRESH: True})
        status, said = 500, []
        sent, answered = False, asyncio.Event()

        async def receive() -> Message:
            nonlocal sent
            if sent:  # after the body, a disconnect once the answer is sent (as a client's)
                await answered.wait()
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                said.append(message.get("body", b""))
                if not message.get("more_body", False):
                    answered.set()

        await self.app(scope, receive, send)
        if status != 200:
            text = b"".join(said)[:300].decode("utf-8", "replace")
            raise WarmError(f"the gateway answered {status}: {text}")


_PII = "pii:read"


def credentials(settings: Settings, caller: str | None) -> dict[str, str]:
    """The headers of the caller the API key named ``caller`` is (none without credentials).

    Raises:
        WarmError: ``caller`` names no API key (none: credentials are configured), or a
            caller whose answers are never kept (``pii:read``; without credentials, anyone).
    """
    keys = settings.api_keys
    if caller is None:
        if settings.has_credentials:
            raise WarmError("credentials are configured: name the API key to warm as (--as)")
        raise WarmError(
            f"without credentials every caller reads personal data unmasked ({_PII}), and "
            "such answers are never kept: configure MEMBERGRAPH_API_KEYS with a key for the "
            "service that asks (profile:read, without pii:read) and warm --as its name"
        )
    for key, spec in keys.items():
        if spec.name == caller:
            if _PII in spec.scopes:
                raise WarmError(
                    f"the API key {caller!r} may read personal data unmasked ({_PII}): such "
                    "answers are never kept (each read is audited); warm as a key without it"
                )
            return {"authorization": f"Bearer {key}"}
    known = ", ".join(sorted(spec.name for spec in keys.values())) or "none"
    raise WarmError(f"no API key is named {caller!r} ({known})")


def _operations(manifest: dict[str, str]) -> dict[str, str]:
    """The manifest's texts by operation name."""
    named = {}
    for text in manifest.values():
        try:
            document = parse(text)
        except GraphQLError:
            continue
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.name:
                named[definition.name.value] = text
    return named


async def _values(app: Starlette, lookup: Lookup, share: Share = (0, 1)) -> AsyncIterator[str]:
    """Every value ``lookup`` is asked for (:meth:`Lookup.values`) over every member; of
    them, those that fall to ``share``."""
    store = app.state.gateway.identity.store
    seen: set[str] = set()
    after = None
    mine, jobs = share
    while True:
        page = await store.page_members(after, _PAGE)
        if not page:
            return
        after = page[-1]
        for once, value in await lookup.values(store, page, seen):
            if jobs == 1 or _falls_to(once, jobs) == mine:
                yield value


def _falls_to(value: str, jobs: int) -> int:
    """Which of ``jobs`` processes asks ``value``: the same in every one of them."""
    return zlib.crc32(value.encode()) % jobs
