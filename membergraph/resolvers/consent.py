"""Consent and reachability of a member: the current lines and the recorded consent facts.

Facts are recorded per record (a CRM contact, a web visitor) as their lines arrive
(:func:`record_line_consents`), so a CRM snapshot that only repeats a value is seen to be
no new choice, and a late, older line still takes its place in time.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from membergraph.connectors.models import CrmContact, SourceName, WebEvent
from membergraph.gateway_parts import Gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.insights.consent import (
    Channel,
    Consent,
    ConsentFact,
    consents_of,
    facts_of_contact,
    facts_of_event,
    reachable_channels,
)
from membergraph.insights.profile import contact_kinds
from membergraph.privacy import privacy_of
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.insights import former
from membergraph.resolvers.members import (
    MemberView,
    _lines,
    identifiers,
    placeholders,
    records,
)

__all__ = ["consents", "reachable", "record_line_consents"]

_CONSENT_SOURCES = (SourceName.CRM.value, SourceName.WEB_ANALYTICS.value)


async def consents(ctx: RequestContext, member: MemberView) -> list[Consent]:
    contacts = await _lines(ctx, member, SourceName.CRM)
    events = await _lines(ctx, member, SourceName.WEB_ANALYTICS)
    refs = [r for r in await records(ctx, member) if r[0] in _CONSENT_SOURCES]
    recorded = [f for facts in await ctx.loaders.consent_facts.load_many(refs) for f in facts]
    return consents_of(contacts, events, recorded)


async def reachable(ctx: RequestContext, member: MemberView) -> list[Channel]:
    idents = await identifiers(ctx, member)
    privacy = await privacy_of(ctx.gateway)
    # A member carrying a suppressed identifier is reached on no channel.
    if await privacy.suppressor.any_suppressed(i for _, i in idents):
        return []
    kinds = contact_kinds(idents, await placeholders(ctx, idents), await former(ctx, member))
    return reachable_channels(
        await consents(ctx, member),
        has_email=IdentifierKind.EMAIL in kinds,
        has_phone=IdentifierKind.PHONE in kinds,
        has_visitor=IdentifierKind.ANONYMOUS_ID in kinds,
    )


async def record_line_consents(
    gateway: Gateway, source: SourceName, lines: Sequence[BaseModel]
) -> None:
    """Keep the consent facts of lines that arrived, whatever their verdict: a stale CRM
    version still says what the contact chose then."""
    facts: list[ConsentFact] = []
    for line in lines:
        if isinstance(line, CrmContact):
            facts += facts_of_contact(line)
        elif isinstance(line, WebEvent):
            facts += facts_of_event(line)
    if facts:
        await (await privacy_of(gateway)).store.record_consents(facts)
