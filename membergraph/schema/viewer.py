"""``viewer``: who the caller is to the gateway, so a client shows only what it may do."""

from __future__ import annotations

import strawberry

from membergraph.auth import actor_name, caller_of
from membergraph.resolvers.member_cursors import seal_of
from membergraph.resolvers.members import bound_member
from membergraph.resolvers.steward import shown_cursor
from membergraph.schema.types import Ctx

__all__ = ["Viewer", "viewer_of"]


@strawberry.type(description="The authenticated caller.")
class Viewer:
    name: str = strawberry.field(
        description="The key's or token's name: the actor it acts as, as the identity "
        "history, privacy requests and the PII audit record it (in demo mode, without keys: "
        "the `X-Membergraph-Actor` header, else `local`)."
    )
    scopes: list[str] = strawberry.field(description="What it may do, e.g. identity:write.")
    member_id: strawberry.ID | None = strawberry.field(
        description="The one member a frontend token is bound to and reads (null: not bound):"
        " once the member its token names was merged into another, the survivor."
    )
    token_member_id: strawberry.ID | None = strawberry.field(
        description="The member ID the token names (its member_id claim), as it was issued;"
        " it differs from memberId once that member was merged away (null: not bound)."
    )
    feed_cursor: str | None = strawberry.field(
        description="The change feed's newest cursor as this answer is made (null without "
        "profile:read): pass it as `memberChanged`'s `after` to hear every change from now "
        "on, including those made while a connection is down. For a token bound to one "
        "member it is sealed: it tells nothing of the store's other changes and resumes "
        "that member's changes only."
    )


async def viewer_of(info: Ctx) -> Viewer:
    caller = caller_of(info.context.request)
    claim = strawberry.ID(caller.member_id) if caller.member_id else None
    reads = await bound_member(info.context)
    member = strawberry.ID(reads) if reads else None
    head = None
    if caller.can("profile:read"):
        position = await info.context.gateway.identity.store.feed_head()
        head = shown_cursor(position, await seal_of(info.context))
    return Viewer(
        name=actor_name(info.context.request),
        scopes=sorted(caller.scopes),
        member_id=member,
        token_member_id=claim,
        feed_cursor=head,
    )
