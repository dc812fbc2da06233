"""A restart over a resolved store holds nothing whole in memory (issue 18): no source line,
no identity record, no member's figures, before or after serving a stream of lookups.
Counted over the objects the interpreter tracks, so what the test sees is what is held."""

from __future__ import annotations

import gc
from collections import Counter
from pathlib import Path

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import CallInteraction, CrmContact, Transaction, WebEvent
from membergraph.identity.records import RecordData
from membergraph.insights.metrics import MemberFacts, MemberMetrics, Sale
from membergraph.settings import Settings
from tests.conftest import contact_emails

WHOLE = (CrmContact, Transaction, WebEvent, CallInteraction, RecordData, MemberMetrics, Sale)
PROFILE = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id profile { firstName } loyalty { pointsBalance tier } rfm { recency monetary }
  transactions(first: 5) { edges { node { amountCents status } } } } }"""


def _held() -> Counter[str]:
    gc.collect()
    kinds = (*WHOLE, MemberFacts)
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, kinds))


def test_a_restart_over_a_resolved_store_holds_no_line_record_or_figure(
    settings: Settings, data_dir: Path
) -> None:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as first:
        assert first.get("/readyz").status_code == 200  # the first start loads and resolves
    baseline = _held()
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        members = client.get("/readyz").json()["store"]["members"]
        assert members > 200
        assert _held() - baseline == Counter(), "the start read lines, records or figures"
        emails = contact_emails(data_dir, 60)
        for email in emails:
            answer = client.post("/graphql", json={"query": PROFILE, "variables": {"e": email}})
            assert answer.status_code == 200
            assert answer.json()["data"]["memberByIdentifier"] is not None, email
        # 60 members served (their lines parsed, their figures read): none of it is kept.
        assert _held() - baseline == Counter()
