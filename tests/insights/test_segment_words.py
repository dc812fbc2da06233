"""Every member the store places in a segment fits the segment's plain words, on generated
populations (``membergraph/insights/segment_words.py``)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from graphql import build_schema as parse_sdl

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.store.metrics_port import (
    MemberQuery,
    OrderField,
    ScoredRow,
    SegmentRules,
)
from membergraph.insights.segment_words import DESCRIPTIONS, misfits
from membergraph.schema import print_sdl
from membergraph.settings import Settings


async def _scored(settings: Settings) -> tuple[list[ScoredRow], SegmentRules]:
    gateway, sources, _ = await open_gateway(settings)
    try:
        keeper = gateway.scores
        assert keeper is not None
        await keeper.catch_up()
        rows: list[ScoredRow] = []
        after = None
        while page := await keeper.metrics.page(
            MemberQuery(), OrderField.MEMBER_ID, False, after, 500
        ):
            rows += [r for r in await keeper.metrics.scored([m for m, _ in page]) if r]
            after = (page[-1][0], page[-1][0])
        return rows, keeper.scoring.rules
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


@pytest.mark.parametrize(
    ("people", "seed", "reference"),
    [
        # The adversarial pass's demo: 95 members were LOYAL and AT_RISK at once.
        pytest.param(1000, 7, date(2026, 11, 1), id="demo-1000-seed-7"),
        pytest.param(400, 3, date(2026, 8, 15), id="400-seed-3-in-august"),
    ],
)
def test_every_member_of_a_segment_fits_its_words(
    tmp_path: Path, people: int, seed: int, reference: date
) -> None:
    # Given a generated population scored by the store as of a reference day
    write_demo_data(tmp_path / "data", people, seed=seed)
    settings = Settings(
        data=tmp_path / "data",
        store=f"sqlite:///{tmp_path / 'store.db'}",
        cache_dir=tmp_path / "cache",
        reference_date=reference,
    )
    rows, rules = asyncio.run(_scored(settings))
    sizes = {s: sum(1 for r in rows if s in r.segments) for s in DESCRIPTIONS}
    assert sizes["LOYAL"] >= 10 and sizes["AT_RISK"] >= 10, sizes
    # then no member breaks the words of a segment it is in, and none is "recent" and
    # "nothing for 90 days" at once
    assert misfits(rows, rules) == dict.fromkeys((*DESCRIPTIONS, "RECENT_AND_DORMANT"), 0)


def test_the_schema_describes_each_segment_in_those_words() -> None:
    segment = parse_sdl(print_sdl(), assume_valid_sdl=True).type_map["Segment"]
    described = {name: value.description for name, value in segment.values.items()}  # type: ignore[attr-defined]
    assert described == DESCRIPTIONS
