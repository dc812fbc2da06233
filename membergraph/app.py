"""The Starlette application: ``/graphql`` (HTTP, GraphiQL, graphql-transport-ws),
``/ingest/{source}``, ``/healthz``, ``/readyz`` and ``/metrics``.

Clients and connectors are created in the lifespan and shared through ``app.state``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from graphql import ExecutionResult, GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http.ides import get_graphql_ide_html

from membergraph.auth import ApiKeyMiddleware, Caller, TokenVerifier
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.files import FileConnector
from membergraph.gateway import open_gateway
from membergraph.http_rules import GRAPHQL_RESPONSE, GraphQLHttpRules
from membergraph.identity.store import StoreError
from membergraph.ingest import ingest_endpoint
from membergraph.resolvers.context import Gateway, RequestContext
from membergraph.schema import build_schema
from membergraph.settings import Settings

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


class _GraphQL(GraphQL[RequestContext, None]):
    timeout = 10.0

    def __init__(self, app: Starlette, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starlette = app

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
            # The GraphQL-over-HTTP media type when asked for (or nothing is said): request
            # errors then answer 400. Plain application/json clients keep 200, as the spec says.
            accept = request.headers.get("accept", "")
            response.graphql_response = not accept or GRAPHQL_RESPONSE in accept
        return RequestContext.for_request(gateway, request, response)

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        if isinstance(response_data, dict):
            for error in response_data.get("errors") or []:
                extensions = error.setdefault("extensions", {})
                extensions.setdefault("code", _request_error_code(error))
        wants_spec = getattr(sub_response, "graphql_response", False)
        request_error = _request_error(response_data)
        if wants_spec and request_error:
            # A request that never executed has no data entry at all, not a null one.
            response_data = {k: v for k, v in response_data.items() if k != "data"}
        response = super().create_response(response_data, sub_response)
        if wants_spec:
            response.headers["content-type"] = GRAPHQL_RESPONSE
            if request_error:
                response.status_code = 400
        return response

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        html = get_graphql_ide_html("graphiql")
        query = self.starlette.state.example_query.replace("\\", "\\\\").replace("`", "\\`")
        html = re.sub(
            r"const EXAMPLE_QUERY = `.*?`;",
            lambda _: f"const EXAMPLE_QUERY = `{query}`;",
            html,
            flags=re.S,
        )
        return HTMLResponse(html)


def _request_error_code(error: dict[str, Any]) -> str:
    """Codes for the errors graphql-core raises before execution (ours carry their own)."""
    message = str(error.get("message", ""))
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable '$"):
        return "BAD_USER_INPUT"
    if error.get("path"):
        return "INTERNAL_SERVER_ERROR"  # a masked unexpected error
    return "GRAPHQL_VALIDATION_FAILED"


def _request_error(data: Any) -> bool:
    """Parse, validation and variable errors: no data at all and no error has a path."""
    if not isinstance(data, dict) or data.get("data") is not None or not data.get("errors"):
        return False
    return all(not error.get("path") for error in data["errors"])


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


async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    out = [
        "# HELP membergraph_source_calls_total Batch calls made to each source.",
        "# TYPE membergraph_source_calls_total counter",
    ]
    for name, conn in gateway.sources.items():
        out.append(f'membergraph_source_calls_total{{source="{name.value}"}} {conn.calls}')
    out += [
        "# HELP membergraph_source_malformed_lines Lines skipped as malformed at load.",
        "# TYPE membergraph_source_malformed_lines gauge",
    ]
    for name, conn in gateway.sources.items():
        if isinstance(conn, SourceConnector):
            malformed = conn.report.malformed
            out.append(f'membergraph_source_malformed_lines{{source="{name.value}"}} {malformed}')
    try:
        counts = await gateway.identity.store.ping()
    except StoreError:
        counts = {}
    out += [
        "# HELP membergraph_identity Records, members and active links in the identity store.",
        "# TYPE membergraph_identity gauge",
    ]
    out += [f'membergraph_identity{{what="{k}"}} {v}' for k, v in counts.items()]
    out += [
        "# HELP membergraph_member_changes_dropped_total Changes a slow subscriber missed.",
        "# TYPE membergraph_member_changes_dropped_total counter",
        f"membergraph_member_changes_dropped_total {gateway.identity.bus.dropped}",
    ]
    return PlainTextResponse("\n".join(out) + "\n", media_type="text/plain; version=0.0.4")


Announce = Callable[[int, str, float], None]


def create_app(
    settings: Settings,
    gateway: Gateway | None = None,
    announce: Announce | None = None,
    mongo_client: Any = None,
) -> Starlette:
    """The ASGI app. With ``gateway`` given (tests), the lifespan does not build one;
    ``announce(members, where, seconds)`` is called once the gateway is ready;
    ``mongo_client`` serves the settings' ``mongodb://`` URLs (see :func:`open_gateway`)."""

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
        # A real member's e-mail only in demo mode: behind credentials the page holds no data.
        sample = None if settings.has_credentials else _sample_email(app.state.gateway)
        app.state.example_query = example_query(sample)
        try:
            yield
        finally:
            if owned:
                await app.state.gateway.identity.store.aclose()
                await sources.aclose()

    keys = {
        key: Caller(spec.name, frozenset(spec.scopes)) for key, spec in settings.api_keys.items()
    }
    app = Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(ApiKeyMiddleware, keys=keys, tokens=_token_verifier(settings)),
            Middleware(GraphQLHttpRules),
        ],
    )
    demo = not settings.has_credentials
    graphiql = demo if settings.graphiql is None else settings.graphiql
    introspection = demo if settings.introspection is None else settings.introspection
    graphql = _GraphQL(
        app,
        schema=build_schema(max_depth=settings.max_query_depth, introspection=introspection),
        graphql_ide="graphiql" if graphiql else None,
        subscription_protocols=("graphql-transport-ws",),
    )
    graphql.timeout = settings.request_timeout
    app.router.routes.extend(
        [
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/ingest/{source}", ingest_endpoint, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
        ]
    )
    return app


def _token_verifier(settings: Settings) -> TokenVerifier:
    """JWT keys from settings (read once at start: a missing file stops start-up)."""
    jwks = orjson.loads(settings.jwt_jwks.read_bytes()) if settings.jwt_jwks else None
    return TokenVerifier(
        secret=settings.jwt_secret.get_secret_value() if settings.jwt_secret else None,
        public_key=settings.jwt_public_key.read_text() if settings.jwt_public_key else None,
        jwks=jwks,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
    )


def _sample_email(gateway: Gateway) -> str | None:
    from membergraph.connectors.models import CrmContact, SourceName

    crm = gateway.sources.get(SourceName.CRM)
    if isinstance(crm, FileConnector):
        for line in crm.lines():
            if isinstance(line, CrmContact) and line.emails and line.loyalty_id:
                return line.emails[0].strip().lower()
    return None
