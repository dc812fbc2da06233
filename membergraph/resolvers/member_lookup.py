"""Finding a member by an identifier (``memberByIdentifier``): the value normalized as at
ingestion, read in one trip with what the profile asks next. A former e-mail or phone
(``insights.former``: her CRM contact gave it only in an older version) finds the member
it is current for, or no one unless former values are asked for. A placeholder finds no one
(``PLACEHOLDER_IDENTIFIER``); a value several members hold alike finds none of them
(``AMBIGUOUS_IDENTIFIER``), but a member-bound token's own member.
"""

from __future__ import annotations

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import BadIdentifier, IdentifierKind
from membergraph.identity.placeholders import PlaceholderValue
from membergraph.identity.service import FoundMember
from membergraph.insights.former import FORMER_KINDS, carries
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import CodedError, bad_input
from membergraph.resolvers.members import MemberView, bound_member, hold_parts, lines_held

__all__ = ["find_member"]


async def find_member(
    ctx: RequestContext, kind: IdentifierKind, value: str, include_former: bool = False
) -> MemberView | None:
    """``memberByIdentifier``: the value is normalized exactly as at ingestion. A former
    e-mail or phone (``insights.former``) finds no one unless ``include_former``."""
    try:
        found = await ctx.gateway.identity.find_member_parts(kind, value)
    except BadIdentifier as exc:
        raise bad_input(str(exc), argument="value") from None
    except PlaceholderValue as exc:
        # Nobody's by the rules or the data, whoever asks: it names no customer.
        ctx.reads.nobody()
        raise CodedError(
            f"this value identifies no one: {exc.why}", "PLACEHOLDER_IDENTIFIER"
        ) from None
    own = await bound_member(ctx)
    if found is not None and len(found.tied) > 1:
        found = await _one_of_the_tied(ctx, found, kind, own)
    if not found or (own is not None and found[0] != own):
        # Another member's value answers as an unknown one: no oracle of who is a customer.
        ctx.reads.nobody()
        return None
    hold_parts(ctx, found)
    ctx.reads.member(found.member)
    # Whom the value finds may change with no change to her (another's contact takes it):
    # the answer is dropped by a change to the value's owners too (identity/value_tags.py).
    if found.key is None:
        ctx.reads.nobody()
    else:
        ctx.reads.value(kind, found.key)
    if kind in FORMER_KINDS and not _on_a_profile(found, kind):
        # Only a web login or a call of hers gives it: a contact, card or online account that
        # takes it later answers first, a member no cached answer names: not kept.
        ctx.reads.nobody()
    if kind in FORMER_KINDS and await _contact_holds(ctx, found, kind) is False:
        # Hers no more: the value finds whom it is current for (a family e-mail her contact
        # dropped is still her mother's), kept as any lookup is, tagged with both members;
        # else no one, or her as a former holder: an answer naming no one who holds it, which
        # a contact taking the value later would change, a member no entry names: not kept.
        holder = None if own is not None else await _current_holder(ctx, found, kind)
        if holder is not None:
            found = holder
        else:
            ctx.reads.nobody()
            if not include_former:
                return None
    return MemberView(found.member, found.member)


async def _one_of_the_tied(
    ctx: RequestContext, found: FoundMember, kind: IdentifierKind, own: str | None
) -> FoundMember | None:
    """The one member a value several members hold alike finds (``found.tied``): the one
    it is current for when it is former for the others (``insights.former``, weighed for at
    most ``_HOLDERS_ASKED`` of them), the one whose CRM contact gives it when the others'
    carry it on cards or accounts only, or a member-bound token's own member among them (its
    token says who it is); None for a bound token whose member is not among them (no
    oracle of who is a customer). Read only when several hold it: rare.

    Raises:
        CodedError: ``AMBIGUOUS_IDENTIFIER``, the value names no one person.
    """
    holders = [found]
    if kind in FORMER_KINDS and len(found.tied) <= _HOLDERS_ASKED:
        for member in found.tied[1:]:
            other = await ctx.gateway.identity.member_parts_by_id(member)
            if other is not None and other.member != found.member:
                other = other._replace(key=found.key, tied=found.tied)
                hold_parts(ctx, other)  # (her lines are read as her profile would read them)
                ctx.reads.member(other.member)  # (weighed: a change of hers may change it)
                holders.append(other)
        holds = [(h, await _contact_holds(ctx, h, kind)) for h in holders]
        current = [h for h, held in holds if held is not False]
        if len(current) <= 1:
            # One holds it now; or it is former for each: the lookup weighs that as ever.
            return current[0] if current else found
        on_file = [h for h, held in holds if held]
        if own is None and len(on_file) == 1:
            # One member's contact gives it: hers on file. The others' cards' orders carry
            # it (a daughter ordering under her mother's address): where they ordered from,
            # not who they are (their own token still finds them, below).
            return on_file[0]
        tied = [h.member for h in current]
    else:
        tied = list(found.tied)
    if own is not None:
        mine = [h for h in holders if h.member == own]
        if own not in tied:
            return None
        if mine:
            return mine[0]
        her = await ctx.gateway.identity.member_parts_by_id(own)
        return None if her is None else her._replace(key=found.key, tied=found.tied)
    ctx.reads.nobody()
    raise CodedError(
        f"{len(tied)} members hold this value alike, so it identifies no one of them: look"
        " them up by a value one member holds (a card number, a CRM id)",
        "AMBIGUOUS_IDENTIFIER",
        members=len(tied),
    )


async def _current_holder(
    ctx: RequestContext, found: FoundMember, kind: IdentifierKind
) -> FoundMember | None:
    """Another member carrying the value ``found`` was found by, for whom it is current:
    the first whose CRM contact holds it now, else the first whose records carry it with no
    contact of theirs (her guest purchases under it), in the store's order of the lookup;
    None when it is former for each. Read only when it was former for ``found``: rare."""
    identity = ctx.gateway.identity
    if found.key is None:
        return None
    uncontacted = None
    for member in (await identity.store.find_members(kind, found.key))[1:_HOLDERS_ASKED]:
        other = await identity.member_parts_by_id(member)
        if other is None or other.member == found.member:
            continue
        other = other._replace(key=found.key)
        hold_parts(ctx, other)
        ctx.reads.member(other.member)
        holds = await _contact_holds(ctx, other, kind)
        if holds:
            return other
        if holds is None and uncontacted is None:
            uncontacted = other
    return uncontacted


def _on_a_profile(found: FoundMember, kind: IdentifierKind) -> bool:
    """Whether a CRM contact, card or online account of hers carries the value she was found
    by (the lookup answers those members before the ones whose web logins or calls do)."""
    return any(
        ref[0] in _PROFILES and i.kind is kind and i.key == found.key
        for ref, i in found.parts.identifiers
    )


_PROFILES = frozenset({SourceName.CRM.value, SourceName.TRANSACTIONS.value})
_HOLDERS_ASKED = 8
"""At most this many members carrying one value are weighed by a lookup that found it former
for the first (more carry a hub, which links no one)."""


async def _contact_holds(
    ctx: RequestContext, found: FoundMember, kind: IdentifierKind
) -> bool | None:
    """Whether a CRM contact of the member holds the value she was found by now (True), or
    gave it only in an older version (False: former for her, ``insights.former``); None
    when no contact of hers carries it. Most lookups end without a wait: no contact of hers
    carries the value, or one holds it, read beside the lookup; else her lines are read as
    her profile reads them next (through the request's loaders)."""
    from membergraph.resolvers.insights import former  # reads lines as the profile does

    key = found.key
    held = [(ref, i) for ref, i in found.parts.identifiers if i.key == key and i.kind is kind]
    crm = [ref for ref, _ in held if ref[0] == SourceName.CRM]
    if not crm or key is None:
        return None
    # All her contacts, as her profile asks them next: it finds them held then.
    contacts = lines_held(ctx, found.parts.records, SourceName.CRM)
    if contacts and carries(contacts, kind, key, ctx.gateway.settings.default_region):
        return True
    try:
        return not await former(ctx, MemberView(found.member, found.member), held)
    except CodedError:
        return True  # the CRM cannot say now: the store says she holds it
