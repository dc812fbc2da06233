"""Member IDs: derived from the data, never reused, kept as members change."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membergraph.identity import ids as ids_module
from membergraph.identity.ids import assign_member_ids, new_member_id
from membergraph.identity.records import sorted_refs


def test_a_first_load_derives_each_id_from_the_smallest_record() -> None:
    components = [[("crm", "C2"), ("web_analytics", "a-1")], [("crm", "C1")]]
    ids = assign_member_ids(components, {}, {})
    assert ids.ids == [new_member_id(("crm", "C2")), new_member_id(("crm", "C1"))]
    assert ids.new_members == ids.ids and ids.redirects == {}


def test_an_id_used_before_is_never_given_again() -> None:
    components = [[("crm", "C1")]]
    used = new_member_id(("crm", "C1"))
    ids = assign_member_ids(components, {}, {}, taken={used})
    assert ids.ids == [new_member_id(("crm", "C1"), attempt=1)]


def test_when_fresh_ids_clash_the_largest_member_gets_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 80-bit IDs do not clash in practice: a weak derivation makes them, to see the rule.
    monkeypatch.setattr(ids_module, "new_member_id", lambda seed, attempt=0: f"m_{attempt}")
    components = [[("crm", "C1")], [("crm", "C2"), ("crm", "C3")], [("crm", "C0")]]
    ids = assign_member_ids(components, {}, {}, taken={"m_1"})
    assert ids.ids == ["m_3", "m_0", "m_2"]  # by size, then by first record; m_1 was used


def test_a_member_keeps_its_id_when_records_join_it() -> None:
    components = [[("crm", "C1"), ("crm", "C9")]]
    ids = assign_member_ids(components, {("crm", "C1"): "m_kept"}, {("crm", "C1"): "m_kept"})
    assert ids.ids == ["m_kept"] and ids.new_members == []


@given(st.lists(st.tuples(st.sampled_from(["crm", "call_center", "web"]), st.text(max_size=6))))
def test_records_are_walked_in_key_order_whatever_the_input_order(
    refs: list[tuple[str, str]],
) -> None:
    # A whole resolution walks (and names members) in this order: it must be sorted().
    assert sorted_refs(refs) == sorted(refs)
