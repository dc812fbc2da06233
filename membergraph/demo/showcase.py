"""Jane Doe, the person the README's example query looks up: in every demo data set, so the
first query a new user copies answers a member (her e-mail typed as `Jane.Doe@Doe-Family.net`
at the CRM and as ``jane.doe@doe-family.net`` on the web, a loyalty card with dashes, purchases,
a visit and a call)."""

from __future__ import annotations

from membergraph.demo.people import Writer

__all__ = ["EMAIL", "showcase_lines"]

EMAIL = "jane.doe@doe-family.net"
_PERSON = "p-showcase-jane"
_CARD = "LD-5150-2026"


def showcase_lines(writer: Writer) -> None:
    """Write Jane's lines (and their truth) with the generated ones."""
    writer.write(
        "crm",
        {
            "contact_id": "C-SHOWCASE-JANE",
            "first_name": "Jane",
            "last_name": "Doe",
            "emails": ["Jane.Doe@Doe-Family.net"],
            "phones": ["(415) 555-0199"],
            "loyalty_id": _CARD,
            "birth_date": "1988-04-12",
            "address": {"city": "San Francisco", "postal_code": "94110", "country": "US"},
            "consents": {"email": True, "sms": False},
            "updated_at": "2026-01-15T09:00:00Z",
        },
        "C-SHOWCASE-JANE",
        _PERSON,
    )
    for n, (day, cents) in enumerate(
        [("2026-03-02", 4590), ("2026-06-18", 12900), ("2026-09-30", 2350)]
    ):
        ident = f"T-SHOWCASE-{n + 1}"
        line = {
            "transaction_id": ident,
            "loyalty_id": _CARD.lower(),
            "store_id": "S-001",
            "channel": "store",
            "occurred_at": f"{day}T17:30:00Z",
            "amount_cents": cents,
            "points_earned": cents // 100,
        }
        writer.write("transactions", line, ident, _PERSON)
    writer.write(
        "web_analytics",
        {
            "event_id": "E-SHOWCASE-1",
            "anonymous_id": "anon-showcase-jane",
            "email": EMAIL,
            "type": "identify",
            "occurred_at": "2026-10-01T08:00:00Z",
        },
        "E-SHOWCASE-1",
        _PERSON,
    )
    writer.write(
        "call_center",
        {
            "interaction_id": "I-SHOWCASE-1",
            "caller_phone": "+1 415 555 0199",
            "account_ref": {"kind": "loyalty_id", "value": _CARD},
            "agent_id": "A-01",
            "started_at": "2026-10-05T14:00:00Z",
            "duration_s": 240,
            "reason": "points balance",
            "resolved": True,
        },
        "I-SHOWCASE-1",
        _PERSON,
    )
