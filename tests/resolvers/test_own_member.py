"""What a token bound to Jane's member reads of her history: each event shape its evidence
takes leaves Bob's records, and his member's ID in a list, out (not masked)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from membergraph.identity.store.port import IdentityEvent
from membergraph.resolvers.own_member import own_history

JANE = ("crm", "C-JANE")
BOB, BOBS_CARD = ("crm", "C-BOB"), ("transactions", "loyalty:LD22220002")


def _seen(evidence: dict[str, Any]) -> dict[str, Any]:
    event = IdentityEvent(
        "m_jane", "steward", datetime(2026, 12, 6, tzinfo=UTC), "sue", evidence=evidence
    )
    [shown] = own_history([event], [JANE], [], ["m_jane"])
    return shown.evidence


@pytest.mark.parametrize(
    ("evidence", "seen"),
    [
        pytest.param(
            {"records": [list(JANE), list(BOB)], "members": ["m_jane", "m_bob"]},
            {"records": [list(JANE)], "members": ["m_jane"]},
            id="rejection",
        ),
        pytest.param(
            {"member_ids": ["m_jane", "m_bob"]},
            {"member_ids": ["m_jane"]},
            id="unlinked",
        ),
        pytest.param(
            {
                "manual_added": [[list(JANE), list(BOB), {"reason": "same"}]],
                "cannot_added": [[list(JANE), list(BOBS_CARD)]],
                "members": ["m_bob"],
                "anchor": list(BOB),
            },
            {"manual_added": [], "cannot_added": [], "members": []},
            id="link-or-split",
        ),
        pytest.param(
            {
                "merged_id": "m_jane",
                "into_id": "m_bob",
                "into_records": [list(BOB), list(BOBS_CARD)],
            },
            {"merged_id": "m_jane", "into_id": "***", "into_records": []},
            id="merge-two-records-a-side",
        ),
        pytest.param(
            {"rule": "email", "limit": "email", "values": ["bob@x.example"]},
            {"rule": "email", "limit": "email", "values": []},
            id="conflict-values",
        ),
    ],
)
def test_another_members_records_are_left_out_of_the_evidence(
    evidence: dict[str, Any], seen: dict[str, Any]
) -> None:
    assert _seen(evidence) == seen
