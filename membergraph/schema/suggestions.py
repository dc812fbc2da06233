"""Match suggestions for stewards: the query, accepting and rejecting one."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission

from membergraph.identity.steward_suggestions import MemberSuggestion
from membergraph.resolvers import steward as S
from membergraph.resolvers import suggestion_pages as P
from membergraph.schema.facts import PageInfo, page_info
from membergraph.schema.member import Member
from membergraph.schema.mutation import DryRun, Reason
from membergraph.schema.permissions import AcrossMembers, MaskPII, requires
from membergraph.schema.types import Ctx, Record, RecordRefInput, as_record

__all__ = ["SuggestionMutation", "SuggestionQuery"]


@strawberry.type(description="How one field of the two contacts compares, and what it weighs.")
class FieldAgreement:
    field: str = strawberry.field(
        description="first_name, last_name, birth_date, address, phone or email."
    )
    level: str = strawberry.field(
        description="exact, close (a typo, a short form; a birth date one part "
        "off or its day and month swapped), similar (family names alike, past a typo), postcode "
        "(same postcode, other street), street (the same street line and house "
        "number under another postcode: a typed postcode), shared (a phone or e-mail both "
        "carry), household (a phone both carry at one address: the household's line, no "
        "news once the address agrees; a family name or birth date agreed at one address), "
        "crowded (a phone or e-mail both carry that contacts of many first names carry: a "
        "family's, a store's), generation (one family name, a Jr. or Sr. on one only: father "
        "and son; not when they share an e-mail or card of their own and no birth dates "
        "that differ), differs, or missing (one of them has none)."
    )
    weight: float = strawberry.field(
        description="What the agreement adds to the match weight, in bits (log2 of how much "
        "likelier it is for one person than for two): negative when it speaks against."
    )
    rule_weight: float | None = strawberry.field(
        default=None,
        description="The rules' weight for this level when the one above was estimated from "
        "the data (`estimate_weight_bits` in the rules, on by default among 1,000 contacts or "
        "more: expectation-maximisation, as Splink does); null when the weight is the rules' "
        "own.",
    )
    a: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="The first contact's value (pii:read)."
    )
    b: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="The second contact's value (pii:read)."
    )
    swapped: bool = strawberry.field(
        default=False,
        description="A name compared across: first and last names typed the wrong way round "
        "on one contact (Karen Sullivan / Sullivan Edwards: `last_name` `exact` compares "
        "`Sullivan` with `Sullivan`, one's last name with the other's first); `a` and `b` are "
        "the names compared.",
    )


@strawberry.type(
    description="Two members whose CRM contacts may be one person: the rules did not merge "
    "them (too weak evidence on its own), a steward decides."
)
class MatchSuggestion:
    a: Record = strawberry.field(description="A contact of the first member.")
    b: Record = strawberry.field(description="A contact of the second member.")
    member_ids: list[strawberry.ID] = strawberry.field(
        description="The two members, as they are now."
    )
    score: float = strawberry.field(
        description="Match probability, 0 to 1, from the fields' agreement weights "
        "(Fellegi-Sunter) and the prior."
    )
    evidence: list[FieldAgreement] = strawberry.field(description="Each field compared.")
    since: datetime = strawberry.field(
        description="Since when the pair can be reviewed: the newer of the two members' "
        "creation (a queue's age: the oldest have waited longest)."
    )


@strawberry.type(description="One suggestion with its cursor.")
class MatchSuggestionEdge:
    cursor: str = strawberry.field(
        description="Pass as `after` to read on from here: it names this pair and its place "
        "(opaque), so pairs decided or added meanwhile neither hide nor repeat others."
    )
    node: MatchSuggestion = strawberry.field(description="The suggestion.")


@strawberry.type(description="A page of match suggestions, in the order asked.")
class MatchSuggestionConnection:
    edges: list[MatchSuggestionEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="How many suggestions in all.")


def _suggestion(found: MemberSuggestion, created: dict[str, datetime]) -> MatchSuggestion:
    s = found.suggestion
    return MatchSuggestion(
        a=as_record(s.a),
        b=as_record(s.b),
        member_ids=[strawberry.ID(m) for m in found.members],
        score=round(s.score, 6),
        evidence=[
            FieldAgreement(
                field=e.field,
                level=e.level,
                weight=e.weight,
                rule_weight=e.rule_weight,
                a=e.a,
                b=e.b,
                swapped=e.swapped,
            )
            for e in s.evidence
        ],
        since=max(created[m] for m in found.members),
    )


@strawberry.enum(description="The order of `matchSuggestions`.")
class SuggestionOrder(Enum):
    BEST = strawberry.enum_value("best", description="Highest score first (the default).")
    WORST = strawberry.enum_value("worst", description="Lowest score first.")
    OLDEST = strawberry.enum_value(
        "oldest", description="Waiting longest first (`since`); the better score first among ties."
    )
    NEWEST = strawberry.enum_value(
        "newest", description="Newest first (`since`); the better score first among ties."
    )


_ORDERS: dict[SuggestionOrder, P.SuggestionOrder] = {
    SuggestionOrder.BEST: "best",
    SuggestionOrder.WORST: "worst",
    SuggestionOrder.OLDEST: "oldest",
    SuggestionOrder.NEWEST: "newest",
}
Contact = Annotated[RecordRefInput, strawberry.argument(description="A CRM contact.")]
Permissions: list[type[BasePermission]] = [requires("identity:write"), AcrossMembers]


@strawberry.type
class SuggestionQuery:
    @strawberry.field(
        description="Pairs of members the rules did not merge whose CRM contacts may be one "
        "person (close names and one birth date, one address and phone, ...), best first "
        "(or as `orderBy` says), "
        "with the evidence per field. A pair of members a cannot-link keeps apart (a steward's "
        "rejection, a split) never comes back, whichever two of their contacts it would name.",
        permission_classes=Permissions,
    )
    async def match_suggestions(
        self,
        info: Ctx,
        first: Annotated[int, strawberry.argument(description="How many (at most 100).")] = 20,
        after: Annotated[
            str | None,
            strawberry.argument(
                description="Continue after this pair (an edge's `cursor` or `endCursor`), "
                "even once it is accepted or rejected; a cursor given under another "
                "`orderBy` or `minScore` is refused (BAD_USER_INPUT)."
            ),
        ] = None,
        min_score: Annotated[
            float | None,
            strawberry.argument(description="Least score (0 to 1); the rules' default if null."),
        ] = None,
        order_by: Annotated[
            SuggestionOrder,
            strawberry.argument(
                description="Best, worst, oldest or newest first, over the whole queue (a "
                "cursor reads on in the order it was given in)."
            ),
        ] = SuggestionOrder.BEST,
    ) -> MatchSuggestionConnection | None:
        found = await P.suggestion_page(info.context, first, after, min_score, _ORDERS[order_by])
        page = found.page
        edges = [
            MatchSuggestionEdge(cursor=cursor, node=_suggestion(pair, found.created))
            for cursor, pair in page.items
        ]
        return MatchSuggestionConnection(
            edges=edges, page_info=page_info(page), total_count=page.total
        )


@strawberry.type
class SuggestionMutation:
    @strawberry.mutation(
        description="Accept a suggestion: link its two contacts, an ordinary steward's link "
        "(undo it with `undo` on its `steward` event, or `undoMerge` on its `merged` event). "
        "Refused with `WOULD_MOVE_RECORDS` as `linkRecords` is, unless `move` is true; "
        "refused with `WOULD_LIFT_REJECTION` "
        "(`extensions.members`, `extensions.records`, `extensions.events`: the rejections' "
        "`steward` events) when a steward's rejection stands between the two members, of "
        "these two contacts (rejected since the suggestion was read) or of others, unless "
        "`liftRejection` is true. A `dryRun` answers the same refusals.",
        permission_classes=Permissions,
    )
    async def accept_suggestion(
        self,
        info: Ctx,
        a: Contact,
        b: Contact,
        reason: Reason,
        dry_run: DryRun = False,
        move: Annotated[
            bool,
            strawberry.argument(
                description="Allow the link to move profile records away from another member "
                "(answered then with both members, as they are after the move), as "
                "`linkRecords`'s `move`."
            ),
        ] = False,
        lift_rejection: Annotated[
            bool,
            strawberry.argument(
                description="Allow the link to join members a steward rejected as two people "
                "(`rejectSuggestion`): the rejection is lifted, listed in the link's event, "
                "and put back by its `undo`."
            ),
        ] = False,
    ) -> list[Member] | None:
        refs = a.ref(), b.ref()
        return await S.accept(  # type: ignore[return-value]
            info.context, *refs, reason, dry_run, move=move, lift_rejection=lift_rejection
        )

    @strawberry.mutation(
        description="Reject a suggestion: a cannot-link keeps the two contacts apart, so the "
        "pair is never suggested again and no rule joins them later (a `linkRecords` between "
        "them lifts it). `ALREADY_MERGED` if they are one member: split it instead. Sent "
        "again while the rejection stands (a retry), it answers the two members and writes "
        "nothing.",
        permission_classes=Permissions,
    )
    async def reject_suggestion(
        self, info: Ctx, a: Contact, b: Contact, reason: Reason, dry_run: DryRun = False
    ) -> list[Member] | None:
        refs = a.ref(), b.ref()
        return await S.reject(info.context, *refs, reason, dry_run)  # type: ignore[return-value]
