"""Stewards' mutations and the memberChanged subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from membergraph.resolvers import steward as S
from membergraph.schema.member import Member
from membergraph.schema.permissions import (
    AcrossMembers,
    MaskPII,
    OwnMemberArgument,
    requires,
)
from membergraph.schema.types import Ctx, RecordRefInput


def _ref(ref: RecordRefInput) -> tuple[str, str]:
    return S.record_ref(ref.source, ref.key)


Reason = Annotated[str, strawberry.argument(description="Why: kept in the members' history.")]


@strawberry.type(
    description="Stewards' identity changes. Each answers the members as they are after it."
)
class Mutation:
    @strawberry.mutation(
        description="Merge the members of two records (a steward's manual link). Lifts any "
        "cannot-link between the two members left by an earlier split.",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def link_records(
        self,
        info: Ctx,
        a: Annotated[RecordRefInput, strawberry.argument(description="One record.")],
        b: Annotated[RecordRefInput, strawberry.argument(description="The other record.")],
        reason: Reason,
    ) -> list[Member]:
        return await S.link(info.context, _ref(a), _ref(b), reason)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Un-merge: the listed records leave the member and form their own. Links "
        "crossing the cut are retracted and a cannot-link keeps rules from joining them again.",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def split_member(
        self,
        info: Ctx,
        member_id: Annotated[
            strawberry.ID, strawberry.argument(description="The member to split.")
        ],
        records: Annotated[
            list[RecordRefInput],
            strawberry.argument(description="Records that leave (at most 1000)."),
        ],
        reason: Reason,
    ) -> list[Member]:
        refs = [_ref(r) for r in records]
        return await S.split(info.context, str(member_id), refs, reason)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Undo one merge from `identityHistory` by its event id: each side gets its "
        "records and its member ID back; facts follow their records.",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def undo_merge(
        self,
        info: Ctx,
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The `merged` event's id.")
        ],
        reason: Reason,
    ) -> list[Member]:
        return await S.undo(info.context, str(event_id), reason)  # type: ignore[return-value]


@strawberry.enum(description="What happened to members.")
class MemberChangeKind(Enum):
    MERGED = strawberry.enum_value(
        "merged", description="Two members became one (the first ID survives)."
    )
    SPLIT = strawberry.enum_value("split", description="A member became several.")
    LINKED = strawberry.enum_value("linked", description="Records joined or left a member.")


@strawberry.type(description="An identity change, pushed as it happens.")
class MemberChanged:
    kind: MemberChangeKind = strawberry.field(description="What happened.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="The members concerned, survivor first."
    )
    actor: str = strawberry.field(description="Rule engine run or person that made the change.")
    reason: str | None = strawberry.field(
        extensions=[MaskPII(text=True, bound_too=True)],
        description="A person's stated reason: free text, `***` without pii:read and for a "
        "token bound to one member.",
    )
    at: datetime = strawberry.field(description="When.")


@strawberry.type(description="Changes pushed to clients over graphql-transport-ws.")
class Subscription:
    @strawberry.subscription(
        description="Identity changes as they happen; only those naming `id` if given, so a "
        "personalization service stops using a merged profile at once. A token bound to one "
        "member must pass that member's ID.",
        permission_classes=[requires("profile:read"), OwnMemberArgument],
    )
    async def member_changed(
        self,
        info: Ctx,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A member ID to follow.")
        ] = None,
    ) -> AsyncGenerator[MemberChanged, None]:
        async for change in S.member_changes(info.context, str(id) if id else None):
            yield MemberChanged(
                kind=MemberChangeKind(change.kind),
                member_ids=[strawberry.ID(m) for m in change.member_ids],
                actor=change.actor,
                reason=change.reason,
                at=change.at,
            )
