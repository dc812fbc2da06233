"""The Starlette application: ``/graphql`` (HTTP, GraphiQL, graphql-transport-ws),
``/ingest/{source}``, ``/healthz``, ``/readyz`` and ``/metrics``.

Clients and connectors are created in the lifespan and shared through ``app.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult as OperationResult
from strawberry.types.graphql import OperationType

from membergraph import console
from membergraph.auth import (
    ApiKeyMiddleware,
    Authenticator,
    Caller,
    TokenVerifier,
)
from membergraph.connectors.base import ConnectorError, SourceConnector
from membergraph.export import export_members_endpoint
from membergraph.gateway import follow_feed, open_gateway
from membergraph.graphiql import asset as graphiql_asset
from membergraph.graphiql import page as graphiql_page
from membergraph.http_rules import (
    GRAPHQL_RESPONSE,
    GraphQLHttpRules,
    decode_json,
    is_request_error,
    request_error_code,
    send_error,
    wants_graphql_response,
)
from membergraph.identity.store import StoreError
from membergraph.ingest import IngestService, ingest_endpoint
from membergraph.observability import (
    RequestTelemetry,
    Telemetry,
    configure_logging,
    metrics_endpoint,
)
from membergraph.persisted import PersistedQueries, PersistedQueryError, load_manifest
from membergraph.privacy.audit import upkeep as privacy_upkeep
from membergraph.privacy.http import export_endpoint
from membergraph.resolvers.context import Gateway, RequestContext
from membergraph.response_cache import CacheFigures, HttpResponseCache, http_response_cache
from membergraph.schema import build_schema
from membergraph.settings import Settings
from membergraph.subscriptions import TransportWS
from membergraph.tracing import graphql_extension
from membergraph.tracing import tracer_provider as tracing_provider

__all__ = ["create_app", "example_query"]

logger = logging.getLogger(__name__)


def example_query(email: str | None) -> str:
    """The query GraphiQL opens with: a real member of the data being served."""
    value = email or "jane.doe@example.com"
    return f"""# membergraph: one member graph over CRM, transactions, web analytics, call center.
# Press Ctrl-Enter to run. Try members(first: 5) or member(id: ...) too.
query Profile {{
  memberByIdentifier(kind: EMAIL, value: "  {value.upper()} ") {{
    id
    profile {{ firstName lastName emails {{ value sources }} phones {{ value sources }} }}
    loyalty {{ pointsBalance tier lifetimeSpendCents }}
    transactions(first: 5) {{
      totalCount edges {{ node {{ occurredAt amountCents status channel }} }}
    }}
    records {{ source key }}
    identityHistory {{ kind rule evidence }}
  }}
}}
"""


class _Refused(HTTPException):
    """A request refused before it runs, with the code clients switch on."""

    def __init__(self, status: int, reason: str, code: str, allow: bytes | None = None) -> None:
        super().__init__(status, reason)
        self.code = code
        self.allow = allow


class _GraphQL(GraphQL[RequestContext, None]):
    timeout = 10.0
    graphql_transport_ws_handler_class = TransportWS

    def __init__(self, app: Starlette, authenticator: Authenticator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starlette = app
        self.authenticator = authenticator
        self.persisted = PersistedQueries()
        self.responses: HttpResponseCache | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request, responses = Request(scope, receive=receive), self.responses
        if responses is not None and (hit := await responses.look_up(request)) is not None:
            await hit(scope, receive, send)
            return
        try:
            response = await self.run(request)
        except HTTPException as exc:
            # Strawberry answers its refusals in plain text; clients read JSON with a code.
            code, allow = getattr(exc, "code", None), getattr(exc, "allow", None)
            await send_error(send, exc.status_code, exc.reason, code=code, allow=allow)
            return
        if responses is not None:
            response = await responses.keep(request, response)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        # A few times faster than json.dumps; text, as WebSocket messages must be.
        return orjson.dumps(data).decode()

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data)  # WebSocket messages too: a deep one closes with 4400

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return decode_json(data)
        except json.JSONDecodeError as exc:
            where = f" at character {exc.pos}" if exc.pos else ""
            raise HTTPException(400, f"the request is not valid JSON: {exc.msg}{where}") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Strawberry reads any JSON value as a request and fails on null, a string or a number.
        if request.method == "POST" and (await request.get_body()).lstrip()[:1] != b"{":
            raise HTTPException(400, 'a GraphQL request is a JSON object: {"query": "..."}')
        return await super().parse_http_body(request)

    async def execute_single(  # noqa: PLR0917 (Strawberry's signature)
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> OperationResult:
        # Strawberry lets a subscription through POST and GET, where it "executes" to a
        # masked error: subscriptions are served over WebSocket only.
        method = request_adapter.method
        allowed = OperationType.from_http(method) - {OperationType.SUBSCRIPTION}
        try:
            query = self.persisted.query_for(request_data.query, request_data.extensions)
        except PersistedQueryError as exc:
            error = GraphQLError(str(exc), extensions={"code": exc.code})
            return OperationResult(data=None, errors=[error])
        try:
            return await self.schema.execute(
                query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as exc:
            reason = exc.as_http_error_reason()
            raise _Refused(400, reason, "OPERATION_RESOLUTION_FAILURE") from None
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                reason = "subscriptions are served over WebSocket (graphql-transport-ws) only"
                raise _Refused(400, reason, "BAD_REQUEST") from None
            reason = exc.as_http_error_reason(method)
            raise _Refused(405, reason, "METHOD_NOT_ALLOWED", b"POST") from None
        except MissingQueryError:
            raise _Refused(400, "no GraphQL query in the request", "BAD_REQUEST") from None

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        # The request's time budget: a slow answer becomes a coded error, not a hung client.
        try:
            async with asyncio.timeout(self.timeout):
                return await super().execute_operation(*args, **kwargs)
        except TimeoutError:
            error = GraphQLError(
                f"the request took longer than {self.timeout:g} s",
                extensions={"code": "TIMEOUT"},
            )
            return ExecutionResult(data=None, errors=[error])

    async def get_context(self, request: Request | WebSocket, response: Any) -> RequestContext:
        gateway: Gateway = self.starlette.state.gateway
        if isinstance(request, Request):
            response.graphql_response = wants_graphql_response(request.headers.get("accept", ""))
        reads = HttpResponseCache.reads_of(request)
        return RequestContext.for_request(gateway, request, response, reads)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        if isinstance(response_data, dict):
            for error in response_data.get("errors") or []:
                extensions = error.setdefault("extensions", {})
                code = extensions.setdefault("code", request_error_code(error))
                self.starlette.state.telemetry.errors.labels(code).inc()
        wants_spec = getattr(sub_response, "graphql_response", False)
        request_error = is_request_error(response_data)
        if wants_spec and request_error:
            # A request that never executed has no data entry at all, not a null one.
            response_data = {k: v for k, v in response_data.items() if k != "data"}
        response = super().create_response(response_data, sub_response)
        if wants_spec:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if request_error:
                response.status_code = 400
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET of a persisted query has no `query` either: it asks for data, not the IDE.
        persisted = "extensions" in request.query_params
        return not persisted and super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_page(self.starlette.state.example_query))


_SERVER_CODES = frozenset({"SOURCE_TIMEOUT", "SOURCE_UNAVAILABLE", "STORE_UNAVAILABLE", "TIMEOUT"})


class _ClientErrorsInOneLine(logging.Filter):
    """Strawberry logs every GraphQL error at ERROR with its traceback. A client's mistake
    (a parse, validation or variable error, or a coded error such as BAD_USER_INPUT) is one
    INFO line; a coded failure of ours (a source down) one WARNING line; only unexpected
    errors, the ones masked to the client, keep ERROR and their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if not isinstance(error, GraphQLError):
            return True
        cause = error.original_error
        if cause is not None and not isinstance(cause, GraphQLError):
            return True
        code = (error.extensions or {}).get("code")
        level = logging.WARNING if code in _SERVER_CODES else logging.INFO
        record.levelno, record.levelname = level, logging.getLevelName(level)
        record.msg, record.args = "GraphQL error %s: %s", (code or "REQUEST", error.message)
        record.exc_info, record.exc_text = None, None
        return True


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    gateway: Gateway | None = getattr(request.app.state, "gateway", None)
    if gateway is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    sources = {}
    for name, conn in gateway.sources.items():
        entry: dict[str, Any] = {"calls": conn.calls, "circuit": conn.circuit}
        if isinstance(conn, SourceConnector):
            report = conn.report
            entry.update(
                lines=conn.size(),
                malformed=report.malformed,
                errors=[str(e) for e in report.errors[:10]],
            )
        sources[name.value] = entry
    try:
        counts = await gateway.identity.store.ping()
    except StoreError as exc:
        # /readyz answers without credentials: which server failed and how goes to the log.
        logger.warning("readiness: %s", exc)
        return JSONResponse(
            {
                "status": "unavailable",
                "store": {"error": "the identity store does not answer"},
                "sources": sources,
            },
            status_code=503,
        )
    return JSONResponse({"status": "ready", "store": counts, "sources": sources})


Announce = Callable[[int, str, float], None]


def create_app(
    settings: Settings,
    gateway: Gateway | None = None,
    announce: Announce | None = None,
    mongo_client: Any = None,
    tracer_provider: Any = None,
) -> Starlette:
    """The ASGI app. With ``gateway`` given (tests), the lifespan does not build one;
    ``announce(members, where, seconds)`` is called once the gateway is ready;
    ``mongo_client`` serves the settings' ``mongodb://`` URLs (see :func:`open_gateway`);
    ``tracer_provider`` (tests) traces instead of the settings' OTLP endpoint."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = gateway is None
        if owned:
            started = time.perf_counter()
            built, sources, result = await open_gateway(settings, mongo_client)
            app.state.gateway = built
            if announce is not None:
                announce(result.members, sources.where, time.perf_counter() - started)
        else:
            app.state.gateway = gateway
        telemetry.watch(app.state.gateway)
        follower = await follow_feed(app.state.gateway)
        follower.listeners.append(app.state.response_cache.cache.follow)
        app.state.ingest = IngestService(app.state.gateway)
        pruning = asyncio.create_task(_prune_feed(app.state.gateway), name="feed-pruning")
        privacy = asyncio.create_task(privacy_upkeep(app.state.gateway), name="privacy-upkeep")
        # A real member's e-mail only in demo mode: behind credentials the page holds no data.
        sample = None if settings.has_credentials else await _sample_email(app.state.gateway)
        app.state.example_query = example_query(sample)
        try:
            async with telemetry.own_port(settings.host, settings.metrics_port):
                yield
        finally:
            pruning.cancel()
            privacy.cancel()
            await follower.aclose()
            if app.state.gateway.scores is not None:
                await app.state.gateway.scores.aclose()
            if owned:
                await app.state.gateway.identity.store.aclose()
                await sources.aclose()

    strawberry_log = logging.getLogger("strawberry.execution")
    if not any(isinstance(f, _ClientErrorsInOneLine) for f in strawberry_log.filters):
        strawberry_log.addFilter(_ClientErrorsInOneLine())
    keys = {
        key: Caller(spec.name, frozenset(spec.scopes)) for key, spec in settings.api_keys.items()
    }
    authenticator = Authenticator(keys, _token_verifier(settings))
    # CORS first: a preflight carries no credentials and is answered before auth.
    cors = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type", "x-api-key", "x-membergraph-actor"],
            allow_credentials=True,
            max_age=600,
        )
    ]
    telemetry = Telemetry()
    tracing = tracer_provider or tracing_provider(settings.otlp_endpoint)
    if tracing is not None:
        telemetry.tracer = tracing.get_tracer("membergraph")
    app = Starlette(
        lifespan=lifespan,
        middleware=[
            # Outermost: every answer, a refused one too, has its request id and is counted.
            Middleware(RequestTelemetry, telemetry=telemetry),
            *(cors if settings.cors_origins else []),
            Middleware(ApiKeyMiddleware, authenticator=authenticator),
            Middleware(GraphQLHttpRules),
        ],
    )
    demo = not settings.has_credentials
    graphiql = demo if settings.graphiql is None else settings.graphiql
    introspection = demo if settings.introspection is None else settings.introspection
    graphql = _GraphQL(
        app,
        authenticator,
        # Browsers on these origins may open the WebSocket too (Strawberry refuses others).
        allowed_origins=settings.cors_origins,
        schema=build_schema(
            max_depth=settings.max_query_depth,
            max_cost=settings.max_query_cost,
            introspection=introspection,
            extensions=[graphql_extension(tracing)] if tracing is not None else [],
        ),
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=("graphql-transport-ws",),
    )
    graphql.timeout = settings.request_timeout
    manifest = load_manifest(settings.persisted_queries) if settings.persisted_queries else None
    graphql.persisted = PersistedQueries(manifest, only=settings.persisted_queries_only)
    graphql.responses = app.state.response_cache = http_response_cache(
        settings, graphql.schema, lambda: getattr(app.state, "gateway", None), graphql.persisted
    )
    telemetry.registry.register(CacheFigures(graphql.responses.cache))
    app.router.routes.extend(
        [
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/graphiql/{name}", graphiql_asset),
            Route("/console", console.page),
            Route("/console/{name}", console.asset),
            WebSocketRoute("/graphql", graphql),
            Route("/ingest/{source}", ingest_endpoint, methods=["POST"]),
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


def app_from_environment() -> Starlette:
    """The app of one ``serve --workers N`` worker, from ``MEMBERGRAPH_*`` variables."""
    from membergraph.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format, access=settings.access_log)
    return create_app(settings)


def _token_verifier(settings: Settings) -> TokenVerifier:
    """JWT keys from settings (read once at start: a missing file stops start-up)."""
    jwks = orjson.loads(settings.jwt_jwks.read_bytes()) if settings.jwt_jwks else None
    return TokenVerifier(
        secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
        public_key=settings.jwt_public_key.read_text() if settings.jwt_public_key else None,
        jwks=jwks,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        max_lifetime_s=settings.jwt_max_lifetime_s,
    )


async def _sample_email(gateway: Gateway) -> str | None:
    """A real member's e-mail for GraphiQL's example query (the first CRM contact with an
    e-mail and a card), from the source wherever it lives; a source that fails gives none."""
    from membergraph.connectors.models import CrmContact, SourceName

    crm = gateway.sources.get(SourceName.CRM)
    if not isinstance(crm, SourceConnector):
        return None
    try:
        async for line in crm.scan():  # stops at the first that fits
            if isinstance(line, CrmContact) and line.emails and line.loyalty_id:
                return line.emails[0].strip().lower()
    except ConnectorError as exc:
        logger.warning("no example member for GraphiQL: %s", exc)
    return None
