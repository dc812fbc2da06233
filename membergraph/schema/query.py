"""The Query root."""

from __future__ import annotations

from typing import Annotated

import strawberry

from membergraph.connectors.models import SourceName
from membergraph.resolvers import analytics as A
from membergraph.resolvers import insights as I
from membergraph.resolvers import members as R
from membergraph.resolvers import steward as S
from membergraph.resolvers.member_lookup import find_member
from membergraph.resolvers.paging import check_first
from membergraph.schema.analytics import (
    ConflictFilter,
    ConflictOrder,
    IdentityConflictConnection,
    MemberFilter,
    MemberOrder,
    MemberStatsGroup,
    StatsDimension,
    conflict_connection,
    conflict_query,
    group_keys,
    member_query,
    order_of,
    stats_group,
)
from membergraph.schema.insights import Segment, SegmentCount
from membergraph.schema.member import Member, MemberConnection, member_connection
from membergraph.schema.mutation import ChangeConnection, change_connection
from membergraph.schema.permissions import AcrossMembers, requires
from membergraph.schema.types import Ctx, IdentifierKind
from membergraph.schema.viewer import Viewer, viewer_of


@strawberry.type(description="Read the member graph.")
class Query:
    @strawberry.field(description="Who is asking: name, scopes, the member a token is bound to.")
    async def viewer(self, info: Ctx) -> Viewer | None:
        return await viewer_of(info)

    @strawberry.field(
        description="A member by ID. An ID merged away answers the surviving member "
        "(see `redirectedFrom`); an unknown ID answers null. An erased member's ID answers "
        "null with the error `ERASED` to its own member-bound token, a steward "
        "(`identity:write`) and the DPO (`privacy:admin`); to any other caller null with no "
        "error, as an ID that never was: that an ID existed and was erased is personal data "
        "(docs/privacy.md).",
        permission_classes=[requires("profile:read")],
    )
    async def member(
        self, info: Ctx, id: Annotated[strawberry.ID, strawberry.argument(description="Member ID.")]
    ) -> Member | None:
        found = await R.get_member(info.context, str(id))
        if found is None:
            await R.say_if_erased(info.context, str(id))
        return found  # type: ignore[return-value]

    @strawberry.field(
        description="The member an identifier belongs to; the value is normalized exactly as at "
        "ingestion (e-mail trimmed and lower-cased, phone to E.164, loyalty number upper-cased). "
        "One person or no one, never a guess: a placeholder (`no@email.com`, or a value the data "
        "shows on many different people) is null with `PLACEHOLDER_IDENTIFIER`, saying why; a "
        "value several members hold alike (a family's e-mail on two contacts; the record the "
        "value keys, a card's own account, ranks first, then CRM contacts, cards and online "
        "accounts, then web logins and calls; a value one member's contact gives and others' "
        "cards or orders carry finds the contact's) is null with `AMBIGUOUS_IDENTIFIER` and "
        "`extensions.members`: look up by a value one member holds (a card number, a CRM id). "
        "A member-bound token gets its own member among them, else null.",
        permission_classes=[requires("profile:read")],
    )
    async def member_by_identifier(
        self,
        info: Ctx,
        kind: Annotated[IdentifierKind, strawberry.argument(description="Identifier kind.")],
        value: Annotated[str, strawberry.argument(description="The value, as typed anywhere.")],
        include_former: Annotated[
            bool,
            strawberry.argument(
                description="Also find the member by an e-mail or phone its CRM contact "
                "dropped (a former value, `ContactPoint.current`: false), for a steward "
                "tracing an old address. False by default: a dropped address may be someone "
                "else's now, so it finds no one (null, as an unknown value)."
            ),
        ] = False,
    ) -> Member | None:
        return await find_member(  # type: ignore[return-value]
            info.context, kind.domain(), value, include_former
        )

    @strawberry.field(
        description="Members, paged (Relay connection): filtered by segment, tier, source, "
        "spend and points ranges, last purchase, consent; ordered by `orderBy` (ID by "
        "default). Cursors are keysets: stable under the order whatever changes meanwhile.",
        permission_classes=[requires("profile:read"), AcrossMembers],
    )
    async def members(
        self,
        info: Ctx,
        filter: Annotated[
            MemberFilter | None, strawberry.argument(description="Which members.")
        ] = None,
        order_by: Annotated[
            MemberOrder | None, strawberry.argument(description="Order (default: by ID).")
        ] = None,
        first: Annotated[int, strawberry.argument(description="Page size (at most 100).")] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to continue after.")
        ] = None,
    ) -> MemberConnection | None:
        ctx = info.context
        query = member_query(filter, ctx.gateway.settings)
        if order_by is not None or (filter is not None and filter.needs_metrics()):
            order, descending = order_of(order_by)
            page = await A.ranked_members(ctx, query, order, descending, first, after)
            return member_connection(page)
        source = SourceName(query.source) if query.source else None
        return member_connection(await R.page_members(ctx, first, after, source))

    @strawberry.field(
        description="Members, purchases, spend and points per group of the members the "
        "filter selects (no groupBy: one group of all), computed by the store.",
        permission_classes=[requires("analytics:read"), AcrossMembers],
    )
    async def member_stats(
        self,
        info: Ctx,
        filter: Annotated[
            MemberFilter | None, strawberry.argument(description="Which members.")
        ] = None,
        group_by: Annotated[
            list[StatsDimension] | None,
            strawberry.argument(description="Dimensions to group by, in order."),
        ] = None,
    ) -> list[MemberStatsGroup] | None:
        ctx = info.context
        query = member_query(filter, ctx.gateway.settings)
        rows = await A.member_stats(ctx, query, group_keys(group_by or []))
        return [stats_group(r) for r in rows]

    @strawberry.field(
        description="How many members each segment holds.",
        permission_classes=[requires("analytics:read"), AcrossMembers],
    )
    async def segment_counts(self, info: Ctx) -> list[SegmentCount] | None:
        return [
            SegmentCount(segment=Segment(s.value), members=n)
            for s, n in await I.segment_counts(info.context)
        ]

    @strawberry.field(
        description="Identity conflicts the engine did not resolve by merging, newest first "
        "(or oldest: `orderBy`) (Relay connection), filtered by kind, date, member and state "
        "(open by default: no "
        "steward decided them, see `resolveConflict`): the stewards' review queue and the "
        "analysts' count (scope identity:write or analytics:read).",
        permission_classes=[requires("identity:write", "analytics:read"), AcrossMembers],
    )
    async def identity_conflicts(
        self,
        info: Ctx,
        filter: Annotated[
            ConflictFilter | None, strawberry.argument(description="Which conflicts.")
        ] = None,
        first: Annotated[int, strawberry.argument(description="How many (at most 100).")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Cursor to continue after: it names the last conflict read, so a "
                "conflict decided between pages skips none; one given under another `orderBy` "
                "or `filter` is refused (BAD_USER_INPUT, saying which)."
            ),
        ] = None,
        order_by: Annotated[
            ConflictOrder,
            strawberry.argument(
                description="Newest or oldest first, over every conflict the filter keeps "
                "(a cursor reads on in the order it was given in)."
            ),
        ] = ConflictOrder.NEWEST,
    ) -> IdentityConflictConnection | None:
        oldest = order_by is ConflictOrder.OLDEST
        page = await A.conflict_page(info.context, conflict_query(filter), first, after, oldest)
        return conflict_connection(page)

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
        first: Annotated[int, strawberry.argument(description="How many (at most 1000).")] = 100,
    ) -> ChangeConnection | None:
        check_first(first, 1000)
        return change_connection(await S.changes(info.context, after, first + 1), first)
