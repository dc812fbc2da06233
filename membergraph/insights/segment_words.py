"""Each segment in plain words (what GraphiQL shows analysts), and a check that every
member a store placed in a segment fits its words.

The checks read a stored row's figures, days and scores, and are written from the words,
not from the definitions (:func:`membergraph.insights.rfm.segments_of` and the stores'
conditions), so that a definition drifting from what it promises is caught on generated
populations (``tests/insights/test_segment_words.py``, ``benchmarks/scores.py``). Day counts
in the words are the default thresholds (``MEMBERGRAPH_SEGMENTS``); the checks use the
thresholds in force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from membergraph.identity.store.metrics_port import ScoredRow, SegmentRules

__all__ = ["DESCRIPTIONS", "DORMANT", "RECENT", "misfits"]

DESCRIPTIONS: dict[str, str] = {
    "HYPERACTIVE": "High on recency, frequency, spend and e-mail engagement (the top two "
    "fifths of each), with a purchase within 90 days.",
    "LOYAL": "Buys often and recently: in the top two fifths on purchases over the last 12 "
    "months, the last one within 90 days (and in the top three fifths on recency).",
    "NEW": "First purchase within 90 days.",
    "AT_RISK": "Bought often last year (the top three fifths on purchases over the last 12 "
    "months), no purchase for 90 days or more.",
    "ZOMBIE": "Used to buy or engage, dormant 180 days or more.",
    "FADING_STAR": "Was in the top fifth by spend, lower on every axis this year.",
}
"""Each segment's description, as the schema's ``Segment`` enum gives it."""

RECENT = frozenset({"HYPERACTIVE", "LOYAL", "NEW"})
"""Segments whose words say the member bought lately."""

DORMANT = frozenset({"AT_RISK", "ZOMBIE"})
"""Segments whose words say the member has not bought (or done anything) lately."""

_F = 1  # the frequency score's place in ScoredRow.scores (r f m e p)


def _fits(rules: SegmentRules, top_prior: int) -> dict[str, Callable[[ScoredRow], bool]]:
    def days(found: ScoredRow, name: str) -> int | None:
        return found.row.days[name]

    def bought_within(found: ScoredRow, limit: int) -> bool:
        recency = days(found, "recency_days")
        return recency is not None and recency < limit

    def figure(found: ScoredRow, name: str) -> int:
        return found.row.figures[name]

    return {
        "HYPERACTIVE": lambda s: (
            min(s.scores[:4]) >= 4
            and figure(s, "frequency") > 0
            and figure(s, "engagement") > 0
            and bought_within(s, rules.at_risk_days)
        ),
        "LOYAL": lambda s: s.scores[_F] >= 4 and bought_within(s, rules.at_risk_days),
        "NEW": lambda s: (
            days(s, "first_purchase_days") is not None
            and (days(s, "first_purchase_days") or 0) <= rules.new_days
        ),
        "AT_RISK": lambda s: (
            s.scores[_F] >= 3
            and figure(s, "frequency") > 0
            and days(s, "recency_days") is not None
            and not bought_within(s, rules.at_risk_days)
        ),
        "ZOMBIE": lambda s: (
            figure(s, "last_activity_at") > 0
            and (days(s, "last_activity_days") or 0) >= rules.dormant_days
        ),
        "FADING_STAR": lambda s: (
            figure(s, "prior_monetary_cents") >= top_prior
            and figure(s, "frequency") < figure(s, "prior_frequency")
            and figure(s, "monetary_cents") < figure(s, "prior_monetary_cents")
            and (days(s, "recency_days") or 0) > (days(s, "prior_recency_days") or 0)
        ),
    }


def misfits(rows: Sequence[ScoredRow], rules: SegmentRules) -> dict[str, int]:
    """How many members of each segment break its words (0 expected for each), and under
    ``RECENT_AND_DORMANT`` how many are in a recent and a dormant segment at once."""
    prior = sorted(p for r in rows if (p := r.row.figures["prior_monetary_cents"]) > 0)
    top_prior = prior[(len(prior) * 4) // 5] if prior else 0
    fits = _fits(rules, top_prior)
    broken: Counter[str] = Counter()
    for found in rows:
        for segment in found.segments:
            if not fits[segment](found):
                broken[segment] += 1
        if RECENT.intersection(found.segments) and DORMANT.intersection(found.segments):
            broken["RECENT_AND_DORMANT"] += 1
    return {name: broken.get(name, 0) for name in (*DESCRIPTIONS, "RECENT_AND_DORMANT")}
