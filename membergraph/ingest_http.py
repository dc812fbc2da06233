"""``POST /ingest/{source}``: the thin HTTP handler of :class:`~membergraph.ingest.IngestService`
(who may push, the body's size and shape, the answer's status)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.auth import caller_of
from membergraph.connectors.models import SourceName
from membergraph.ingest import IngestRefused, IngestService

__all__ = ["MAX_INGEST_BYTES", "ingest_endpoint"]

MAX_INGEST_BYTES = 8 * 1024 * 1024


def _problem(status: int, message: str, code: str | None = None) -> JSONResponse:
    said = {"error": message} if code is None else {"error": message, "code": code}
    return JSONResponse(said, status_code=status)


def _split_body(body: bytes) -> list[Any] | None:
    """A JSON array of objects, or JSON Lines (each line decoded later, on its own)."""
    stripped = body.lstrip()
    if stripped.startswith(b"["):
        try:
            items = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            return None
        return list(items) if isinstance(items, list) else None
    return [line for line in body.split(b"\n")]


BOUND_INGEST = (
    "a token bound to one member may push no source line, whatever its scopes: lines come "
    "from the systems of record (a POS, the CRM), where a member's own changes are made"
)


async def ingest_endpoint(request: Request) -> Response:
    """``POST /ingest/{source}``: checks, one call to :class:`IngestService`, the answer."""
    service: IngestService = request.app.state.ingest
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
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_INGEST_BYTES:
        return _problem(413, f"body over {MAX_INGEST_BYTES} bytes; send smaller batches")
    body = await request.body()
    if len(body) > MAX_INGEST_BYTES:
        return _problem(413, f"body over {MAX_INGEST_BYTES} bytes; send smaller batches")
    items = _split_body(body)
    if items is None:
        return _problem(400, "body is neither a JSON array nor JSON Lines")
    try:
        pushed = await service.push(source, items)
    except IngestRefused as exc:
        return _problem(exc.status, str(exc), exc.code)
    rejected, unattributed = pushed.rejected, pushed.unattributed
    accepted = len(pushed.lines) - rejected - unattributed
    answer = {
        "accepted": accepted,
        "rejected": rejected,
        "unattributed": unattributed,
        "members_changed": pushed.members_changed,
        "lines": pushed.lines,
    }
    return JSONResponse(
        answer,
        status_code=200 if not rejected else 207 if accepted or unattributed else 422,
    )
