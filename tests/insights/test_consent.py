"""Consent as ordered facts: a snapshot that repeats a value is no new choice, the newest
change wins, and the order lines arrive in never matters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membergraph.connectors.models import CrmContact, SourceName, WebEvent
from membergraph.connectors.sources import SOURCES
from membergraph.insights.consent import (
    Channel,
    ConsentFact,
    consents_of,
    facts_of_contact,
    facts_of_event,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def crm(day: int, email: bool, contact: str = "C1") -> CrmContact:
    return CrmContact.model_validate(
        {
            "contact_id": contact,
            "consents": {"email": email},
            "updated_at": (T0 + timedelta(days=day)).isoformat(),
        }
    )


def web(day: int, name: str, event: str, **props: object) -> WebEvent:
    return WebEvent.model_validate(
        {
            "event_id": event,
            "anonymous_id": "V1",
            "type": "track",
            "name": name,
            "occurred_at": (T0 + timedelta(days=day)).isoformat(),
            "properties": props,
        }
    )


def email_after(lines: list[CrmContact | WebEvent]) -> tuple[bool | None, str | None]:
    """E-mail consent after ``lines`` arrive in this order, as ingest keeps them: the newest
    version of each contact held, every version's facts recorded."""
    held: dict[str, CrmContact] = {}
    events: list[WebEvent] = []
    recorded: list[ConsentFact] = []
    order = SOURCES[SourceName.CRM].order
    for line in lines:
        if isinstance(line, CrmContact):
            recorded += facts_of_contact(line)
            if order.verdict(held.get(line.contact_id), line) in ("created", "updated"):
                held[line.contact_id] = line
        else:
            recorded += facts_of_event(line)
            events.append(line)
    answer = consents_of(held.values(), events, recorded)
    email = next(c for c in answer if c.channel is Channel.EMAIL)
    return email.granted, email.source


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(
            [crm(1, True), web(2, "Unsubscribed", "E1"), crm(3, True)],
            (False, "web_analytics"),
            id="crm-snapshot-repeating-true-is-no-new-grant",
        ),
        pytest.param(
            [crm(1, True), web(2, "Unsubscribed", "E1"), crm(3, False), crm(4, True)],
            (True, "crm"),
            id="newer-crm-change-wins",
        ),
        pytest.param(
            [crm(3, True), web(2, "Unsubscribed", "E1"), crm(1, True)],
            (False, "web_analytics"),
            id="out-of-order-older-crm-line-arrives-last",
        ),
        pytest.param(
            [crm(1, False), crm(5, True), web(3, "Subscribed", "E1")],
            (True, "crm"),
            id="crm-opt-in-after-web-subscribe",
        ),
        pytest.param(
            [crm(2, True), web(2, "Consent Updated", "E1", channel="email", granted=False)],
            (False, "web_analytics"),
            id="same-instant-opt-out-wins",
        ),
        pytest.param(
            [web(4, "Unsubscribed", "E1"), web(6, "Subscribed", "E2")],
            (True, "web_analytics"),
            id="each-web-event-is-a-choice",
        ),
        pytest.param([], (None, None), id="nobody-chose"),
    ],
)
def test_consent_ordering(
    lines: list[CrmContact | WebEvent], expected: tuple[bool | None, str | None]
) -> None:
    assert email_after(lines) == expected


def test_history_lists_only_changes() -> None:
    lines = [crm(1, True), crm(2, True), web(3, "Unsubscribed", "E1"), crm(4, True)]
    held = consents_of([lines[3]], [lines[2]], [f for c in lines[:2] for f in facts_of_contact(c)])  # type: ignore[arg-type]
    email = next(c for c in held if c.channel is Channel.EMAIL)
    assert [(h.source, h.granted, h.at) for h in email.history] == [
        ("crm", True, T0 + timedelta(days=1)),
        ("web_analytics", False, T0 + timedelta(days=3)),
    ]
    assert (email.granted, email.line) == (False, "E1")


LINES = st.lists(
    st.one_of(
        st.builds(crm, st.integers(0, 20), st.booleans(), st.sampled_from(["C1", "C2"])),
        st.builds(
            lambda day, granted, n: web(day, "Consent Updated", f"E{n}", granted=granted),
            st.integers(0, 20),
            st.booleans(),
            st.integers(0, 50),
        ),
    ),
    max_size=12,
)


@given(LINES, st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_sorted_answer(
    lines: list[CrmContact | WebEvent], random: object
) -> None:
    # Events never change: one version per event id, as ingest keeps them.
    unique: dict[str, CrmContact | WebEvent] = {}
    for line in lines:
        key = line.event_id if isinstance(line, WebEvent) else f"{line.contact_id}{line}"
        unique.setdefault(key, line)
    lines = list(unique.values())
    shuffled = list(lines)
    random.shuffle(shuffled)  # type: ignore[attr-defined]

    def when(line: CrmContact | WebEvent) -> datetime:
        return line.occurred_at if isinstance(line, WebEvent) else line.updated_at  # type: ignore[return-value]

    assert email_after(shuffled) == email_after(sorted(lines, key=when))
