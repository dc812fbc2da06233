"""The demo generator's people: what their own values say about them."""

from __future__ import annotations

import pytest

from membergraph.demo.people import Generator
from membergraph.demo.profiles import PROFILES


@pytest.mark.parametrize("profile", ["default", "holdout"])
def test_everyones_own_email_names_her_as_she_is_called(profile: str) -> None:
    # Given the demo's people, twins named a letter from each other among them
    people = Generator(2000, 7, PROFILES[profile]).people()
    assert any(p.named_close for p in people)
    # Then each own e-mail begins with her first name or its initial, as people's do
    for person in people:
        if person.email is not None:
            local = person.email.partition("@")[0]
            assert local.startswith((person.first.lower(), person.first[:1].lower())), person
