"""Stewards' decisions on identity conflicts: ``resolveConflict``."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from membergraph.identity.steward_conflicts import Decision
from membergraph.resolvers import steward as S
from membergraph.schema.member import Member
from membergraph.schema.mutation import DryRun, Reason
from membergraph.schema.permissions import AcrossMembers, requires
from membergraph.schema.types import Ctx, RecordRefInput

__all__ = ["ConflictDecision", "ConflictMutation"]


@strawberry.enum(description="What a steward decides about an identity conflict.")
class ConflictDecision(Enum):
    LINK = strawberry.enum_value(
        Decision.LINK.value,
        description="The engine was wrong: make the link it refused, as a steward's link.",
    )
    DISMISS = strawberry.enum_value(
        Decision.DISMISS.value,
        description="The engine was right: nothing changes, the conflict leaves the queue.",
    )


@strawberry.type(description="Stewards' decisions on identity conflicts.")
class ConflictMutation:
    @strawberry.mutation(
        description="Decide an open identity conflict (`identityConflicts`) by its event id; "
        "either way it leaves the open queue and stays in `identityHistory`, with a "
        "`conflict_resolved` event beside it. LINK makes the link the engine refused, as "
        "`linkRecords` does (the same `move` guardrail: `WOULD_MOVE_RECORDS`): a conflict "
        "of two records (LIMIT, CANNOT_LINK) links them; one over a call or a web visitor "
        "gives that record to the member of `target` (by default the one record of the "
        "conflict it is not on now), parting it from the member it leaves, whose people stay "
        "two. Undo it with `undo` on its `steward` event (rule `resolve_conflict`): the "
        "conflict opens again. DISMISS changes nothing else; `undo` on its "
        "`conflict_resolved` event opens the conflict again. Refused with `NOT_FOUND` (no "
        "such conflict), `ALREADY_RESOLVED` (decided, not undone: a steward's link or accepted "
        "suggestion that joined its records decided it too, rule `joined`) and, for DISMISS, "
        "`RECORDS_JOINED` (its records are one member now). Answers the members concerned, "
        "as they are after.",
        permission_classes=[requires("identity:write"), AcrossMembers],
    )
    async def resolve_conflict(
        self,
        info: Ctx,
        event_id: Annotated[
            strawberry.ID, strawberry.argument(description="The `conflict` event's id.")
        ],
        decision: Annotated[ConflictDecision, strawberry.argument(description="LINK or DISMISS.")],
        reason: Reason,
        target: Annotated[
            RecordRefInput | None,
            strawberry.argument(
                description="LINK of a conflict over a call or a web visitor: the record of "
                "the conflict that call or visitor belongs with."
            ),
        ] = None,
        move: Annotated[
            bool,
            strawberry.argument(
                description="LINK: allow it to move profile records away from another member, "
                "as in `linkRecords`."
            ),
        ] = False,
        dry_run: DryRun = False,
    ) -> list[Member] | None:
        chosen = Decision(str(decision.value))
        where = target.ref() if target is not None else None
        return await S.resolve(  # type: ignore[return-value]
            info.context, str(event_id), chosen, reason, where, move, dry_run
        )
