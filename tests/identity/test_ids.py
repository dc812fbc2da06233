"""Member IDs: derived from the data, never reused, kept as members change."""

from __future__ import annotations

from collections import Counter

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


class _CountingCounter(Counter[str]):
    """A Counter that counts the lookups of IDs it does not hold."""

    misses = 0

    def __missing__(self, key: str) -> int:
        _CountingCounter.misses += 1
        return 0


def test_re_resolving_many_members_asks_each_member_only_about_its_own_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A re-run of ``membergraph resolve`` over a resolved store: every member keeps its ID.
    # Asking every member about every live ID made 16,000 members take 170 s.
    monkeypatch.setattr(ids_module, "Counter", _CountingCounter)
    _CountingCounter.misses = 0
    n = 3000
    components = [[("crm", f"C{i:05}"), ("web_analytics", f"a-{i:05}")] for i in range(n)]
    current = {ref: f"m_{i:05}" for i, component in enumerate(components) for ref in component}
    ids = assign_member_ids(components, current, current)
    assert ids.ids == [f"m_{i:05}" for i in range(n)]
    assert ids.new_members == [] and ids.redirects == {}
    assert _CountingCounter.misses <= 4 * n  # it was n * n


def test_an_id_whose_records_left_the_scope_is_not_given_to_anyone() -> None:
    # The scope's current members may name a record no component holds any more.
    components = [[("crm", "C1")]]
    current = {("crm", "C1"): "m_one", ("crm", "C2"): "m_gone"}
    ids = assign_member_ids(components, current, current)
    assert ids.ids == ["m_one"] and ids.new_members == []


_REFS = [("crm", f"C{i}") for i in range(8)]
_IDS = st.sampled_from(["m_a", "m_b", "m_c", "m_d"])
_BY_RECORD = st.dictionaries(st.sampled_from(_REFS), _IDS, max_size=8)


@given(
    st.lists(st.integers(0, 3), min_size=8, max_size=8),
    _BY_RECORD,
    _BY_RECORD,
    _BY_RECORD,
    st.sets(_IDS),
    st.sets(_IDS),
)
def test_components_decided_first_get_what_the_whole_rule_gives_them(
    groups: list[int],
    current: dict[tuple[str, str], str],
    origins: dict[tuple[str, str], str],
    previous: dict[tuple[str, str], str],
    taken: set[str],
    live_elsewhere: set[str],
) -> None:
    # Merges, splits, new records and records gone: the settled components (unchanged
    # members) are decided before the rest, and nothing may come out otherwise than when
    # every component goes through every step.
    components = [
        [ref for ref, group in zip(_REFS, groups, strict=True) if group == g]
        for g in sorted(set(groups))
    ]
    args = (components, current, origins, taken, live_elsewhere, previous)
    quick = assign_member_ids(*args)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids_module, "_settled", lambda c, _: ({}, [None] * len(c)))
        whole = assign_member_ids(*args)
    assert quick == whole


CONTACT, VISITOR, DEVICE = ("crm", "C1"), ("web_analytics", "a-1"), ("web_analytics", "a-2")


def test_a_member_coming_apart_leaves_its_id_with_the_contact_not_her_visitors() -> None:
    # Her two visitors outnumber her contact, but a frontend holding her ID shows her profile.
    together = {CONTACT: "m_her", VISITOR: "m_her", DEVICE: "m_her"}
    ids = assign_member_ids([[CONTACT], [VISITOR, DEVICE]], together, together)
    assert ids.ids[0] == "m_her" and ids.ids[1] != "m_her"
    assert ids.new_members == [ids.ids[1]] and ids.redirects == {}
    # Only an ID her records came from: her contact merged into a member of two cards
    # (which kept its ID), split off, gets back her own, and the cards keep theirs.
    cards = [("transactions", "loyalty:LD1"), ("transactions", "loyalty:LD2")]
    merged = {CONTACT: "m_cards", cards[0]: "m_cards", cards[1]: "m_cards"}
    origins = {CONTACT: "m_her", cards[0]: "m_cards", cards[1]: "m_cards"}
    assert assign_member_ids([[CONTACT], cards], merged, origins).ids == ["m_her", "m_cards"]


def test_a_card_keeps_the_id_over_a_visitor_when_no_contact_is_left() -> None:
    card = ("transactions", "loyalty:LD1")
    together = {card: "m_his", VISITOR: "m_his", DEVICE: "m_his"}
    ids = assign_member_ids([[VISITOR, DEVICE], [card]], together, together)
    assert ids.ids[1] == "m_his"


def test_the_pieces_joined_again_keep_the_id_the_contact_kept() -> None:
    # Her visitors got a new ID when they parted; joined again (a split undone), she keeps
    # hers and theirs redirects to it, though they are more.
    parted = {CONTACT: "m_her", VISITOR: "m_new", DEVICE: "m_new"}
    origins = {CONTACT: "m_her", VISITOR: "m_her", DEVICE: "m_her"}
    ids = assign_member_ids([[CONTACT, VISITOR, DEVICE]], parted, origins)
    assert ids.ids == ["m_her"] and ids.redirects == {"m_new": "m_her"}
