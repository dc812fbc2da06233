"""A request reads on connections no push holds. A store's reads and writes took turns in its
one connection's thread: during a large push, a profile read waited behind the push's trips
(p99 about 2 s over real HTTP, ``benchmarks/push_stall.py``). Here both writers' threads are
held outright, as a push's longest trip would hold them, and a profile is still answered,
its audit written, before either is let go."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from membergraph.app import create_app
from membergraph.connectors.sqlite import SqliteSource
from membergraph.privacy import privacy_of
from membergraph.settings import Settings
from tests.conftest import read_jsonl

PROFILE = """
query ($email: String!) {
  memberByIdentifier(kind: EMAIL, value: $email) {
    id
    profile { firstName emails { value } }
    loyalty { pointsBalance tier }
    transactions(first: 5) { edges { node { transactionId amountCents } } }
    consents { channel granted }
  }
}
"""


def _an_email(data: Path) -> str:
    for contact in read_jsonl(data / "crm.jsonl"):
        emails = contact.get("emails")
        if isinstance(emails, list) and emails:
            return str(emails[0])
    raise AssertionError("the demo data holds no e-mail")


async def _answered_while_writers_held(settings: Settings, email: str) -> dict[str, Any]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        gateway = app.state.gateway
        store = gateway.identity.store
        lines = {s.lines for s in gateway.sources.values() if isinstance(s, SqliteSource)}
        release = threading.Event()

        def hold(db: object) -> bool:  # a push's trip that takes its time
            return release.wait(60)

        held = [asyncio.create_task(store.run(hold))]
        held += [asyncio.create_task(line_store.run(hold)) for line_store in lines]
        try:
            await asyncio.sleep(0.05)  # (both threads are in their trip)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                asked = c.post("/graphql", json={"query": PROFILE, "variables": {"email": email}})
                answer = await asyncio.wait_for(asked, 60)
            assert not any(task.done() for task in held), "a writer was let go before the answer"
        finally:
            release.set()
            assert all(await asyncio.gather(*held))
        member = answer.json()["data"]["memberByIdentifier"]
        privacy = await privacy_of(gateway)
        audit = await privacy.store.access_log(member["id"], 10)
        return {"answer": answer.json(), "audit": audit}


def test_a_profile_is_answered_and_audited_while_both_writers_are_held(
    settings: Settings, data_dir: Path
) -> None:
    # Given a served demo store whose identity writer and source writer are both busy
    email = _an_email(data_dir)
    # When a profile with its purchases and consents is asked by e-mail meanwhile
    found = asyncio.run(_answered_while_writers_held(settings, email))
    # Then it is answered whole, from the store, and the read of its personal data audited
    answer = found["answer"]
    assert "errors" not in answer, answer
    member = answer["data"]["memberByIdentifier"]
    assert email.lower() in [e["value"] for e in member["profile"]["emails"]]
    assert member["loyalty"] is not None
    assert len(found["audit"]) == 1
    assert found["audit"][0].member_id == member["id"]
    assert {"profile.emails.value", "profile.firstName"} <= set(found["audit"][0].fields)
