"""The Starlette application: ``/graphql`` (HTTP, GraphiQL, graphql-transport-ws),
``/ingest/{source}``, ``/healthz``, ``/readyz`` and ``/metrics``.

Clients and connectors are created in the lifespan and shared through ``app.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from membergraph import console
from membergraph._perf import serving_collector
from membergraph.auth import ApiKeyMiddleware, Authenticator, Caller, TokenVerifier
from membergraph.body_limit import BodyLimit, BodyRule
from membergraph.connectors.base import ConnectorError, SourceConnector
from membergraph.connectors.http import HttpSource
from membergraph.cors import JsonCORSMiddleware
from membergraph.export import export_members_endpoint
from membergraph.fetch_metadata import OtherSitesPages
from membergraph.full_start import finish_when_room, first_load_refusal, heal_unless_full
from membergraph.gateway import follow_feed, open_gateway
from membergraph.gateway_parts import Gateway
from membergraph.graphiql import asset as graphiql_asset
from membergraph.graphiql import example_query
from membergraph.graphql_http import ClientErrorsInOneLine, GraphQLEndpoint
from membergraph.health import healthz, readyz
from membergraph.http_rules import (
    MAX_GRAPHQL_BYTES,
    GraphiQLOff,
    GraphQLHttpRules,
    graphql_too_large,
)
from membergraph.identity.value_cache import capped
from membergraph.ingest import IngestService
from membergraph.ingest_http import MAX_INGEST_BYTES, ingest_endpoint, ingest_too_large
from membergraph.jwks import RemoteJwks
from membergraph.logs import configure_logging
from membergraph.observability import Telemetry, metrics_endpoint
from membergraph.persisted import PersistedQueries, load_manifest
from membergraph.privacy.audit import resume_erasures
from membergraph.privacy.audit import upkeep as privacy_upkeep
from membergraph.privacy.http import export_endpoint
from membergraph.read_after import FEED_POSITION, READ_AFTER, ReadAfter
from membergraph.request_telemetry import RequestTelemetry
from membergraph.response_cache import (
    CacheFigures,
    RemakeFigures,
    ResponseCacheMiddleware,
    StoredFigures,
    http_response_cache,
    remaker,
    stored_level,
)
from membergraph.schema import build_schema
from membergraph.settings import Settings
from membergraph.startup_signals import interruptible
from membergraph.subscriptions import OriginRefusalNamesTheSetting
from membergraph.tokens import read_jwks, read_public_key
from membergraph.tracing import graphql_extension, trace_backends
from membergraph.tracing import tracer_provider as tracing_provider

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


async def _refusal_in_json(request: Request, exc: Exception) -> Response:
    """The router's refusals (no such path, a method the path does not take) in JSON, as
    the gateway's other refusals are, in both their shapes: a client of ``/graphql`` (a
    path mistyped) reads ``errors[].extensions.code``, one of the other routes ``error``."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):  # no body allowed
        return Response(status_code=exc.status_code, headers=exc.headers)
    code = _ROUTER_CODES.get(exc.status_code, "BAD_REQUEST")
    errors = [{"message": exc.detail, "extensions": {"code": code}}]
    body = {"error": exc.detail, "errors": errors}
    return JSONResponse(body, exc.status_code, headers=exc.headers)


_ROUTER_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


Announce = Callable[[int, str, float, str | None], None]


def create_app(
    settings: Settings,
    gateway: Gateway | None = None,
    announce: Announce | None = None,
    mongo_client: Any = None,
    tracer_provider: Any = None,
    serving: bool = False,
) -> Starlette:
    """The ASGI app. With ``gateway`` given (tests), the lifespan does not build one;
    ``announce(members, where, seconds, unready)`` is called once its start is done (pushes
    and erasures a killed process left finished), before the server listens (``unready``:
    why it is not ready even so, a first load that did not finish; None: it is);
    ``serving`` (``membergraph serve``: a process that serves this app) sets the cyclic
    collector for serving while it runs (:func:`~membergraph._perf.serving_collector`);
    ``mongo_client`` serves the settings' ``mongodb://`` URLs (see :func:`open_gateway`);
    ``tracer_provider`` (tests) traces instead of the settings' OTLP endpoint."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = gateway is None
        identity_provider = authenticator.tokens.remote if authenticator.tokens else None
        if identity_provider is not None:
            identity_provider.warm()  # the first token need not wait for the provider's keys
        if owned:
            started = time.perf_counter()
            # A worker of `serve --workers` starts over a store loaded already.
            with interruptible(serving and SUPERVISOR_PID not in os.environ):
                built, sources, result = await open_gateway(settings, mongo_client, serving=True)
            app.state.gateway = built
        else:
            app.state.gateway = gateway
        telemetry.watch(app.state.gateway)
        if telemetry.tracer is not None:
            trace_backends(app.state.gateway, telemetry.tracer)
        follower = await follow_feed(app.state.gateway)
        stored = stored_level(settings, app.state.gateway.identity.store)
        if stored is not None:
            await stored.count()
        app.state.response_cache.stored = stored
        app.state.response_cache.follow(follower)
        remaking = await remaker(app, settings)  # (warm queries made again after a change)
        if remaking is not None:
            follower.listeners.append(remaking.follow)
            app.state.response_cache.remaker = remaking
        app.state.ingest = IngestService(app.state.gateway)
        app.state.ingest.counted = telemetry.pushed
        # Lines a killed process stored but did not apply are finished before any answer
        # (on a full disk, once room is made: the store is served as it is meanwhile).
        healed = await heal_unless_full(app.state.ingest.heal)
        # So are erasures a killed process left: her profile is not served meanwhile.
        await resume_erasures(app.state.gateway)
        pruning = asyncio.create_task(_prune_feed(app.state.gateway), name="feed-pruning")
        # and those a push failed to complete later, its own or a dead process's, in seconds
        healing = asyncio.create_task(app.state.ingest.keep_healing(), name="push-healing")
        privacy = asyncio.create_task(privacy_upkeep(app.state.gateway), name="privacy-upkeep")
        finishing = None
        if not healed:
            app.state.gateway.waiting_for_room = True
        if app.state.gateway.waiting_for_room:
            finishing = asyncio.create_task(
                finish_when_room(app.state.gateway, app.state.ingest.heal), name="full-start"
            )
        # A real member's e-mail only in demo mode: behind credentials the page holds no data.
        sample = None if settings.has_credentials else await _sample_email(app.state.gateway)
        app.state.example_query = example_query(sample)
        if owned and announce is not None:
            # Only now: what a start finishes (pushes, erasures) is done before "ready".
            seconds, unready = time.perf_counter() - started, first_load_refusal(app.state.gateway)
            announce(result.members, sources.where, seconds, unready)
        try:
            demo = not settings.has_credentials  # (the port refuses other hosts, as this one)
            async with telemetry.own_port(settings.host, settings.metrics_port, demo):
                # Serving: the collector set for requests, the value caches capped.
                with (
                    serving_collector() if serving else contextlib.nullcontext(),
                    capped() if serving else contextlib.nullcontext(),
                ):
                    yield
        finally:
            pruning.cancel()
            healing.cancel()
            privacy.cancel()
            if finishing is not None:
                finishing.cancel()
            if identity_provider is not None:
                await identity_provider.aclose()
            if remaking is not None:
                app.state.response_cache.remaker = None
                await remaking.aclose()
            app.state.response_cache.follow(None)
            if stored is not None:
                app.state.response_cache.stored = None
                await stored.aclose()
            await follower.aclose()
            if app.state.gateway.scores is not None:
                await app.state.gateway.scores.aclose()
            if owned:
                await app.state.gateway.identity.store.aclose()
                await sources.aclose()

    for name, kind in (
        ("strawberry.execution", ClientErrorsInOneLine),
        ("strawberry.ws", OriginRefusalNamesTheSetting),
    ):
        strawberry_log = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in strawberry_log.filters):
            strawberry_log.addFilter(kind())
    keys = {
        key: Caller(spec.name, frozenset(spec.scopes)) for key, spec in settings.api_keys.items()
    }
    authenticator = Authenticator(keys, _token_verifier(settings))
    # CORS first: a preflight carries no credentials and is answered before auth.
    cors = [
        Middleware(
            JsonCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            # A page may send its own request id and trace context, and read the id back;
            # Apollo Client names itself and its operation (Content-Type and the other
            # CORS-safelisted headers Starlette allows of itself).
            allow_headers=[
                "authorization",
                "x-api-key",
                "x-membergraph-actor",
                "x-request-id",
                "traceparent",
                "tracestate",
                "apollographql-client-name",
                "apollographql-client-version",
                "apollo-require-preflight",
                "x-apollo-operation-name",
                READ_AFTER,
            ],
            expose_headers=["x-request-id", FEED_POSITION],
            allow_credentials=True,
            max_age=600,
        )
    ]
    telemetry = Telemetry()
    tracing = tracer_provider or tracing_provider(settings.otlp_endpoint)
    if tracing is not None:
        telemetry.tracer = tracing.get_tracer("membergraph")
    demo = not settings.has_credentials
    graphiql = demo if settings.graphiql is None else settings.graphiql
    introspection = demo if settings.introspection is None else settings.introspection
    schema = build_schema(
        max_depth=settings.max_query_depth,
        max_cost=settings.max_query_cost,
        introspection=introspection,
        extensions=[graphql_extension(tracing)] if tracing is not None else [],
    )
    manifest = load_manifest(settings.persisted_queries) if settings.persisted_queries else None
    persisted = PersistedQueries(manifest, only=settings.persisted_queries_only)
    responses = http_response_cache(settings, schema, persisted)
    app = Starlette(
        lifespan=lifespan,
        exception_handlers={HTTPException: _refusal_in_json},
        middleware=[
            # Outermost: every answer, a refused one too, has its request id and is counted.
            Middleware(RequestTelemetry, telemetry=telemetry),
            *cors,  # a preflight is answered in every mode, a list of origins or none
            Middleware(OtherSitesPages),
            Middleware(ApiKeyMiddleware, authenticator=authenticator, graphiql=graphiql),
            *([] if graphiql else [Middleware(GraphiQLOff)]),
            Middleware(GraphQLHttpRules),
            Middleware(
                BodyLimit,
                rules=[
                    BodyRule("/graphql", MAX_GRAPHQL_BYTES, graphql_too_large),
                    BodyRule("/ingest/", MAX_INGEST_BYTES, ingest_too_large),
                ],
            ),
            Middleware(ReadAfter),  # a write's feed position told, a read's waited for
            # Innermost: a cached answer crosses no router and no view, checked all the same.
            Middleware(ResponseCacheMiddleware, responses=responses),
        ],
    )
    graphql = GraphQLEndpoint(
        app,
        authenticator,
        # Browsers on these origins may open the WebSocket too (Strawberry refuses others).
        allowed_origins=settings.cors_origins,
        schema=schema,
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=("graphql-transport-ws",),
    )
    graphql.timeout = settings.request_timeout
    graphql.persisted = persisted
    graphql.responses = app.state.response_cache = responses
    telemetry.add(CacheFigures(graphql.responses.cache))
    telemetry.add(StoredFigures(graphql.responses))
    telemetry.add(RemakeFigures(graphql.responses))
    app.router.routes.extend(
        [
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphiql/{name}", graphiql_asset),
            Route("/console", console.page),
            Route("/console/{name}", console.asset),
            WebSocketRoute("/graphql", graphql),
            # {source:path}: "/ingest/../crm" too is an unknown source, said as such.
            Route("/ingest/{source:path}", ingest_endpoint, methods=["POST"]),
            Route("/export/members.csv", export_members_endpoint),
            Route("/export/members.parquet", export_members_endpoint),
            Route("/privacy/members/{member_id}/export", export_endpoint),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ]
    )
    app.state.telemetry = telemetry
    return app


async def _prune_feed(gateway: Gateway) -> None:
    """Drop feed entries older than the retention, hourly (any process may: it is one
    statement, and pruning twice prunes nothing more)."""
    while True:
        keep = timedelta(days=gateway.settings.feed_retention_days)
        try:
            await gateway.identity.store.prune_feed(datetime.now(UTC) - keep)
        except Exception as exc:  # the store is down: the next hour
            logger.warning("feed pruning failed: %s", exc)
        await asyncio.sleep(3600)


SUPERVISOR_PID = "_MEMBERGRAPH_SUPERVISOR_PID"
"""Set by ``serve --workers N`` for its workers: the pid of the process they end with."""


def app_from_environment() -> Starlette:
    """The app of one ``serve --workers N`` worker, from ``MEMBERGRAPH_*`` variables. The
    worker ends with the ``serve`` process that started it (a SIGKILL of it left the workers
    serving the port, orphaned)."""
    from membergraph.identity.workers import end_with_parent
    from membergraph.settings import load_settings

    supervisor = os.environ.get(SUPERVISOR_PID)
    if supervisor is not None and supervisor.isdigit():
        end_with_parent(int(supervisor), signal.SIGTERM)
    settings = load_settings()
    configure_logging(settings.log_format, access=settings.access_log)
    return create_app(settings, serving=True)


def _token_verifier(settings: Settings) -> TokenVerifier:
    """JWT keys from settings (read once at start: a missing file stops start-up)."""
    public_key = read_public_key(settings.jwt_public_key) if settings.jwt_public_key else None
    return TokenVerifier(
        secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
        public_key=public_key,
        jwks=read_jwks(settings.jwt_jwks) if settings.jwt_jwks else None,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_lifetime_s=settings.jwt_max_lifetime_s,
        remote=RemoteJwks(
            settings.jwt_jwks_url,
            timeout_s=settings.jwt_jwks_timeout_s,
            lifespan_s=settings.jwt_jwks_lifespan_s,
            cooldown_s=settings.jwt_jwks_cooldown_s,
        )
        if settings.jwt_jwks_url
        else None,
    )


async def _sample_email(gateway: Gateway) -> str | None:
    """A real member's e-mail for GraphiQL's example query (the first CRM contact with an
    e-mail and a card), from the source wherever it lives; a source that fails gives none."""
    from membergraph.connectors.models import CrmContact, SourceName

    crm = gateway.sources.get(SourceName.CRM)
    if not isinstance(crm, SourceConnector) or isinstance(crm, HttpSource):
        return None  # an API is not listed at a start, not even for one line
    try:
        async for line in crm.scan():  # stops at the first that fits
            if isinstance(line, CrmContact) and line.emails and line.loyalty_id:
                return line.emails[0].strip().lower()
    except ConnectorError as exc:
        logger.warning("no example member for GraphiQL: %s", exc)
    return None
