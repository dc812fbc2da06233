"""The Member type: identity, facts and insights of one customer."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
import strawberry.federation
from graphql import GraphQLError

from membergraph.auth import caller_of
from membergraph.resolvers import consent as C
from membergraph.resolvers import insights as I
from membergraph.resolvers import member_history
from membergraph.resolvers import members as R
from membergraph.resolvers.member_cursors import event_ids
from membergraph.resolvers.paging import Page, Window
from membergraph.schema.cost import DEFAULT_PAGES
from membergraph.schema.enums import Source
from membergraph.schema.facts import (
    BigInt,
    CallInteraction,
    Loyalty,
    PageInfo,
    TransactionConnection,
    TransactionEdge,
    WebEvent,
    page_info,
)
from membergraph.schema.insights import (
    ActivityConnection,
    ActivityEdge,
    ActivityItem,
    CallCenterSummary,
    Channel,
    Consent,
    ConsentChange,
    OfferStatus,
    Rfm,
    Segment,
)
from membergraph.schema.types import (
    Ctx,
    Identifier,
    IdentifierKind,
    IdentityEvent,
    Link,
    Profile,
    Record,
    RecordRefInput,
    as_record,
    identity_event,
)

Parent = strawberry.Parent[R.MemberView]
# A member's keyset lists page both ways (resolvers.paging.page_by_key).
PageFirst = Annotated[
    int | None,
    strawberry.argument(
        description="How many from the start, or after `after` (at most 100; the default "
        "page when neither `first` nor `last` is given). Not with `last`."
    ),
]
PageAfter = Annotated[
    str | None,
    strawberry.argument(
        description="Read on after this cursor (this list's, of this member: any other is "
        "BAD_USER_INPUT)."
    ),
]
PageLast = Annotated[
    int | None,
    strawberry.argument(
        description="How many from the end, or before `before`: the page before one "
        "already read (at most 100). Not with `first`."
    ),
]
PageBefore = Annotated[
    str | None,
    strawberry.argument(
        description="Read back before this cursor (a page's `startCursor`; this list's, of "
        "this member: any other is BAD_USER_INPUT)."
    ),
]


def _item(activity: Any) -> ActivityItem:
    return ActivityItem(
        kind=activity.kind,
        at=activity.at,
        transaction=activity.fact if activity.kind == "PURCHASE" else None,
        web_event=activity.fact if activity.kind == "WEB" else None,
        call=activity.fact if activity.kind == "CALL" else None,
    )


@strawberry.type(
    description="What a steward's change moved for one member it answers, or in a `dryRun` "
    "would move, to judge the change before making it: the same for the same change, so a "
    "client tells its user what moved without asking twice (`membersNow`, `pointsNow`: before "
    "the change). Compare with the member's own fields (as the change leaves it). Record keys "
    "are masked without pii:read, as everywhere."
)
class PreviewedChange:
    view: strawberry.Private[R.MemberView]
    members_now: list[strawberry.ID] = strawberry.field(
        description="The members as they were before the change whose records it holds (its "
        "own ID among them when it held records and keeps some): one for a split's side, both "
        "for a merge."
    )
    records_joining: list[Record] = strawberry.field(
        description="Records that join it: held by another member before (every record of an "
        "ID no member held, a split's new side)."
    )
    records_leaving: list[Record] = strawberry.field(
        description="Its records before that leave it, for the other members answered."
    )

    @strawberry.field(
        description="Its points balance before the change: null when no member held its ID (a "
        "split's new side, an ID given back by an undo)."
    )
    async def points_now(self, info: Ctx) -> BigInt | None:
        points = await I.points_now(info.context, self.view)
        return None if points is None else BigInt(points)

    @strawberry.field(
        description="Its points balance after the change (`loyalty { pointsBalance }`): "
        "`pointsAfter` minus `pointsNow` is what moved."
    )
    async def points_after(self, info: Ctx) -> BigInt:
        return BigInt((await I.loyalty(info.context, self.view)).points_balance)


@strawberry.federation.type(
    keys=["id"],
    description="A customer as one view over the records identity resolved together.",
)
class Member:
    id: strawberry.ID = strawberry.field(description="Stable, opaque member ID.")

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        # Resolvers answer the view (R.MemberView) the fields read, not this class.
        return isinstance(obj, (cls, R.MemberView))

    @classmethod
    async def resolve_reference(cls, info: Ctx, id: strawberry.ID) -> Member | None:
        """A supergraph's router asking for a member by key (``_entities``): the same
        answer, scope check and own-member rule as ``member(id:)``."""
        if not caller_of(info.context.request).can("profile:read"):
            forbidden = {"code": "FORBIDDEN"}
            raise GraphQLError("this needs the profile:read scope", extensions=forbidden)
        return await R.get_member(info.context, str(id))  # type: ignore[return-value]

    @strawberry.field(description="The ID asked for, when it was merged into this member.")
    def redirected_from(self, root: strawberry.Parent[R.MemberView]) -> strawberry.ID | None:
        redirected = root.redirected_from
        return strawberry.ID(redirected) if redirected else None

    @strawberry.field(
        description="In an answer of a steward mutation: what the change moved for this member "
        "(a `dryRun`: would move; the same for the same change): the members it is made of "
        "as they were, the records joining and leaving it, its points balance before and "
        "after. Null outside a steward mutation's answer."
    )
    def change(self, root: Parent) -> PreviewedChange | None:
        moves = root.moves
        if moves is None:
            return None
        return PreviewedChange(
            view=root,
            members_now=[strawberry.ID(m) for m in moves.members_now],
            records_joining=[as_record(r) for r in moves.joining],
            records_leaving=[as_record(r) for r in moves.leaving],
        )

    @strawberry.field(description="The profile, each field from its surviving source.")
    async def profile(self, root: Parent, info: Ctx) -> Profile | None:
        return await I.profile(info.context, root)  # type: ignore[return-value]

    @strawberry.field(description="Every identifier of the member's records.")
    async def identifiers(
        self, root: strawberry.Parent[R.MemberView], info: Ctx
    ) -> list[Identifier]:
        pairs = await R.identifiers(info.context, root)
        return [
            Identifier(
                kind=IdentifierKind(kind.value), value=value, records=[as_record(r) for r in refs]
            )
            for kind, value, refs in R.group_identifiers(pairs)
        ]

    @strawberry.field(description="The source records that make up the member.")
    async def records(self, root: strawberry.Parent[R.MemberView], info: Ctx) -> list[Record]:
        return [as_record(r) for r in await R.records(info.context, root)]

    @strawberry.field(
        description="Purchases, refunds and cancellations, newest first, 10 a page unless "
        "asked: on with `first` and `after`, back with `last` and `before`."
    )
    async def transactions(
        self,
        root: strawberry.Parent[R.MemberView],
        info: Ctx,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> TransactionConnection | None:
        asked = Window(first, after, last, before, DEFAULT_PAGES["Member.transactions"])
        page = await R.transactions(info.context, root, asked)
        return TransactionConnection(
            edges=[TransactionEdge(cursor=c, node=n) for c, n in page.items],  # type: ignore[arg-type]
            page_info=page_info(page),
            total_count=page.total,
        )

    @strawberry.field(description="Recent web analytics events, newest first.")
    async def web_activity(
        self,
        root: strawberry.Parent[R.MemberView],
        info: Ctx,
        first: Annotated[int, strawberry.argument(description="How many (at most 100).")] = 20,
    ) -> list[WebEvent] | None:
        return await R.web_activity(info.context, root, first)  # type: ignore[return-value]

    @strawberry.field(description="Call-center interactions, newest first.")
    async def call_center_interactions(
        self,
        root: strawberry.Parent[R.MemberView],
        info: Ctx,
        first: Annotated[int, strawberry.argument(description="How many (at most 100).")] = 20,
    ) -> list[CallInteraction] | None:
        return await R.call_interactions(info.context, root, first)  # type: ignore[return-value]

    @strawberry.field(description="Points balance, lifetime and 12-month spend, tier and progress.")
    async def loyalty(self, root: Parent, info: Ctx) -> Loyalty | None:
        return await I.loyalty(info.context, root)  # type: ignore[return-value]

    @strawberry.field(description="RFM and engagement scores (null: not scored yet).")
    async def rfm(self, root: Parent, info: Ctx) -> Rfm | None:
        found = await I.rfm(info.context, root)
        if found is None:
            return None
        return Rfm(
            recency=found.scores.recency,
            frequency=found.scores.frequency,
            monetary=found.scores.monetary,
            engagement=found.scores.engagement,
            recency_days=found.recency_days,
            purchases_12m=found.purchases_12m,
            spend_12m_cents=BigInt(found.spend_12m_cents),
            reference_date=found.reference,
        )

    @strawberry.field(description="Segments the member is in.")
    async def segments(self, root: Parent, info: Ctx) -> list[Segment]:
        return [Segment(s.value) for s in await I.segments(info.context, root)]

    @strawberry.field(description="Consent per channel: the newest explicit choice wins.")
    async def consents(self, root: Parent, info: Ctx) -> list[Consent] | None:
        return [
            Consent(
                channel=Channel(c.channel.value),
                granted=c.granted,
                source=Source(c.source) if c.source else None,
                record=c.record,
                at=c.at,
                line=c.line,
                history=[
                    ConsentChange(
                        granted=h.granted,
                        at=h.at,
                        source=Source(h.source),
                        record=h.record,
                        line=h.line,
                    )
                    for h in c.history
                ],
            )
            for c in await C.consents(info.context, root)
        ]

    @strawberry.field(description="Channels with consent and an identifier to reach the member on.")
    async def reachable_channels(self, root: Parent, info: Ctx) -> list[Channel] | None:
        return [Channel(c.value) for c in await C.reachable(info.context, root)]

    @strawberry.field(
        description="Purchases, web events and calls in one timeline, newest first, 20 a "
        "page unless asked: on with `first` and `after`, back with `last` and `before`."
    )
    async def activity(
        self,
        root: Parent,
        info: Ctx,
        first: PageFirst = None,
        after: PageAfter = None,
        last: PageLast = None,
        before: PageBefore = None,
    ) -> ActivityConnection | None:
        asked = Window(first, after, last, before, DEFAULT_PAGES["Member.activity"])
        page = await I.activity(info.context, root, asked)
        return ActivityConnection(
            edges=[ActivityEdge(cursor=c, node=_item(n)) for c, n in page.items],
            page_info=page_info(page),
            total_count=page.total,
        )

    @strawberry.field(description="Offers seen in web events and whether they were redeemed.")
    async def offers(self, root: Parent, info: Ctx) -> list[OfferStatus] | None:
        return await I.offers(info.context, root)  # type: ignore[return-value]

    @strawberry.field(description="Open complaints, last contact and sentiment trend.")
    async def call_center(self, root: Parent, info: Ctx) -> CallCenterSummary | None:
        return await I.calls(info.context, root)  # type: ignore[return-value]

    @strawberry.field(
        description="Why a record belongs to this member: the chain of links from the member's "
        "first CRM contact (else first record) to it. Null if the record is not this member's."
    )
    async def explain(
        self,
        root: strawberry.Parent[R.MemberView],
        info: Ctx,
        record: Annotated[
            RecordRefInput, strawberry.argument(description="The record to explain.")
        ],
    ) -> list[Link] | None:
        path = await R.explain(info.context, root, record.ref())
        if path is None:
            return None
        return [
            Link(
                a=as_record(k.a),
                b=as_record(k.b),
                rule=k.rule,
                evidence=k.evidence,  # type: ignore[arg-type]  # JSON accepts any dict
                actor=k.actor,
                created_at=k.created_at,
            )
            for k in path
        ]

    @strawberry.field(
        description="Every identity change of this member: links, merges, conflicts, steward "
        "changes, oldest first. It follows merges: the changes written under an ID merged "
        "into this member (through any chain of merges) are its history too, each merge once."
    )
    async def identity_history(
        self, root: strawberry.Parent[R.MemberView], info: Ctx
    ) -> list[IdentityEvent]:
        events = await member_history.identity_history(info.context, root)
        taken_back = await member_history.taken_back(info.context, root, events)
        shown = await event_ids(info.context)
        return [identity_event(e, taken_back, shown) for e in events]


@strawberry.type(description="A member and its cursor.")
class MemberEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: Member = strawberry.field(description="The member.")


@strawberry.type(
    description="A page of members, in the order `members` was asked for (`orderBy`; ID by "
    "default), ties by member ID."
)
class MemberConnection:
    edges: list[MemberEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="Members matching the filter.")


def member_connection(page: Page[R.MemberView]) -> MemberConnection:
    return MemberConnection(
        # Resolvers hand back domain objects; Strawberry reads the Member fields off them.
        edges=[MemberEdge(cursor=c, node=n) for c, n in page.items],  # type: ignore[arg-type]
        page_info=page_info(page),
        total_count=page.total,
    )
