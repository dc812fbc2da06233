"""Answers made before they are asked: persisted queries asked for every member or
identifier they look up, through the gateway's own app, so each answer is kept in the store
(:mod:`.stored`) as a client's would be, under the key a client asking it will meet.

A query warms when its manifest operation is one the cache may keep and its one root field
looks a member up from a variable: ``member(id: $id)`` (every member's ID) or
``memberByIdentifier(kind: EMAIL, value: $value)`` with the kind written in the document
(every identifier of that kind, as the store holds it normalized). It is asked as the caller
an API key names (what that caller may see is part of the key), or, without credentials, as
the demo's caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx
from graphql import GraphQLError, OperationDefinitionNode, parse
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.identity.normalize import IdentifierKind
from membergraph.response_cache.http import HttpResponseCache
from membergraph.response_cache.plan import plan
from membergraph.settings import Settings

__all__ = ["WarmError", "Warmed", "warm"]

_PAGE = 500  # members read at a time
_AT_ONCE = 4  # requests in flight


class WarmError(ValueError):
    """A warm that cannot run, said in words (the command exits 2 with it)."""


@dataclass(frozen=True, slots=True)
class Warmed:
    operation: str
    asked: int
    kept: int  # answers written to the store (the kept ones of any other request included)
    seconds: float


async def warm(
    app: Starlette,
    settings: Settings,
    operations: Sequence[str],
    caller: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> list[Warmed]:
    """Ask each of ``operations`` (manifest operation names) for every value it looks up,
    through ``app`` (made from ``settings``, its lifespan entered), as the caller the API
    key named ``caller`` is.

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
    headers = {"accept": "application/json", **_credentials(settings, caller)}
    named = _operations(responses.persisted.manifest)
    done = []
    for name in operations:
        query = named.get(name)
        if query is None:
            known = ", ".join(sorted(named)) or "none"
            raise WarmError(f"no operation {name!r} in the persisted query manifest ({known})")
        found = plan(responses.schema, query, name)
        if found.looks_up is None:
            raise WarmError(
                f"{name} does not look one member up from a variable (member(id: $id) or"
                " memberByIdentifier(kind: <KIND>, value: $value)) with fields the cache keeps"
            )
        field, kind, variable = found.looks_up
        began, kept = asyncio.get_running_loop().time(), level.kept
        asked = 0
        transport = httpx.ASGITransport(app=_afresh(app))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", headers=headers, timeout=60
        ) as client:
            pending: set[asyncio.Task[None]] = set()
            async for value in _values(app, field, kind):
                body = {"query": query, "operationName": name, "variables": {variable: value}}
                pending.add(asyncio.create_task(_ask(client, body)))
                asked += 1
                level.warmed += 1
                if len(pending) >= _AT_ONCE:
                    _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if progress is not None and asked % 1000 == 0:
                    progress(name, asked)
            if pending:
                await asyncio.wait(pending)
        await level.flush()
        seconds = asyncio.get_running_loop().time() - began
        done.append(Warmed(name, asked, level.kept - kept, seconds))
    return done


def _afresh(app: ASGIApp) -> ASGIApp:
    """``app`` answering each request afresh, never from a cache level, so each answer a
    warm asks is written again and lives a TTL from this warm (one served from the store
    would keep the expiry of the warm that made it: a warm run again renewed nothing)."""
    refresh = HttpResponseCache.REFRESH

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "state": {**scope.get("state", {}), refresh: True}}
        await app(scope, receive, send)

    return asgi


async def _ask(client: httpx.AsyncClient, body: Mapping[str, object]) -> None:
    answer = await client.post("/graphql", json=body)
    if answer.status_code != 200:
        raise WarmError(f"the gateway answered {answer.status_code}: {answer.text[:300]}")


def _credentials(settings: Settings, caller: str | None) -> dict[str, str]:
    keys = settings.api_keys
    if caller is None:
        if settings.has_credentials:
            raise WarmError("credentials are configured: name the API key to warm as (--as)")
        return {}
    for key, spec in keys.items():
        if spec.name == caller:
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


async def _values(app: Starlette, field: str, kind: str | None) -> AsyncIterator[str]:
    """Every member ID, or every value of identifiers of ``kind``, once each."""
    store = app.state.gateway.identity.store
    wanted = IdentifierKind(kind) if kind is not None else None
    seen: set[str] = set()
    after = None
    while True:
        page = await store.page_members(after, _PAGE)
        if not page:
            return
        after = page[-1]
        if field == "member":
            for member_id in page:
                yield member_id
            continue
        for identifiers in await store.member_identifiers(page):
            for _, identifier in identifiers:
                if identifier.kind == wanted and identifier.value not in seen:
                    seen.add(identifier.value)
                    yield identifier.value
