"""Privacy in the schema: export, erasure, suppression, requests and the audit of who read
what. Everything here needs the ``privacy:admin`` scope, and no token bound to a member."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission
from strawberry.scalars import JSON
from strawberry.types import Info

from membergraph.privacy.audit import path_of
from membergraph.privacy.port import AccessEntry, PrivacyRequest
from membergraph.privacy.preview import ErasurePreview
from membergraph.resolvers import privacy as P
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.members import MemberView
from membergraph.resolvers.paging import check_first
from membergraph.schema.compiled import WRITES
from membergraph.schema.enums import Source
from membergraph.schema.erasure_preview import ErasurePreviewType, preview_of
from membergraph.schema.permissions import AcrossMembers, requires
from membergraph.schema.types import Ctx, IdentifierKind, RecordRefInput

__all__ = ["MemberScope", "PrivacyMutation", "PrivacyQuery", "audit_member_fields"]


class MemberScope(FieldExtension):
    """On every field of ``Member``: notes where in the answer each member sits, so a
    personal field unmasked below it is recorded against that member (only for callers
    with ``pii:read``: for others nothing is noted and nothing is recorded).

    Args:
        concerns: for a type outside ``Member`` that shows members' personal values (a match
            suggestion, an identity conflict), the members its parent object concerns.
    """

    def __init__(self, concerns: Callable[[Any], Sequence[str]] | None = None) -> None:
        self.concerns = concerns

    def _note(self, source: Any, info: Info[Any, Any]) -> None:
        reads = getattr(info.context, "pii_reads", None)
        if reads is None or not reads.enabled:
            return
        if self.concerns is not None:
            reads.concerns_at(path_of(info.path.prev), tuple(self.concerns(source)))
        elif isinstance(source, MemberView):
            reads.member_at(path_of(info.path.prev), source.shown)

    def resolve(
        self, next_: Callable[..., Any], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        self._note(source, info)
        return next_(source, info, **kwargs)

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info[Any, Any], **kwargs: Any
    ) -> Any:
        self._note(source, info)
        return await next_(source, info, **kwargs)


def audit_member_fields(
    member_type: type, concerns: Callable[[Any], Sequence[str]] | None = None
) -> None:
    """Put :class:`MemberScope` on every field of the Member type, or of a type whose
    objects ``concerns`` members (once)."""
    for member_field in member_type.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if not any(isinstance(e, MemberScope) for e in member_field.extensions):
            member_field.extensions.append(MemberScope(concerns))


_ADMIN: list[type[BasePermission]] = [requires("privacy:admin"), AcrossMembers]
MemberId = Annotated[strawberry.ID, strawberry.argument(description="Member ID.")]


@strawberry.enum(description="Where a privacy request is.")
class PrivacyRequestState(Enum):
    PENDING = strawberry.enum_value("pending", description="Taken; not every step ran yet.")
    DONE = strawberry.enum_value("done", description="Every step succeeded.")
    PARTIAL = strawberry.enum_value(
        "partial", description="A step failed (see `steps`); it is retried until done."
    )
    DRY_RUN = strawberry.enum_value(
        "dry_run",
        description="A dry run (`eraseMember(dryRun: true)`): nothing was done or recorded; "
        "`preview` says what would go.",
    )
    AWAITING_SOURCES = strawberry.enum_value(
        "awaiting_sources",
        description="Every step here succeeded; a source the gateway does not own (an HTTP "
        "API) was asked to delete the person's lines and has not confirmed it (see `sources`; "
        "`confirmSourceDeletion` records the confirmation).",
    )


@strawberry.enum(description="What became of a person's lines in one source.")
class SourceDeletionState(Enum):
    DELETED = strawberry.enum_value("deleted", description="Deleted here (a source it owns).")
    REQUESTED = strawberry.enum_value(
        "requested",
        description="Not owned here (an HTTP API): a DELETION_REQUESTED entry on the change "
        "feed asks its operator; not confirmed yet.",
    )
    CONFIRMED = strawberry.enum_value(
        "confirmed", description="Not owned here; its operator confirmed the deletion."
    )


@strawberry.type(description="A source that held the person's lines, and what became of them.")
class SourceDeletion:
    source: Source = strawberry.field(description="The source.")
    state: SourceDeletionState = strawberry.field(description="Deleted, requested or confirmed.")


@strawberry.type(description="One step of a privacy request and its outcome.")
class PrivacyStep:
    name: str = strawberry.field(
        description="suppress, sources, identity, feed or scrub (see docs/privacy.md)."
    )
    outcome: str = strawberry.field(description="`done`, `skipped`, or what failed.")


@strawberry.type(
    name="PrivacyRequest", description="A data subject's request (an erasure) and how far it went."
)
class PrivacyRequestType:
    id: strawberry.ID = strawberry.field(description="Request ID.")
    kind: str = strawberry.field(
        description="`erase` (the member), or `erase_records` (only the records named hers)."
    )
    member_id: strawberry.ID = strawberry.field(description="The member it concerns.")
    reason: str = strawberry.field(description="Why, as the requester gave it.")
    actor: str = strawberry.field(description="Who made the request.")
    state: PrivacyRequestState = strawberry.field(description="Where it is.")
    steps: list[PrivacyStep] = strawberry.field(description="Each step's outcome.")
    sources: list[SourceDeletion] = strawberry.field(
        description="Each source that held the person's lines: deleted here, or (a source "
        "the gateway does not own) requested of its operator until confirmed."
    )
    counts: JSON = strawberry.field(
        description="What was removed, by kind (records, lines, keptForBooks, ...)."
    )
    created_at: datetime = strawberry.field(description="When it was made.")
    updated_at: datetime = strawberry.field(description="When it last ran.")
    preview: ErasurePreviewType | None = strawberry.field(
        default=None, description="A dry run's answer: what would go (null otherwise)."
    )


@strawberry.type(description="One answer that unmasked a member's personal data.")
class PiiAccess:
    id: strawberry.ID = strawberry.field(description="Entry ID (increasing).")
    member_id: strawberry.ID = strawberry.field(description="The member read.")
    actor: str = strawberry.field(description="Who read (the API key's or token's holder).")
    fields: list[str] = strawberry.field(description="Personal fields answered unmasked.")
    at: datetime = strawberry.field(description="When.")
    request_id: str = strawberry.field(description="The HTTP request's id.")


def _request(r: PrivacyRequest) -> PrivacyRequestType:
    return PrivacyRequestType(
        id=strawberry.ID(r.id),
        kind=r.kind,
        member_id=strawberry.ID(r.member_id),
        reason=r.reason,
        actor=r.actor,
        state=PrivacyRequestState(r.state),
        steps=[PrivacyStep(name=n, outcome=o) for n, o in r.steps.items()],
        sources=[
            SourceDeletion(source=Source(s), state=SourceDeletionState(said))
            for s, said in sorted(r.sources.items())
        ],
        counts=cast(JSON, r.counts),
        created_at=r.created_at,
        updated_at=r.updated_at,
    )


MAX_ERASURE_RECORDS = 1000


def _dry_run(found: ErasurePreview, reason: str, actor: str, kind: str) -> PrivacyRequestType:
    """A dry run as a request that was never made."""
    now = datetime.now(UTC)
    return PrivacyRequestType(
        id=strawberry.ID("dry-run"),
        kind=kind,
        member_id=strawberry.ID(found.member_id),
        reason=reason,
        actor=actor,
        state=PrivacyRequestState.DRY_RUN,
        steps=[],
        sources=[],
        counts=cast(JSON, {}),
        created_at=now,
        updated_at=now,
        preview=preview_of(found),
    )


def _access(e: AccessEntry) -> PiiAccess:
    return PiiAccess(
        id=strawberry.ID(str(e.id)),
        member_id=strawberry.ID(e.member_id),
        actor=e.actor,
        fields=list(e.fields),
        at=e.at,
        request_id=e.request_id,
    )


First = Annotated[int, strawberry.argument(description="How many, newest first (at most 1000).")]


def _first(first: int) -> int:
    check_first(first, 1000)
    return first


@strawberry.type(description="Privacy reads for the data-protection officer.")
class PrivacyQuery:
    @strawberry.field(
        description="Everything held about a member, unmasked: records and their source lines, "
        "the lines of theirs outside them that an erasure would take too "
        "(`lines_outside_records`), identifiers, identity history with evidence, consents "
        "with their history, scores, segments, privacy requests and who read their data "
        "(`cut` says what was left out); `warnings` first says when the member may hold more "
        "than one person (`ERASURE_SPANS_PEOPLE`). Null for an unknown member.",
        permission_classes=_ADMIN,
        metadata={WRITES: True},  # the export is audited
    )
    async def export_member(self, info: Ctx, id: MemberId) -> JSON | None:
        return cast(JSON | None, await P.export(info.context, str(id)))

    @strawberry.field(description="Privacy requests, newest first.", permission_classes=_ADMIN)
    async def privacy_requests(
        self,
        info: Ctx,
        first: First = 100,
        offset: Annotated[
            int, strawberry.argument(description="How many to skip (0 or more).")
        ] = 0,
        member_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="Only this member's.")
        ] = None,
    ) -> list[PrivacyRequestType] | None:
        if offset < 0:
            raise bad_input(f"offset must be 0 or more, got {offset}", argument="offset")
        found = await P.requests(
            info.context, _first(first), offset, str(member_id) if member_id else None
        )
        return [_request(r) for r in found]

    @strawberry.field(
        description="Who read the member's personal data (answers with pii:read), newest first.",
        permission_classes=_ADMIN,
    )
    async def pii_access_log(
        self, info: Ctx, member_id: MemberId, first: First = 100
    ) -> list[PiiAccess] | None:
        return [_access(e) for e in await P.access_log(info.context, str(member_id), _first(first))]


Value = Annotated[str, strawberry.argument(description="The value, normalized as at ingestion.")]
Kind = Annotated[IdentifierKind, strawberry.argument(description="EMAIL, PHONE or LOYALTY_ID.")]


@strawberry.type(description="Privacy requests: erasure and suppression.")
class PrivacyMutation:
    @strawberry.mutation(
        description="Erase the member: their lines leave the sources the gateway owns "
        "(purchases stay for the books without who made them), their records, identifiers, "
        "links and history leave the identity store, their identifiers are suppressed (not "
        "a value another live member carries too). Idempotent: asked again, it answers the "
        "same request (retrying what failed). `NOT_FOUND` for an unknown member with no "
        "request; `ERASURE_SPANS_PEOPLE` (nothing done) for a member whose CRM contacts read "
        "as more than one person or whose records a steward linked, unless `records` names "
        "hers or `wholeMember` confirms all of it is hers; `dryRun` says what would go.",
        permission_classes=_ADMIN,
    )
    async def erase_member(
        self,
        info: Ctx,
        id: MemberId,
        reason: Annotated[
            str,
            strawberry.argument(
                description="Why (kept with the request: name the ticket, not the person)."
            ),
        ],
        suppress: Annotated[
            bool,
            strawberry.argument(
                description="Suppress their identifiers, so their next lines are refused."
            ),
        ] = True,
        dry_run: Annotated[
            bool,
            strawberry.argument(
                description="Change nothing, record nothing: answer what would go "
                "(`preview`, state `DRY_RUN`)."
            ),
        ] = False,
        records: Annotated[
            list[RecordRefInput] | None,
            strawberry.argument(
                description="Only these records of the member are hers (her CRM contacts, "
                "say): they go, with their lines, identifiers and what is hers by them; the "
                "member keeps the rest. For a member holding another person's records."
            ),
        ] = None,
        whole_member: Annotated[
            bool,
            strawberry.argument(
                description="Every record of the member is hers: erase it whole even though "
                "its contacts read as more than one person or a steward linked its records "
                "(else refused, `ERASURE_SPANS_PEOPLE`)."
            ),
        ] = False,
    ) -> PrivacyRequestType | None:
        if records is not None and not 1 <= len(records) <= MAX_ERASURE_RECORDS:
            raise bad_input(f"name 1 to {MAX_ERASURE_RECORDS} records", argument="records")
        only = [r.ref() for r in records] if records is not None else None
        if dry_run:
            P.said_why(reason)  # (as the erasure it previews would refuse it)
            found, narrowed = await P.preview(info.context, str(id), only)
            kind = "erase_records" if narrowed else "erase"  # (all its records: the whole)
            return _dry_run(found, reason, P.actor_of(info.context), kind)
        return _request(await P.erase(info.context, str(id), reason, suppress, only, whole_member))

    @strawberry.mutation(
        description="Record that a source the gateway does not own (an HTTP API) deleted the "
        "member's lines, as its operator confirmed: the source reads CONFIRMED and the request "
        "DONE once no source is awaited. `NOT_FOUND` without a request for the member; "
        "`BAD_USER_INPUT` when its newest request awaits nothing from that source.",
        permission_classes=_ADMIN,
    )
    async def confirm_source_deletion(
        self,
        info: Ctx,
        member_id: MemberId,
        # Not `source` in Python: Strawberry's permission extension takes that name.
        source_name: Annotated[
            Source, strawberry.argument(name="source", description="The source that deleted.")
        ],
    ) -> PrivacyRequestType | None:
        return _request(
            await P.confirm_deletion(info.context, str(member_id), str(source_name.value))
        )

    @strawberry.mutation(
        description="Suppress an identifier: kept only as a keyed hash, lines carrying it are "
        "refused at ingest (`suppressed`), a member carrying it is reachable on no channel. "
        "True if it was not suppressed before.",
        permission_classes=_ADMIN,
    )
    async def suppress(self, info: Ctx, kind: Kind, value: Value) -> bool | None:
        return await P.suppress(info.context, kind.domain(), value)

    @strawberry.mutation(
        description="Lift a suppression. True if the identifier was suppressed.",
        permission_classes=_ADMIN,
    )
    async def unsuppress(self, info: Ctx, kind: Kind, value: Value) -> bool | None:
        return await P.suppress(info.context, kind.domain(), value, lift=True)
