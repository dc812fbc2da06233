"""What a refused erasure of a member that may hold two people says (``ERASURE_SPANS_PEOPLE``),
in GraphQL and on the command line alike: the contacts by CRM id, the stewards' links, and
how to go on."""

from __future__ import annotations

from membergraph.masking import mask_record_key, mask_value
from membergraph.privacy.spans import Spans, SpansPeople

__all__ = ["export_warnings", "spans_extensions", "spans_message"]


def _linked(exc: SpansPeople) -> list[str]:
    return [f"{a[0]}:{a[1]} ~ {b[0]}:{b[1]}" for a, b in exc.spans.steward_links]


def spans_message(exc: SpansPeople, unmasked: bool = True, cli: bool = False) -> str:
    """Why nothing was erased, and the three ways on (in the CLI's words with ``cli``)."""
    spans, why = exc.spans, []
    if spans.people > 1:
        ids = ", ".join(spans.contact_ids())
        why.append(
            f"its CRM contacts {ids} read as {spans.people} people (names or birth dates differ)"
        )
    if spans.steward_links:
        why.append(f"a steward linked its records {'; '.join(_linked(exc))}")
    records, whole, dry = (
        ("--record crm:C-...", "--whole-member", "--dry-run")
        if cli
        else ("`records: [{source: CRM, key: ...}]`", "`wholeMember: true`", "`dryRun: true`")
    )
    said = (
        f"member {exc.member_id} may hold more than one person: {' and '.join(why)}. Nothing "
        f"was erased. Name the records that are hers ({records}: only those go, with their "
        f"lines, their identifiers and what is hers by them), or have a steward split the "
        f"member first (splitMember) and erase her member, or confirm all of it is hers "
        f"({whole}); {dry} shows what would go."
    )
    return said if unmasked else str(mask_value(said))


def spans_extensions(exc: SpansPeople, unmasked: bool) -> dict[str, object]:
    """The error's extensions: the member, its contacts' CRM ids, the people they read as and
    the records the stewards linked (keys masked as the caller's scopes mask them)."""
    linked = [[f"{s}:{k}" for s, k in pair] for pair in exc.spans.steward_links]
    return {
        "member": exc.member_id,
        "contacts": exc.spans.contact_ids(),
        "people": exc.spans.people,
        "stewardLinks": linked if unmasked else [[mask_record_key(k) for k in p] for p in linked],
    }


def export_warnings(member_id: str, spans: Spans) -> list[dict[str, object]]:
    """The access export's word on a member that may hold more than one person: what in the
    copy may be another person's, before the officer sends it or erases the member."""
    if not spans:
        return []
    why = []
    if spans.people > 1:
        why.append(
            f"its CRM contacts {', '.join(spans.contact_ids())} read as {spans.people} people"
        )
    if spans.steward_links:
        links = [f"{a[0]}:{a[1]} ~ {b[0]}:{b[1]}" for a, b in spans.steward_links]
        why.append(f"a steward linked its records {'; '.join(links)}")
    return [
        {
            "code": "ERASURE_SPANS_PEOPLE",
            "message": f"member {member_id} may hold more than one person: {' and '.join(why)}. "
            "Its records, lines and history below may be another person's: leave his out of "
            "her copy, and name her records when erasing her (an erasure of the whole member "
            "is refused without wholeMember).",
            "contacts": spans.contact_ids(),
            "people": spans.people,
            "steward_links": [[f"{s}:{k}" for s, k in pair] for pair in spans.steward_links],
        }
    ]
