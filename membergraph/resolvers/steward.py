"""Stewards' mutations and the member-change subscription."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from membergraph.auth import actor_name, caller_of
from membergraph.identity.feed import (
    ChangeKind,
    FeedEntry,
    FeedExpired,
    FeedFollower,
    stored_after,
)
from membergraph.identity.records import RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import (
    Preview,
    StewardError,
    link_records,
    split_member,
    undo_merge,
)
from membergraph.identity.steward_conflicts import Decision, resolve_conflict
from membergraph.identity.steward_suggestions import (
    accept_suggestion,
    reject_suggestion,
)
from membergraph.identity.store.port import MemberParts
from membergraph.identity.undo import undo_event
from membergraph.masking import mask_record_key, mask_value
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import CodedError, bad_input
from membergraph.resolvers.member_cursors import EXPIRED, Sealed, opened, seal_of
from membergraph.resolvers.members import MemberView
from membergraph.resolvers.own_member import own_change

__all__ = [
    "accept",
    "actor_of",
    "changes",
    "feed_cursor",
    "link",
    "member_changes",
    "shown_cursor",
    "reject",
    "resolve",
    "split",
    "undo",
]


def actor_of(ctx: RequestContext) -> str:
    """Who goes into the history: the caller's one name (:func:`~membergraph.auth.
    actor_name`)."""
    return actor_name(ctx.request)


def _views(ctx: RequestContext, ids: Sequence[str], preview: Preview) -> list[MemberView]:
    """The members a change answers, each with what it moved for it (``Member.change``)."""
    if not preview.dry:  # the store holds them as the change left them
        return [MemberView(m, m, preview.moves(m)) for m in ids]
    # A dry run: this request's loaders answer the members as they would be, so their
    # records, identifiers and every fact read through them (profile, loyalty, purchases)
    # are the preview's; the store is unchanged.
    for member, held in preview.members.items():
        pairs = sorted(
            ((r.ref, i) for r in held for i in r.identifiers),
            key=lambda p: (p[1].kind.value, p[1].value, p[0]),
        )
        ctx.loaders.member_parts.prime(
            member, MemberParts([r.ref for r in held], pairs), force=True
        )
    return [MemberView(m, m, preview.moves(m)) for m in ids]


def _coded(ctx: RequestContext, exc: StewardError) -> CodedError:
    """A steward's refusal as a coded error; the record keys it names (an online customer's
    is an e-mail) are masked for a caller without ``pii:read``, as the fields are."""
    unmasked = caller_of(ctx.request).can("pii:read")
    extra: dict[str, object] = {}
    if exc.members:
        extra["members"] = exc.members
    if exc.records:
        extra["records"] = exc.records if unmasked else [mask_record_key(r) for r in exc.records]
    if exc.events:
        extra["events"] = [str(e) for e in exc.events]  # as IdentityEvent.id: an ID
    return CodedError(str(exc) if unmasked else mask_value(str(exc)), exc.code, **extra)


StewardChange = Callable[[IdentityService, str, Preview | None], Awaitable[list[str]]]


async def _steward(ctx: RequestContext, dry_run: bool, change: StewardChange) -> list[MemberView]:
    """Run one steward change as the caller (a dry run: previewed), its refusal coded."""
    preview = Preview(dry=dry_run)
    try:
        ids = await change(ctx.gateway.identity, actor_of(ctx), preview)
    except StewardError as exc:
        raise _coded(ctx, exc) from None
    return _views(ctx, ids, preview)


async def link(
    ctx: RequestContext,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    move: bool = False,
    dry_run: bool = False,
    lift_rejection: bool = False,
) -> list[MemberView]:
    return await _steward(
        ctx,
        dry_run,
        lambda s, actor, p: link_records(
            s, a, b, reason, actor, move, p, lift_rejection=lift_rejection
        ),
    )


async def split(
    ctx: RequestContext, member_id: str, refs: list[RecordKey], reason: str, dry_run: bool = False
) -> list[MemberView]:
    return await _steward(
        ctx, dry_run, lambda s, actor, p: split_member(s, member_id, refs, reason, actor, p)
    )


async def undo(
    ctx: RequestContext,
    event_id: str,
    reason: str,
    dry_run: bool = False,
    any_change: bool = False,
) -> list[MemberView]:
    """``undoMerge`` (a ``merged`` event), or with ``any_change`` ``undo`` (any steward
    change's ``steward`` event, or a merge)."""
    reverse = undo_event if any_change else undo_merge
    event = _event_id(event_id)
    return await _steward(ctx, dry_run, lambda s, actor, p: reverse(s, event, reason, actor, p))


def _event_id(event_id: str) -> int:
    # ASCII digits within the stores' 64-bit integers: str.isdigit() also takes "²", which
    # int() refuses, and a longer number overflows SQLite's INTEGER.
    digits = event_id.isascii() and event_id.isdigit() and len(event_id) <= 19
    if not (digits and int(event_id) < 1 << 63):
        raise bad_input(f"{event_id!r} is not an event id", argument="eventId")
    return int(event_id)


async def resolve(
    ctx: RequestContext,
    event_id: str,
    decision: Decision,
    reason: str,
    target: RecordKey | None = None,
    move: bool = False,
    dry_run: bool = False,
) -> list[MemberView]:
    """``resolveConflict``: a steward's decision on an identity conflict."""
    conflict = _event_id(event_id)
    return await _steward(
        ctx,
        dry_run,
        lambda s, actor, p: resolve_conflict(s, conflict, decision, reason, actor, target, move, p),
    )


async def accept(
    ctx: RequestContext,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    dry_run: bool = False,
    move: bool = False,
    lift_rejection: bool = False,
) -> list[MemberView]:
    return await _steward(
        ctx,
        dry_run,
        lambda s, actor, p: accept_suggestion(
            s, a, b, reason, actor, p, move=move, lift_rejection=lift_rejection
        ),
    )


async def reject(
    ctx: RequestContext, a: RecordKey, b: RecordKey, reason: str, dry_run: bool = False
) -> list[MemberView]:
    return await _steward(
        ctx, dry_run, lambda s, actor, p: reject_suggestion(s, a, b, reason, actor, p)
    )


_FEED = "a change's `cursor` (from `changes`, or `memberChanged`) or `changes`' `endCursor`"


def feed_cursor(after: str | None) -> int | None:
    """A feed cursor as clients send it back (the digits we gave them), or None; a refusal
    says where the client finds one."""
    if after is None:
        return None
    if not (after.isascii() and after.isdigit() and len(after) <= 18):
        raise bad_input(
            f"{after!r} is not a cursor this list gave: pass back {_FEED} as it came "
            '(digits, such as "42")',
            argument="after",
        )
    return int(after)


def _feed(ctx: RequestContext) -> FeedFollower:
    if ctx.gateway.feed is None:
        raise CodedError("the change feed is not running", "UNAVAILABLE")
    return ctx.gateway.feed


async def _known_cursor(ctx: RequestContext, after: str | None) -> int | None:
    """A feed cursor, refused when this store's feed never reached it: it came from another
    store (or from this one before a restore), and waiting for it would hear nothing. A
    caller bound to one member gives back a sealed cursor (:mod:`.member_cursors`)."""
    sealed = await seal_of(ctx)
    if sealed is not None:
        return None if after is None else await _own_cursor(ctx, after, sealed)
    cursor = feed_cursor(after)
    if cursor is not None and cursor > (head := await ctx.gateway.identity.store.feed_head()):
        raise bad_input(
            f"this store's feed ends at {head}: cursor {cursor} is not one of its cursors (from"
            " another store, or from before a restore); start again without `after`",
            argument="after",
        )
    return cursor


async def _own_cursor(ctx: RequestContext, after: str, sealed: Sealed) -> int:
    """A bound caller's cursor: sealed for its member, or digits (an earlier release's),
    which resume from the feed's start whatever their value: every change of its member,
    some heard before, or FEED_EXPIRED once the feed has pruned any. (Resuming after the
    digits would answer whether the feed had passed them: the whole store's volume.)"""
    if after.isascii() and after.isdigit():
        return 0
    cursor = opened(after, sealed)
    if cursor > await ctx.gateway.identity.store.feed_head():
        raise bad_input(
            "this store's feed never reached that cursor (it was given before a restore):"
            " subscribe without `after` and read the member again",
            argument="after",
        )
    return cursor


def shown_cursor(position: int, sealed: Sealed | None) -> str:
    """A feed position as the caller is shown it: digits, or sealed for a bound caller."""
    return str(position) if sealed is None else sealed[0].seal(position, sealed[1])


async def member_changes(
    ctx: RequestContext, member_id: str | None, after: str | None = None
) -> AsyncIterator[tuple[str, FeedEntry]]:
    """The changes a subscription hears, each with its cursor as the caller is shown it.

    Raises:
        CodedError: ``NOT_FOUND`` for an ID that names no member (a typo, a member erased),
            as ``member(id:)`` answers null, instead of a subscription silent for ever;
            with ``after``, once the changes since it that name the ID are told (its
            erasure among them); and for one followed live, right after its ``ERASED``
            entry: an erased person has nothing more to tell.
    """
    cursor = await _known_cursor(ctx, after)
    store, live = ctx.gateway.identity.store, None
    if member_id is not None:
        # An ID merged away: its person lives on as the survivor (followed from the merge on
        # with `after`, at once without).
        live = await store.resolve_member_id(member_id)
        if cursor is None and live is not None:
            member_id = live
    # A token bound to one member hears its member's changes naming no other member (a
    # survivor it was merged into included: a merge may be a mistake a steward undoes).
    own = caller_of(ctx.request).member_id
    sealed = await seal_of(ctx)
    try:
        if member_id is not None and live is None:
            # The stored changes naming it after the cursor (none without one): its erasure.
            if cursor is not None:
                async for change in stored_after(store, cursor, member_id):
                    shown = change if own is None else own_change(change, {own, member_id})
                    yield shown_cursor(change.cursor, sealed), shown
            said = f"no member has the ID {member_id} (mistyped, or erased): nothing to follow"
            raise CodedError(said, "NOT_FOUND")
        async for change in _feed(ctx).subscribe(member_id, cursor):
            shown = change if own is None else own_change(change, {own, member_id or own})
            yield shown_cursor(change.cursor, sealed), shown
            # Her erasure (or a survivor's she lives on in) ends it as a new subscription to
            # the ID is ended, not left open and silent for ever (user31 f9).
            if (
                member_id is not None
                and change.kind is ChangeKind.ERASED
                and await store.resolve_member_id(member_id) is None
            ):
                said = f"no member has the ID {member_id} (erased): nothing to follow"
                raise CodedError(said, "NOT_FOUND")
    except FeedExpired as exc:
        # (Its words name feed positions: not for a token bound to one member.)
        said = str(exc) if sealed is None else EXPIRED
        raise CodedError(said, "FEED_EXPIRED") from None


async def changes(ctx: RequestContext, after: str | None, first: int) -> list[FeedEntry]:
    """A page of the feed after ``after`` (from its start if None)."""
    try:
        cursor = await _known_cursor(ctx, after)
        return await ctx.gateway.identity.store.feed_after(cursor or 0, first)
    except FeedExpired as exc:
        raise CodedError(str(exc), "FEED_EXPIRED") from None
