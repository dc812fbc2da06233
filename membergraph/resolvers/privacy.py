"""Privacy resolvers: access (export), erasure, suppression, requests and the audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from membergraph.auth import caller_of
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.placeholders import revealed_placeholders
from membergraph.identity.records import RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store import StoreError
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.value_tags import value_tag
from membergraph.masking import mask_record_key
from membergraph.privacy import privacy_of
from membergraph.privacy.erasure import ErasureBusy, NothingToConfirm, NothingToErase, erasure_of
from membergraph.privacy.export import export_member
from membergraph.privacy.port import AccessEntry, PrivacyRequest
from membergraph.privacy.preview import ErasurePreview, preview_erasure
from membergraph.privacy.spans import NotInMember, SpansPeople, erasure_scope
from membergraph.privacy.spans_said import spans_extensions, spans_message
from membergraph.privacy.suppression import SUPPRESSIBLE
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import CodedError, bad_input
from membergraph.resolvers.steward import actor_of
from membergraph.sqlite_room import out_of_room

__all__ = [
    "access_log",
    "confirm_deletion",
    "actor_of",
    "erase",
    "export",
    "preview",
    "requests",
    "suppress",
]


async def export(ctx: RequestContext, member_id: str) -> dict[str, Any] | None:
    return await export_member(ctx, member_id)


def said_why(reason: str) -> None:
    """An erasure, or its dry run, says why (BAD_USER_INPUT: a blank reason)."""
    if not reason.strip():
        raise bad_input(
            "say why (the request is kept for the data-protection officer)", argument="reason"
        )


async def erase(
    ctx: RequestContext,
    member_id: str,
    reason: str,
    suppress: bool,
    only: list[RecordKey] | None = None,
    whole: bool = False,
) -> PrivacyRequest:
    said_why(reason)
    service = await erasure_of(ctx.gateway)
    unmasked = caller_of(ctx.request).can("pii:read")
    try:
        return await service.erase(member_id, reason, actor_of(ctx), suppress, only, whole)
    except SpansPeople as exc:
        raise CodedError(
            spans_message(exc, unmasked),
            "ERASURE_SPANS_PEOPLE",
            **spans_extensions(exc, unmasked),
        ) from None
    except NotInMember as exc:
        raise _not_in_member(exc, unmasked) from None
    except StoreError as exc:
        if out_of_room(exc) is None:
            raise
        raise await _erasure_without_room(ctx, member_id) from exc
    except NothingToErase:
        raise CodedError(
            f"no member {member_id} and no privacy request for it", "NOT_FOUND"
        ) from None
    except ErasureBusy:
        raise CodedError(
            f"member {member_id} is being erased by another process: ask again shortly",
            "UNAVAILABLE",
        ) from None


def _not_in_member(exc: NotInMember, unmasked: bool) -> CodedError:
    """The refusal of records named hers that the member does not hold, naming them (masked
    by their form for a caller without ``pii:read``), for an erasure and its dry run alike."""
    keys = [f"{s}:{k}" for s, k in exc.refs]
    return bad_input(
        f"{exc}: name records of the member, as its `records {{ source key }}` show them",
        argument="records",
        records=keys if unmasked else [mask_record_key(k) for k in keys],
    )


async def preview(
    ctx: RequestContext, member_id: str, only: list[RecordKey] | None
) -> tuple[ErasurePreview, bool]:
    """An erasure's dry run (NOT_FOUND: no such member), and whether the erasure would be
    narrowed (records named that are not all the member holds: ``erase_records``); shown
    unmasked, it is a read of the member's data, audited as an export is."""
    found = await preview_erasure(ctx.gateway, member_id, only)
    if found is None:
        raise CodedError(f"no member {member_id}", "NOT_FOUND")
    narrowed = False
    if only:
        try:
            store, rules = ctx.gateway.identity.store, ctx.gateway.identity.rules
            narrowed = await erasure_scope(store, rules, found.member_id, only, True) is not None
        except NotInMember as exc:
            raise _not_in_member(exc, caller_of(ctx.request).can("pii:read")) from None
    if caller_of(ctx.request).can("pii:read") and found.spans.contacts:
        privacy = await privacy_of(ctx.gateway)
        at, request_id = datetime.now(UTC), ctx.pii_reads.request_id
        read = AccessEntry(found.member_id, actor_of(ctx), ("erasure_preview",), at, request_id)
        await privacy.store.record_access([read])
    return found, narrowed


async def _erasure_without_room(ctx: RequestContext, member_id: str) -> CodedError:
    """What an erasure the store's disk had no room for says: recorded (then finished once
    room is made, by the privacy upkeep's retry every minute) or not (ask again)."""
    privacy = await privacy_of(ctx.gateway)  # (reads answer on a full disk)
    # (recorded under the live member: an ID merged away names it through its redirect)
    live = await ctx.gateway.identity.store.resolve_member_id(member_id) or member_id
    known = await privacy.store.requests(1, 0, live)
    left = next((r for r in known if r.state in ("pending", "partial")), None)
    if left is not None:
        return CodedError(
            f"the store's disk is full: the erasure of {member_id} is recorded as request"
            f" {left.id} and is finished once room is made on it (retried every minute)",
            "STORE_FULL",
            request=left.id,
        )
    return CodedError(
        f"the store's disk is full: nothing of the erasure of {member_id} was recorded or"
        " done; make room on it, then ask again",
        "STORE_FULL",
    )


async def confirm_deletion(ctx: RequestContext, member_id: str, source: str) -> PrivacyRequest:
    """Record that a source the gateway does not own deleted the member's lines."""
    service = await erasure_of(ctx.gateway)
    try:
        return await service.confirm(member_id, source)
    except NothingToErase:
        raise CodedError(f"no privacy request for member {member_id}", "NOT_FOUND") from None
    except NothingToConfirm as exc:
        raise bad_input(str(exc), argument="source") from None


async def suppress(
    ctx: RequestContext, kind: IdentifierKind, value: str, lift: bool = False
) -> bool:
    """Suppress (or with ``lift``, unsuppress) an identifier; whether anything changed."""
    if kind not in SUPPRESSIBLE:
        known = ", ".join(sorted(k.name for k in SUPPRESSIBLE))
        raise bad_input(f"only {known} can be suppressed", argument="kind")
    privacy = await privacy_of(ctx.gateway)
    try:
        key = privacy.suppressor.key_of(kind, value)
    except BadIdentifier as exc:
        raise bad_input(str(exc), argument="value") from None
    actor = actor_of(ctx)
    identity = ctx.gateway.identity
    why = None if lift else await _identifies_no_one(identity.store, identity.rules, kind, key)
    if why is not None:
        # Suppressed, it would refuse every customer's line a till typed it on.
        raise bad_input(
            f"{value!r} is a placeholder that identifies no one ({why}):"
            " it is nobody's to suppress",
            argument="value",
        )
    if lift:
        changed = await privacy.suppressor.unsuppress(
            kind, key, normalize(kind, value, privacy.suppressor.region), typed=value
        )
    else:
        changed = bool(await privacy.suppressor.suppress([(kind, key)], actor))
    members = await ctx.gateway.identity.store.find_members(kind, key)
    if changed and members:  # reachability changed: caches of these members are stale
        # The value's tag too: lifted, it may find its members again before another.
        tags = (value_tag(kind, key),)
        entry = FeedEntry(ChangeKind.SUPPRESSED, tuple(members), actor=actor, value_tags=tags)
        await ctx.gateway.identity.store.append_feed([entry])
        if ctx.gateway.feed is not None:
            await ctx.gateway.feed.catch_up()
    return changed


async def _identifies_no_one(
    store: IdentityStore, rules: Rules, kind: IdentifierKind, key: str
) -> str | None:
    """Why a value identifies no one (None: it may identify someone)."""
    if rules.is_junk(kind, key):
        return "the identity rules' blocklist names it, as it does reserved domains"
    if await revealed_placeholders(store, rules, [(kind, key)]):
        return "typed for many people"
    return None


async def requests(
    ctx: RequestContext, first: int, offset: int, member_id: str | None
) -> list[PrivacyRequest]:
    privacy = await privacy_of(ctx.gateway)
    return await privacy.store.requests(first, offset, member_id)


async def access_log(ctx: RequestContext, member_id: str, first: int) -> list[AccessEntry]:
    privacy = await privacy_of(ctx.gateway)
    return await privacy.store.access_log(member_id, first)
