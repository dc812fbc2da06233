"""``POST /ingest/{source}``: the thin HTTP handler of :class:`~membergraph.ingest.IngestService`
(who may push, from where, the body's type, size and shape, the answer's status).

A browser sends a cross-origin form or ``text/plain`` POST without a preflight, with the
credentials it holds for the gateway (HTTP Basic, asked once for GraphiQL or the console):
any page its user visits could push lines. So a request whose ``Origin`` is neither the
gateway's own nor listed in ``MEMBERGRAPH_CORS_ORIGINS`` is 403, and a body that is not
declared as JSON or JSON Lines is 415, as ``/graphql`` refuses it.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Send
from strawberry.http.websocket_origin import is_same_origin, normalize_origin

from membergraph.auth import caller_of
from membergraph.body_limit import send_json
from membergraph.connectors.lines import bom_length, exact_json, utf16_refusal
from membergraph.connectors.models import SourceName
from membergraph.http_rules import compressed, foreign_charset
from membergraph.ingest import IngestRefused, IngestService
from membergraph.json_out import dumps
from membergraph.read_after import feed_position

__all__ = ["INGEST_MEDIA_TYPES", "MAX_INGEST_BYTES", "ingest_endpoint", "ingest_too_large"]

MAX_INGEST_BYTES = 8 * 1024 * 1024
INGEST_MEDIA_TYPES = ("application/json", "application/x-ndjson", "application/jsonl")
"""A JSON array, or JSON Lines under either of their usual names; a request that declares
no type at all is read too (no browser sends a body cross-origin without ``Origin``)."""


def _problem(status: int, message: str, code: str | None = None) -> JSONResponse:
    said = {"error": message} if code is None else {"error": message, "code": code}
    return JSONResponse(said, status_code=status)


async def ingest_too_large(send: Send, limit: int) -> None:
    """A push's body over ``limit`` (:mod:`membergraph.body_limit`)."""
    await send_json(send, 413, {"error": f"body over {limit} bytes; send smaller batches"})


def _split_body(body: bytes) -> list[Any] | None:
    """A JSON array of objects, or JSON Lines (each line decoded later, on its own), after
    the byte order mark a body read from a file saved on Windows may start with.

    Lines end at ``\n``, ``\r\n`` or a lone ``\r`` (a file saved on an old Mac, or by a
    tool that writes ``\r``), as a source file's lines do
    (:class:`~membergraph.connectors.files.FileConnector`): JSON has no raw ``\r`` inside a
    string, so no line is cut in two. Before, a body of ``\r`` lines was one bad line."""
    body = body[bom_length(body) :]
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = exact_json(stripped)  # an integer beyond 64 bits stays one: refused
        except orjson.JSONDecodeError:
            return None
        return list(items) if isinstance(items, list) else None
    return body.splitlines()


def _too_many_lines(items: list[Any], most: int) -> str | None:
    """Why a body of more than ``most`` lines (blank ones not counted) is refused. The byte
    limit alone bounds no work: 4 MiB of ``{}`` lines are 1.4 M lines, each read, refused
    and answered (50 s, a 244 MiB answer, 1 GB of memory: user24)."""
    lines = len(items) - items.count(b"")  # (C loops: a blank line is the empty bytes)
    if lines <= most:
        return None
    return (
        f"{lines} lines: a push takes at most {most} lines (MEMBERGRAPH_MAX_INGEST_LINES);"
        " send smaller batches. Nothing was taken"
    )


BOUND_INGEST = (
    "a token bound to one member may push no source line, whatever its scopes: lines come "
    "from the systems of record (a POS, the CRM), where a member's own changes are made"
)


def _foreign_origin(request: Request, allowed: list[str]) -> str | None:
    """The ``Origin`` of a browser page on another site not allowed to call, else None."""
    origin = request.headers.get("origin")
    if origin is None or is_same_origin(origin, request.headers.get("host")):
        return None
    return None if normalize_origin(origin) in allowed else origin


def _foreign_type(request: Request) -> str | None:
    """The declared media type when it is not one a body of lines is read as."""
    declared = request.headers.get("content-type")
    kind = (declared or "").split(";")[0].strip().lower()
    return None if declared is None or kind in INGEST_MEDIA_TYPES else kind or "nothing"


async def ingest_endpoint(request: Request) -> Response:
    """``POST /ingest/{source}``: checks, one call to :class:`IngestService`, the answer."""
    service: IngestService = request.app.state.ingest
    if (origin := _foreign_origin(request, service.gateway.settings.cors_origins)) is not None:
        return _problem(
            403, f"pages on {origin} may not push source lines (MEMBERGRAPH_CORS_ORIGINS)"
        )
    if (kind := _foreign_type(request)) is not None:
        types = ", ".join(INGEST_MEDIA_TYPES)
        return _problem(415, f"send source lines as one of {types}, not {kind}")
    if (refused := compressed(request.headers.get("content-encoding"))) is not None:
        return _problem(415, refused)
    # Lines are JSON in UTF-8: read so, a UTF-16 body was one bad line more than it held.
    if (charset := foreign_charset(request.headers.get("content-type"))) is not None:
        return _problem(415, f"send source lines in UTF-8, not charset={charset}")
    caller = caller_of(request)
    if not caller.can("ingest:write"):
        return _problem(403, "pushing source lines needs the ingest:write scope")
    if caller.member_id is not None:
        # A line may carry any identifier, and one identifier links another customer's
        # records to the pusher's member: a frontend app's token would take their account.
        # Source lines come from the systems of record (a POS, the CRM), never from the app.
        return _problem(403, BOUND_INGEST)
    name = request.path_params["source"]
    try:
        source = SourceName(name)
    except ValueError:
        known = ", ".join(s.value for s in SourceName)
        return _problem(404, f"unknown source {name!r}; use one of {known}")
    body = await request.body()  # (its size: membergraph.body_limit, as it arrives)
    if (refused := utf16_refusal(body[:2], "the body")) is not None:
        return _problem(415, refused)
    items = _split_body(body)
    if items is None:
        return _problem(400, "body is neither a JSON array nor JSON Lines")
    if (refused := _too_many_lines(items, service.gateway.settings.max_ingest_lines)) is not None:
        return _problem(413, refused, "TOO_MANY_LINES")
    try:
        pushed = await service.push(source, items)
    except IngestRefused as exc:
        return _problem(exc.status, str(exc), exc.code)
    rejected, unattributed, suppressed = pushed.rejected, pushed.unattributed, pushed.suppressed
    accepted = len(pushed.lines) - rejected - unattributed - suppressed
    answer = {
        "accepted": accepted,
        "rejected": rejected,
        "unattributed": unattributed,
        "suppressed": suppressed,
        "members_changed": pushed.members_changed,
        "lines": pushed.lines,
    }
    if pushed.as_sent:  # (only then: clients reading the answer before it are unaffected)
        answer["counted_as_sent"] = dict(sorted(pushed.as_sent.items()))
    # Only the sender's errors make a 4xx: a suppressed line was refused as asked.
    others = accepted or unattributed or suppressed
    status = 200 if not rejected else 207 if others else 422
    # orjson: an answer of 30,000 lines took the standard encoder 0.2 s on the event loop.
    return Response(
        dumps(answer),
        status_code=status,
        media_type="application/json",
        headers=feed_position(service.gateway.feed),  # to read this push on any process
    )
