"""``/graphql`` over HTTP and WebSocket: Strawberry's ASGI app with the refusals, time
budget, response cache and persisted queries that clients rely on, and the log filter
that keeps a client's mistakes to one line."""

from __future__ import annotations

import asyncio
import codecs
import json
import logging
from functools import lru_cache
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import ExecutionResult, GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import ExecutionResult as OperationResult
from strawberry.types.graphql import OperationType

from membergraph.auth import Authenticator
from membergraph.gateway_parts import Gateway
from membergraph.graphiql import page as graphiql_page
from membergraph.http_rules import (
    GRAPHQL_RESPONSE,
    decode_json,
    is_request_error,
    request_error_code,
    send_error,
    wants_graphql_response,
    wrong_shape,
)
from membergraph.identity.store import StoreError
from membergraph.json_out import dumps
from membergraph.masking import mask_in_text
from membergraph.persisted import PersistedQueries, PersistedQueryError
from membergraph.privacy.audit import record_reads
from membergraph.read_after import feed_position
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import over_time_budget
from membergraph.response_cache import HttpResponseCache
from membergraph.response_cache.http import Ticket
from membergraph.schema.plan_run import NotFollowed
from membergraph.sqlite_tx import READS_ASIDE
from membergraph.subscriptions import NO_QUERY, TransportWS
from membergraph.write_budget import within

__all__ = ["ClientErrorsInOneLine", "GraphQLEndpoint"]

logger = logging.getLogger(__name__)


class _Refused(HTTPException):
    """A request refused before it runs, with the code clients switch on."""

    def __init__(self, status: int, reason: str, code: str, allow: bytes | None = None) -> None:
        super().__init__(status, reason)
        self.code = code
        self.allow = allow


class GraphQLEndpoint(GraphQL[RequestContext, None]):
    timeout = 10.0
    graphql_transport_ws_handler_class = TransportWS

    def __init__(self, app: Starlette, authenticator: Authenticator, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.starlette = app
        self.authenticator = authenticator
        self.persisted = PersistedQueries()
        self.responses: HttpResponseCache | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A request's reads go to the stores' read connections, behind no push's trips.
        aside = READS_ASIDE.set(True)
        try:
            await self._serve(scope, receive, send)
        finally:
            READS_ASIDE.reset(aside)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        # A kept answer was sent by the cache's middleware; this request is a miss.
        request, responses = Request(scope, receive=receive), self.responses
        try:
            response = await self._known(request) or await self.run(request)
        except HTTPException as exc:
            # Strawberry answers its refusals in plain text; clients read JSON with a code.
            code, allow = getattr(exc, "code", None), getattr(exc, "allow", None)
            await send_error(send, exc.status_code, exc.reason, code=code, allow=allow)
            return
        if responses is not None:
            response = await responses.keep(request, response)  # (a mutation caught up)
            if _mutation(request):  # its position, to read this write on any process
                response.headers.update(feed_position(self.starlette.state.gateway.feed))
        await response(scope, receive, send)

    async def _known(self, request: Request) -> Response | None:
        """The answer to a document the schema planned (``schema/compiled.py``), executed
        without graphql-core's executor; None when it is not one, or when the plan stopped
        short of an answer without errors: then the request runs the usual way. Only a JSON
        POST answered as one JSON body, as ``run`` would answer it."""
        known = getattr(self.schema, "known", None)
        if known is None or request.method != "POST":
            return None
        content_type = _media_type(request.headers.get("content-type", ""))
        if (
            "application/json" not in content_type
            # a streaming transport (incremental delivery, subscriptions over HTTP)
            or self._get_stream_transport_from_headers(request.headers) is not None
        ):
            return None
        try:
            data = decode_json(await request.body())
        except ValueError:
            return None
        if not isinstance(data, dict) or wrong_shape(data) is not None:
            return None  # the usual way refuses it: 400, BAD_REQUEST
        variables, name = data.get("variables"), data.get("operationName")
        try:
            query = self.persisted.query_for(data.get("query"), data.get("extensions"))
        except PersistedQueryError:
            return None
        if not isinstance(query, str):
            return None
        plan = known.plan(query, name)
        if plan is None:
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, sub_response)
        # One time budget for the request, whichever way it runs: a fallback gets what is left.
        request.state.deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with within(self.timeout):  # (a write it makes stops it: write_budget)
                answer = await plan.run(variables, context)
        except NotFollowed:
            # The usual way reads through the same loaders: what the plan read (a source's
            # failure too) is not asked of the sources again.
            request.state.plan_loaders = context.loaders
            context.loaders.drop_cancelled_batches()
            return None
        except TimeoutError:
            result = OperationResult(data=None, errors=[over_time_budget(self.timeout)])
        except Exception:  # a fault of the plan itself: the request is still answered
            logger.exception("the plan of a known document failed; executed the usual way")
            return None
        else:
            result = OperationResult(data=answer, errors=None, extensions=plan.extensions)
            try:  # the audit of personal data answered, as the guard writes it
                await record_reads(context)
            except Exception:  # answered the usual way: no data without its audit
                request.state.plan_loaders = context.loaders
                return None
        response_data = await self.process_result(request, result)
        if result.errors:
            self._handle_errors(result.errors, response_data)
        return self.create_response(response_data, sub_response)

    def encode_json(self, data: object) -> str:
        # A few times faster than json.dumps; text, as WebSocket messages must be.
        return dumps(data).decode()

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
        if request.method == "POST" and (body := await request.get_body()).lstrip()[:1] != b"{":
            if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                # (A text editor's or PowerShell's save: the object is there, the encoding is not.)
                raise HTTPException(
                    400, "a GraphQL request is JSON in UTF-8 without a byte order mark (BOM)"
                )
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
            raise _Refused(400, NO_QUERY, "BAD_REQUEST") from None

    async def execute_operation(self, *args: Any, **kwargs: Any) -> Any:
        # The request's time budget: a slow answer becomes a coded error, not a hung client.
        request = args[0] if args else kwargs.get("request")
        deadline = getattr(getattr(request, "state", None), "deadline", None)
        budget = self.timeout
        if deadline is not None:  # a planned request that fell back: what is left of it
            budget = max(deadline - asyncio.get_running_loop().time(), 0.0)
        try:
            async with within(budget):  # (a write it makes stops it: write_budget)
                return await super().execute_operation(*args, **kwargs)
        except TimeoutError:
            return ExecutionResult(data=None, errors=[over_time_budget(self.timeout)])

    async def get_context(self, request: Request | WebSocket, response: Any) -> RequestContext:
        gateway: Gateway = self.starlette.state.gateway
        if isinstance(request, Request):
            response.graphql_response = wants_graphql_response(request.headers.get("accept", ""))
        reads = HttpResponseCache.reads_of(request)
        context = RequestContext.for_request(gateway, request, response, reads)
        held = (
            getattr(request.state, "plan_loaders", None) if isinstance(request, Request) else None
        )
        if held is not None:  # a planned request run the usual way: the plan's reads
            context.loaders = held
        return context

    def create_response(self, response_data: Any, sub_response: Response) -> Response:
        if isinstance(response_data, dict):
            self.code_errors(response_data.get("errors") or [])
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

    def code_errors(self, errors: list[dict[str, Any]]) -> None:
        """Gives each formatted error its ``extensions.code`` and counts it, over HTTP and
        WebSocket alike."""
        for error in errors:
            extensions = error.setdefault("extensions", {})
            code = extensions.setdefault("code", request_error_code(error))
            self.starlette.state.telemetry.errors.labels(code).inc()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A GET of a persisted query has no `query` either: it asks for data, not the IDE.
        persisted = "extensions" in request.query_params
        return not persisted and super().should_render_graphql_ide(request)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return HTMLResponse(graphiql_page(self.starlette.state.example_query))


# What :meth:`GraphQLEndpoint.execute` answers each with over HTTP.
_REFUSED_OVER_WS: tuple[tuple[type[Exception], str], ...] = (
    (CannotGetOperationTypeError, "OPERATION_RESOLUTION_FAILURE"),
    (InvalidOperationTypeError, "BAD_REQUEST"),
    (MissingQueryError, "BAD_REQUEST"),
)
_SERVER_CODES = frozenset(
    {"SOURCE_TIMEOUT", "SOURCE_UNAVAILABLE", "STORE_FULL", "STORE_UNAVAILABLE", "TIMEOUT"}
)


class ClientErrorsInOneLine(logging.Filter):
    """Strawberry logs every GraphQL error at ERROR with its traceback. A client's mistake
    (a parse, validation or variable error, or a coded error such as BAD_USER_INPUT) is one
    INFO line; a coded failure of ours (a source down) one WARNING line; only unexpected
    errors, the ones masked to the client, keep ERROR and their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.msg
        if not isinstance(error, GraphQLError):
            return True
        cause = error.original_error
        if isinstance(cause, StoreError):
            return False  # (its one WARNING line is the masking's: resolvers.errors)
        # A request naming no operation it can run: HTTP refuses it before executing, but a
        # socket's subscribe reaches execution, which logs it (and closes 4400).
        refused = next((c for k, c in _REFUSED_OVER_WS if isinstance(cause, k)), None)
        if refused is None and cause is not None and not isinstance(cause, GraphQLError):
            return True
        # The code the client is answered with (a parse or validation error gets it later).
        code = (
            refused or (error.extensions or {}).get("code") or request_error_code(error.formatted)
        )
        level = logging.WARNING if code in _SERVER_CODES else logging.INFO
        record.levelno, record.levelname = level, logging.getLevelName(level)
        # A message may repeat what the caller typed (an e-mail sent as a phone): the log is
        # read by operators, whatever the caller's scopes, so it never holds it unmasked.
        record.msg, record.args = "GraphQL error %s: %s", (code, mask_in_text(error.message))
        record.exc_info, record.exc_text = None, None
        return True


def _mutation(request: Request) -> bool:
    """Whether the request ran a mutation (by the plan the response cache made of it)."""
    ticket = request.scope.get("state", {}).get(HttpResponseCache.STATE)
    return isinstance(ticket, Ticket) and ticket.plan.mutation


@lru_cache(maxsize=64)
def _media_type(content_type: str) -> str:
    """A Content-Type header's media type, as Strawberry parses it (with the standard
    library's e-mail header parser, microseconds a call): clients send a few values."""
    return parse_content_type(content_type)[0]
