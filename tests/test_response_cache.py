"""The response cache on its own: bounds, tags, answers computed while a member changed,
and which documents it may keep."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from membergraph.response_cache import Key, ResponseCache, plan
from membergraph.schema import build_schema

SCHEMA = build_schema()._schema


def key(n: int, scopes: frozenset[str] = frozenset({"profile:read"})) -> Key:
    return (scopes, None, False, "POST", f"request {n}".encode())


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_served_until_a_member_it_read_changes() -> None:
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60)
    cache.put(key(1), b'{"data":1}', "application/json", {"m_1", "m_2"}, cache.generation)
    cache.put(key(2), b'{"data":2}', "application/json", {"m_3"}, cache.generation)
    assert cache.get(key(1)) is not None
    assert cache.invalidate(["m_2"]) == 1
    assert cache.get(key(1)) is None
    assert cache.get(key(2)) is not None
    assert (cache.hits, cache.misses, cache.invalidated) == (2, 1, 1)


def test_an_answer_computed_while_a_member_it_read_changed_is_not_kept() -> None:
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60)
    since = cache.generation  # the request starts
    cache.invalidate(["m_1"])  # the member changes while it runs
    assert cache.put(key(1), b"old", "application/json", {"m_1"}, since) is None
    assert cache.put(key(2), b"other", "application/json", {"m_2"}, since) is not None


def test_an_answer_older_than_what_is_remembered_is_not_kept() -> None:
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60)
    since = cache.generation
    for n in range(5000):  # more invalidations than are remembered
        cache.invalidate([f"m_{n}"])
    assert cache.put(key(1), b"x", "application/json", {"m_other"}, since) is None


def test_an_answer_that_read_nobody_is_not_kept() -> None:
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60)
    assert cache.put(key(1), b'{"data":null}', "application/json", set(), 0) is None


def test_an_answer_expires() -> None:
    clock = Clock()
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60, clock=clock)
    cache.put(key(1), b"x", "application/json", {"m_1"}, 0)
    clock.now = 59.9
    assert cache.get(key(1)) is not None
    clock.now = 60.0
    assert cache.get(key(1)) is None
    assert len(cache) == 0 and cache.bytes == 0


def test_an_answer_is_not_served_past_its_moment_when_the_wall_clock_steps_ahead() -> None:
    # Given an answer true until the wall clock's 1,010, kept at its 1,000 (ten seconds on
    # the monotonic clock, which ages entries)
    monotonic, wall = Clock(), Clock()
    wall.now = 1_000.0
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60, clock=monotonic)
    assert cache.put(key(1), b"x", "application/json", {"m_1"}, 0, 1_010.0, wall) is not None
    assert cache.get(key(1), wall) is not None
    # When the wall clock steps 20 s ahead (NTP, a VM resumed) while a second passes
    wall.now, monotonic.now = 1_021.0, 1.0
    # Then the answer is past its moment: not served
    assert cache.get(key(1), wall) is None
    assert len(cache) == 0 and cache.bytes == 0


def test_the_least_recently_used_goes_first() -> None:
    cache = ResponseCache(max_entries=2, max_bytes=1 << 20, ttl_s=60)
    cache.put(key(1), b"1", "application/json", {"m_1"}, 0)
    cache.put(key(2), b"2", "application/json", {"m_2"}, 0)
    cache.get(key(1))
    cache.put(key(3), b"3", "application/json", {"m_3"}, 0)
    assert cache.get(key(2)) is None
    assert cache.get(key(1)) is not None and cache.get(key(3)) is not None
    assert cache.evictions == 1


def test_callers_who_see_differently_have_their_own_entries() -> None:
    cache = ResponseCache(max_entries=10, max_bytes=1 << 20, ttl_s=60)
    masked, unmasked = frozenset({"profile:read"}), frozenset({"profile:read", "pii:read"})
    cache.put(key(1, masked), b"j***@example.com", "application/json", {"m_1"}, 0)
    assert cache.get(key(1, unmasked)) is None


operations = st.lists(
    st.one_of(
        st.tuples(
            st.just("put"),
            st.integers(0, 30),
            st.integers(0, 3000),
            st.sets(st.integers(0, 8), max_size=3),
        ),
        st.tuples(st.just("get"), st.integers(0, 30)),
        st.tuples(st.just("invalidate"), st.sets(st.integers(0, 8), max_size=3)),
    ),
    max_size=200,
)


@given(operations, st.integers(1, 12), st.integers(0, 20_000))
def test_the_bound_holds_and_no_changed_member_is_served(
    ops: list[tuple[object, ...]], max_entries: int, max_bytes: int
) -> None:
    cache = ResponseCache(max_entries=max_entries, max_bytes=max_bytes, ttl_s=60)
    tags: dict[Key, set[str]] = {}
    for op in ops:
        if op[0] == "put":
            _, n, size, members = op
            names = {f"m_{m}" for m in members}  # type: ignore[attr-defined]
            if cache.put(key(n), b"x" * size, "application/json", names, cache.generation):  # type: ignore[arg-type, operator]
                tags[key(n)] = names  # type: ignore[arg-type]
        elif op[0] == "get":
            entry = cache.get(key(op[1]))  # type: ignore[arg-type]
            if entry is not None:
                assert entry.members == tags[key(op[1])]  # type: ignore[arg-type]
        else:
            changed = {f"m_{m}" for m in op[1]}  # type: ignore[attr-defined]
            cache.invalidate(changed)
            tags = {k: v for k, v in tags.items() if not v & changed}
        assert len(cache) <= max_entries
        assert cache.bytes <= max_bytes
    for k in list(tags):
        entry = cache.get(k)
        assert entry is None or entry.members == tags[k]


PROFILE = "query P($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) { id profile { firstName } loyalty { tier } } }"


@pytest.mark.parametrize(
    ("query", "cacheable", "mutation"),
    [
        pytest.param(PROFILE, True, False, id="profile-by-email"),
        pytest.param('{ member(id: "m_1") { records { source key } } }', True, False, id="by-id"),
        pytest.param(
            '{ member(id: "m_1") { ...F } } fragment F on Member { id rfm { recency } }',
            False,
            False,
            id="scores-in-a-fragment",
        ),
        pytest.param('{ member(id: "m_1") { segments } }', False, False, id="segments"),
        pytest.param("{ members(first: 5) { totalCount } }", False, False, id="a-list"),
        pytest.param("{ segmentCounts { members } }", False, False, id="analytics"),
        pytest.param("{ __schema { types { name } } }", False, False, id="introspection"),
        pytest.param(
            'mutation { splitMember(memberId: "m", records: [], reason: "r") { id } }',
            False,
            True,
            id="mutation",
        ),
        pytest.param(
            'subscription { memberChanged(id: "m_1") { cursor } }', False, False, id="subscription"
        ),
        pytest.param("{ member(", False, False, id="does-not-parse"),
    ],
)
def test_which_documents_may_be_kept(query: str, cacheable: bool, mutation: bool) -> None:
    found = plan(SCHEMA, query, None)
    assert (found.cacheable, found.mutation) == (cacheable, mutation)


def test_the_operation_asked_for_is_the_one_planned() -> None:
    document = (
        PROFILE + ' mutation M { splitMember(memberId: "m", records: [], reason: "r") { id } }'
    )
    assert plan(SCHEMA, document, "P").cacheable
    assert plan(SCHEMA, document, "M").mutation
    assert not plan(SCHEMA, document, None).cacheable  # two operations, none named
