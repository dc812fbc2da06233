"""The Query root."""

from __future__ import annotations

from typing import Annotated

import strawberry

from membergraph.connectors.models import SourceName
from membergraph.insights.rfm import Segment as _Segment
from membergraph.resolvers import insights as I
from membergraph.resolvers import members as R
from membergraph.resolvers import steward as S
from membergraph.resolvers.errors import bad_input
from membergraph.schema.insights import Segment, SegmentCount
from membergraph.schema.member import Member, MemberConnection, member_connection
from membergraph.schema.mutation import ChangeConnection, change_connection
from membergraph.schema.permissions import AcrossMembers, requires
from membergraph.schema.types import Ctx, IdentifierKind, IdentityEvent, identity_event


@strawberry.input(description="Which members to list.")
class MemberFilter:
    source: str | None = strawberry.field(
        default=None,
        description="Only members with a record from this source "
        "(crm, transactions, web_analytics, call_center).",
    )
    segment: Segment | None = strawberry.field(
        default=None, description="Only members in this segment."
    )


def _source(name: str | None) -> SourceName | None:
    if name is None:
        return None
    try:
        return SourceName(name)
    except ValueError:
        known = ", ".join(s.value for s in SourceName)
        raise bad_input(
            f"unknown source {name!r}; use one of {known}", argument="filter.source"
        ) from None


@strawberry.type(description="Read the member graph.")
class Query:
    @strawberry.field(
        description="A member by ID. An ID merged away answers the surviving member "
        "(see `redirectedFrom`); an unknown ID answers null.",
        permission_classes=[requires("profile:read")],
    )
    async def member(
        self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(description="Member ID.")]
    ) -> Member | None:
        return await R.get_member(info.context, str(id))  # type: ignore[return-value]

    @strawberry.field(
        description="The member an identifier belongs to; the value is normalized exactly as at "
        "ingestion (e-mail trimmed and lower-cased, phone to E.164, loyalty number upper-cased).",
        permission_classes=[requires("profile:read")],
    )
    async def member_by_identifier(
        self,
        info: Ctx,
        kind: Annotated[IdentifierKind, strawberry.argument(description="Identifier kind.")],
        value: Annotated[str, strawberry.argument(description="The value, as typed anywhere.")],
    ) -> Member | None:
        return await R.find_member(info.context, kind.domain(), value)  # type: ignore[return-value]

    @strawberry.field(
        description="Members in ID order, paged (Relay connection).",
        permission_classes=[requires("profile:read"), AcrossMembers],
    )
    async def members(
        self,
        info: Ctx,
        filter: Annotated[
            MemberFilter | None, strawberry.argument(description="Which members.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size (at most 100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue after.")
        ] = None,
    ) -> MemberConnection:
        source = _source(filter.source if filter else None)
        if filter and filter.segment:
            ids = await I.segment_members(info.context, _Segment(filter.segment.value))  # type: ignore[arg-type]
            return member_connection(await R.page_ids(info.context, ids, first, after, source))
        return member_connection(await R.page_members(info.context, first, after, source))

    @strawberry.field(
        description="How many members each segment holds.",
        permission_classes=[requires("analytics:read"), AcrossMembers],
    )
    async def segment_counts(self, info: Ctx) -> list[SegmentCount]:
        return [
            SegmentCount(segment=Segment(s.value), members=n)
            for s, n in await I.segment_counts(info.context)
        ]

    @strawberry.field(
        description="Identity conflicts the engine did not resolve by merging, newest first.",
        permission_classes=[requires("analytics:read"), AcrossMembers],
    )
    async def identity_conflicts(
        self,
        info: Ctx,
        first: Annotated[int, strawberry.argument(description="How many (at most 100).")] = 20,
        offset: Annotated[int, strawberry.argument(description="How many to skip.")] = 0,
    ) -> list[IdentityEvent]:
        events = await R.conflicts(info.context, first, offset)
        return [identity_event(e) for e in events]

    @strawberry.field(
        description="The change feed, oldest first: every identity change and fact, each with "
        "its cursor, as `memberChanged` pushes them. For batch consumers: read on with `after` "
        "the last `endCursor`; a cursor older than the feed's retention answers FEED_EXPIRED.",
        permission_classes=[requires("analytics:read"), AcrossMembers],
    )
    async def changes(
        self,
        info: Ctx,
        after: Annotated[
            str | None, strawberry.argument(description="Start after this cursor.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="How many (1 to 1000).")] = 100,
    ) -> ChangeConnection:
        if not 1 <= first <= 1000:
            raise bad_input("first must be between 1 and 1000", argument="first")
        return change_connection(await S.changes(info.context, after, first + 1), first)
