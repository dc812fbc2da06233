"""Stewards' mutations and the memberChanged subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from membergraph.identity.feed import FeedEntry
from membergraph.resolvers import steward as S
from membergraph.schema.enums import Source
from membergraph.schema.facts import PageInfo
from membergraph.schema.member import Member
from membergraph.schema.permissions import (
    AcrossMembers,
    MaskPII,
    OwnMemberArgument,
    requires,
)
from membergraph.schema.types import Ctx, RecordRefInput


def _ref(ref: RecordRefInput) -> tuple[str, str]:
    return ref.ref()


Reason = Annotated[str, strawberry.argument(description="Why: kept in the members' history.")]
DryRun = Annotated[
    bool,
    strawberry.argument(
        description="Change nothing: answer the members as the change would leave them (their "
        "ID, records, identifiers, profile, loyalty balance and purchases; `rfm`, `segments` "
        "and `identityHistory` stay as they are now), each with `change`: the members it is "
        "made of now, the records that would join and leave it, its points balance now and "
        "after. Personal data shown is logged in the access log of the members as they are "
        "now whose records the answer holds."
    ),
]


@strawberry.type(
    description="Stewards' identity changes. Each answers the members as they are after it."
)
class Mutation:
    @strawberry.mutation(
        description="Merge the members of two records (a steward's manual link). Lifts any "
        "cannot-link between the two members left by an earlier split (the link's event lists "
        "them; `undo` puts them back). A steward's rejection (`rejectSuggestion`) between two "
        "other records of the two members is never lifted unsaid: the link is refused with "
        "`extensions.code` `WOULD_LIFT_REJECTION`, `extensions.members` (the two members), "
        "`extensions.records` (the contacts rejected as two people) and `extensions.events` "
        "(the rejections' `steward` events), unless `liftRejection` is true; a link of the two "
        "rejected contacts themselves lifts it. When the rules cannot "
        "hold the two together (a loyalty card linked to a second CRM contact), the link would "
        "take profile records (cards, CRM contacts, online accounts) away from a member "
        "instead: it is refused with `extensions.code` `WOULD_MOVE_RECORDS`, "
        "`extensions.members` (the members that would lose records) and `extensions.records` "
        "(`source:key` of the records that would leave), unless `move` is true. A shared device "
        "(a web visitor logged in as two members: in no member) is given to the member of the "
        "other record, its browsing with it (undo it with `undo`); a purchase that identifies "
        "no one (keyed by a placeholder) is refused `NOT_FOUND`.",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def link_records(
        self,
        info: Ctx,
        a: Annotated[RecordRefInput, strawberry.argument(description="One record.")],
        b: Annotated[RecordRefInput, strawberry.argument(description="The other record.")],
        reason: Reason,
        move: Annotated[
            bool,
            strawberry.argument(
                description="Allow the link to move profile records away from another member "
                "(answered then with both members, as they are after the move)."
            ),
        ] = False,
        dry_run: DryRun = False,
        lift_rejection: Annotated[
            bool,
            strawberry.argument(
                description="Allow the link to join contacts a steward rejected as two people "
                "(`rejectSuggestion`) through other records of their members: the rejection "
                "is lifted, listed in the link's event, and put back by its `undo`."
            ),
        ] = False,
    ) -> list[Member] | None:
        return await S.link(  # type: ignore[return-value]
            info.context, _ref(a), _ref(b), reason, move, dry_run, lift_rejection=lift_rejection
        )

    @strawberry.mutation(
        description="Un-merge: the listed records leave the member and form their own. Links "
        "crossing the cut are retracted and a cannot-link keeps rules from joining them again. "
        "The member ID stays with the side holding the person's CRM contact (else a loyalty "
        "card or online account, never web visitors or calls alone) among those its records "
        "came from; when both sides hold one, with the side holding the record the member "
        "began with. The other side gets back the ID it had before a merge, or a new one. "
        "A card or online account only the rules tied to the leaving records leaves with "
        "them. Splitting off a member's only CRM contact when it alone holds several cards "
        "or accounts together is refused with `WOULD_STRAND_RECORDS` (`extensions.records`: "
        "the records that would each become a member of its own; `dryRun` answers the same): "
        "link those that stay to each other first (`linkRecords`), then split again "
        "(picking them to leave instead makes each a member of its own too). The same split "
        "sent again (a client's retry) while the member is as that split left it (no event on "
        "it since) writes nothing and answers the members as they are, `change` moving "
        "nothing; after any later change of the member it is a new split.",
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
        dry_run: DryRun = False,
    ) -> list[Member] | None:
        refs = [_ref(r) for r in records]
        return await S.split(info.context, str(member_id), refs, reason, dry_run)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Undo one merge from `identityHistory` by its event id: each side gets its "
        "records and its member ID back; facts follow their records. A merge undone since "
        "answers `ALREADY_UNDONE`; an event of another kind `NOT_A_MERGE` (a steward's change "
        "is undone with `undo`); an id of no event `NOT_FOUND` (saying so when the event was "
        "erased with its member's history).",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def undo_merge(
        self,
        info: Ctx,
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The `merged` event's id.")
        ],
        reason: Reason,
        dry_run: DryRun = False,
    ) -> list[Member] | None:
        return await S.undo(info.context, str(event_id), reason, dry_run)  # type: ignore[return-value]

    @strawberry.mutation(
        description="Undo any steward change exactly: a link (or move), a split, an undone "
        "merge, an accepted or rejected suggestion, an undo. Pass the id of its `steward` "
        "event in `identityHistory` (a `merged` event works too, as in `undoMerge`; any other "
        "answers `NOT_UNDOABLE` saying why, see `IdentityEvent.undoable`). The "
        "constraints the change made are reversed and the members resolved again. Refused "
        "with `LATER_CHANGES_DEPEND` when a later steward change touches the same records "
        "(undo those first), and with `ALREADY_UNDONE` naming the undo when the change was "
        "undone since (`IdentityEvent.undoneBy`; undo that undo to make the change again); "
        "`LATER_CHANGES_DEPEND` too when what the change made is no longer as it left it, "
        "since an undo answers only when it reverses the change exactly. An id of no event "
        "answers `NOT_FOUND` (saying so when the event was erased with its member's history).",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def undo(
        self,
        info: Ctx,
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The `steward` event's id.")
        ],
        reason: Reason,
        dry_run: DryRun = False,
    ) -> list[Member] | None:
        return await S.undo(info.context, str(event_id), reason, dry_run, any_change=True)  # type: ignore[return-value]


@strawberry.enum(description="What happened to members: identity changes and facts.")
class MemberChangeKind(Enum):
    MERGED = strawberry.enum_value(
        "merged", description="Two members became one (the first ID survives)."
    )
    SPLIT = strawberry.enum_value("split", description="A member became several.")
    LINKED = strawberry.enum_value(
        "linked", description="Records joined or left a member that was live before."
    )
    MEMBER_CREATED = strawberry.enum_value(
        "member_created",
        description="A member that did not exist: a new person's first line (a new contact, "
        "a first purchase on a new card). A split announces its new members as SPLIT.",
    )
    UNDONE = strawberry.enum_value(
        "undone",
        description="A steward's `undo` or `undoMerge`, announced after the MERGED, SPLIT or "
        "LINKED entries it made (those alone read as any steward change), naming the members "
        "they name.",
    )
    PURCHASE_RECORDED = strawberry.enum_value(
        "purchase_recorded",
        description="A new purchase, refund or cancellation line; one that redeems an offer "
        "is announced as OFFER_REDEEMED too.",
    )
    PURCHASE_STATUS_CHANGED = strawberry.enum_value(
        "purchase_status_changed", description="A purchase was refunded or cancelled."
    )
    PURCHASE_UPDATED = strawberry.enum_value(
        "purchase_updated", description="A purchase line changed otherwise."
    )
    OFFER_REDEEMED = strawberry.enum_value(
        "offer_redeemed",
        description="An offer was used: stop reminding of it. An `Offer Redeemed` web event, "
        "or a new purchase or a call with an `offer_code` (announced as WEB_EVENT, "
        "PURCHASE_RECORDED or CALL too, first).",
    )
    WEB_EVENT = strawberry.enum_value(
        "web_event",
        description="A web analytics event; an `Offer Redeemed` one is announced as "
        "OFFER_REDEEMED too, a consent choice as CONSENT_CHANGED too.",
    )
    CALL = strawberry.enum_value(
        "call",
        description="A call-center interaction; one that redeems an offer is announced as "
        "OFFER_REDEEMED too.",
    )
    PROFILE_UPDATED = strawberry.enum_value(
        "profile_updated",
        description="A CRM contact was created, or a version changed more than its consents.",
    )
    CONSENT_CHANGED = strawberry.enum_value(
        "consent_changed",
        description="A CRM contact's consents changed (e.g. unsubscribed), or a web event "
        "stated a consent choice (Unsubscribed, Subscribed, Consent Updated: announced as "
        "WEB_EVENT too); a CRM version that also changed a profile field is announced as "
        "PROFILE_UPDATED too.",
    )
    ERASED = strawberry.enum_value(
        "erased", description="The member was erased (a privacy request): forget them."
    )
    SUPPRESSED = strawberry.enum_value(
        "suppressed", description="Identifiers of the member were suppressed or unsuppressed."
    )
    DELETION_REQUESTED = strawberry.enum_value(
        "deletion_requested",
        description="A source the gateway does not own (`source`) must erase the member's lines.",
    )
    TIER_CHANGED = strawberry.enum_value(
        "tier_changed",
        description="The member's loyalty tier (`loyalty { tier }`, reached by spend) moved, up "
        "or down: a purchase, a refund, a merge or a split moved their spend, or the "
        "qualification window passed. Announced once the member's figures are measured again "
        "(in the same store transaction), after the entries that moved it; read the new tier "
        "from `loyalty`. A member measured for the first time has no tier to change from.",
    )
    CONFLICT_DECIDED = strawberry.enum_value(
        "conflict_decided",
        description="A steward dismissed an identity conflict of the member's, or opened one "
        "again (an undo): its `identityHistory` and the open `identityConflicts` changed, no "
        "record moved. A conflict resolved by a link is announced as the MERGED or LINKED "
        "entries the link made.",
    )
    HISTORY_WRITTEN = strawberry.enum_value(
        "history_written",
        description="A steward's decision was written into the members' `identityHistory` "
        "and no record moved: a rejected suggestion (`rejectSuggestion`), a link of records "
        "that were one member already. Read `identityHistory` again.",
    )
    OTHER = strawberry.enum_value(
        "other",
        description="A change of a kind this gateway's release does not name, written by a "
        "newer release over the same store (a rolling upgrade): read the members it names "
        "again. Never written.",
    )


@strawberry.type(description="One entry of the change feed: an identity change or a fact.")
class MemberChanged:
    cursor: str = strawberry.field(
        description="Its place in the feed: pass it as `after` to resume right after it. "
        "Opaque: digits today, sealed for a token bound to one member (its member's only)."
    )
    kind: MemberChangeKind = strawberry.field(description="What happened.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="The members concerned, survivor first; for a token bound to one member, "
        "another member's ID reads `***`."
    )
    actor: str | None = strawberry.field(
        description="Rule engine run or person that made an identity change."
    )
    source: Source | None = strawberry.field(description="The source of a fact's line.")
    line_id: str | None = strawberry.field(description="The id of a fact's line in its source.")
    reason: str | None = strawberry.field(
        extensions=[MaskPII("text", bound_too=True)],
        description="A person's stated reason: free text, `***` without pii:read and for a "
        "token bound to one member.",
    )
    at: datetime = strawberry.field(description="When.")


@strawberry.type(description="Changes pushed to clients over graphql-transport-ws.")
class Subscription:
    @strawberry.subscription(
        description="Every change as it happens, identity and facts (a purchase, a redeemed "
        "offer, a consent withdrawn), made through any gateway process over this store; only "
        "those naming `id` if given (once that member is merged into another, the survivor's "
        "too, until a split gives `id` back). With `after` (a cursor), first every change "
        "since it, in order, exactly once: reconnect with the last cursor you saw and miss "
        "nothing. An `id` that names no member (mistyped, or erased) is an error `NOT_FOUND`, "
        "then the end (with `after`, once the changes since it that name it are told; open when "
        "the member is erased, once `ERASED` is told). A "
        "token bound to one member must pass that member's ID.",
        permission_classes=[requires("profile:read"), OwnMemberArgument],
    )
    async def member_changed(
        self,
        info: Ctx,
        id: Annotated[
            strawberry.ID | None, strawberry.argument(description="A member ID to follow.")
        ] = None,
        after: Annotated[
            str | None,
            strawberry.argument(description="Resume after this cursor (a `cursor` received)."),
        ] = None,
    ) -> AsyncGenerator[MemberChanged, None]:
        changes = S.member_changes(info.context, str(id) if id else None, after)
        async for cursor, change in changes:
            yield member_changed(change, cursor)


@strawberry.type(description="One change of the feed, with its cursor.")
class ChangeEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from here.")
    node: MemberChanged = strawberry.field(description="The change.")


@strawberry.type(description="A page of the change feed, oldest first.")
class ChangeConnection:
    edges: list[ChangeEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")


def change_connection(entries: list[FeedEntry], first: int) -> ChangeConnection:
    """A page from ``first + 1`` entries read (the extra one says whether more follow)."""
    shown = [member_changed(entry) for entry in entries[:first]]
    return ChangeConnection(
        edges=[ChangeEdge(cursor=c.cursor, node=c) for c in shown],
        page_info=PageInfo(
            has_next_page=len(entries) > first,
            has_previous_page=bool(shown) and entries[0].cursor > 1,
            start_cursor=shown[0].cursor if shown else None,
            end_cursor=shown[-1].cursor if shown else None,
        ),
    )


def member_changed(change: FeedEntry, cursor: str | None = None) -> MemberChanged:
    """A feed entry as the schema shows it (``cursor``: its cursor as the caller is shown
    it, when not its position's digits)."""
    return MemberChanged(
        cursor=str(change.cursor) if cursor is None else cursor,
        kind=MemberChangeKind(change.kind.value),
        member_ids=[strawberry.ID(m) for m in change.member_ids],
        actor=change.actor,
        source=Source(change.source) if change.source else None,
        line_id=change.line_id,
        reason=change.reason,
        at=change.at,
    )
