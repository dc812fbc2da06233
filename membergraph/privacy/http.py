"""``GET /privacy/members/{member_id}/export``: the export as a JSON download."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.auth import caller_of, scope_refusal
from membergraph.json_out import dumps
from membergraph.privacy.export import export_member
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import CodedError

__all__ = ["export_endpoint"]


async def export_endpoint(request: Request) -> Response:
    """Checks the scope, exports, answers the document as an attachment."""
    caller = caller_of(request)
    if refused := scope_refusal(caller, "privacy:admin", "exporting a member"):
        return JSONResponse({"error": refused}, 403)
    member_id = request.path_params["member_id"]
    context = RequestContext.for_request(request.app.state.gateway, request)
    try:
        document = await export_member(context, member_id)
    except CodedError as exc:
        return JSONResponse({"error": exc.message}, 502)
    if document is None:
        return JSONResponse({"error": f"no member {member_id}"}, 404)
    return Response(
        dumps(document, indent=True),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="member-{member_id}.json"'},
    )
