"""Agreement weights estimated from the data, as Splink estimates them.

The rules' table gives each level of a field a weight in bits: log2(m / u), where m is how
often one person's two contacts compare so and u how often two people's do. The table is
written for a retail CRM; a data set says its own: how often its duplicates mistype a birth
date, how many of its people share a first name. Splink estimates u on random pairs and m by
expectation-maximisation on the candidate pairs; so does :func:`estimate`:

- u: the share of random pairs of contacts at each level (an exact agreement from the
  values' frequencies instead: two contacts picked at random agree on a birth date with the
  chance the sum of its squared shares says, too rare to count on a sample);
- m: starting from the table, each step weighs every candidate pair by its match
  probability under the current weights and prior, and takes each level's weighted share;
  the prior is the expected number of matching pairs over all pairs (as
  :func:`~membergraph.identity.suggestions.estimated_prior` does alone).

Each weight stays within ``bits`` of the table's, so the table bounds what the data can say
and stays what a steward reads first; a suggestion's evidence shows both. Levels the table
does not weigh (``missing``), the ``household`` levels (agreements at one address that are
not independent evidence, which the model EM fits assumes), a phone or e-mail ``shared`` or
``crowded`` and a family name's ``generation`` (too rare in random pairs for a u to count)
keep the table's weight. A phone or e-mail each contact has of its own (``differs``) is
estimated: how often one person's duplicates give another e-mail is the data's to say.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ESTIMATED_FIELDS", "Estimate", "estimate", "exact_chance"]

ESTIMATED_FIELDS = ("first_name", "last_name", "birth_date", "address", "phone", "email")
# No weight to estimate, not independent evidence, or too rare in random pairs for a u.
_KEPT_LEVELS = {"missing", "household", "shared", "crowded", "generation"}
_STEPS = 25
_SETTLED = 0.005  # bits: a step that moves no weight more than this ends the estimation

Levels = Sequence[tuple[str, str]]  # (field, level) of a pair, as its evidence says


@dataclass(frozen=True, slots=True)
class Estimate:
    """Weights per field and level (the table's where nothing was estimated), the prior, and
    the steps taken."""

    weights: dict[str, dict[str, float]]
    prior: float
    steps: int


def exact_chance(values: Sequence[str | None]) -> float:
    """The chance that two values picked at random (None counts as a value left out) are one
    and the same value: the sum of its squared shares, over the values present."""
    present = [v for v in values if v]
    if not values or not present:
        return 0.0
    counts = Counter(present)
    return sum(n * n for n in counts.values()) / (len(values) * len(values))


def estimate(
    candidates: Sequence[tuple[Levels, float]],
    random_pairs: Sequence[Levels],
    exact: Mapping[str, float],
    pairs: float,
    table: Mapping[str, Mapping[str, float]],
    prior: float,
    bits: float,
    prior_bits: float,
) -> Estimate:
    """Weights and prior estimated on ``candidates`` (each pair's levels and its bits under
    the table, term frequency and the fields not estimated included), with u counted on
    ``random_pairs`` and, for exact agreement, taken from ``exact`` (per field); ``pairs``
    is the number of all pairs of contacts. Each weight within ``bits`` of ``table``'s, the
    prior within ``prior_bits`` of ``prior``."""
    estimated = {
        (f, level)
        for f in ESTIMATED_FIELDS
        for level in table.get(f, {})
        if level not in _KEPT_LEVELS
    }
    u = _u(random_pairs, exact, estimated)
    weights = {f: dict(levels) for f, levels in table.items()}
    # Each candidate: its estimated levels, and the rest of its bits.
    rows = []
    for levels, total in candidates:
        mine = [pair for pair in levels if pair in estimated]
        rows.append((mine, total - sum(table[f][level] for f, level in mine)))
    start, guess, steps = prior, prior, 0
    while steps < _STEPS:
        steps += 1
        expected = 0.0
        weighted: dict[tuple[str, str], float] = defaultdict(float)
        for mine, other in rows:
            bits_of_pair = guess + other + sum(weights[f][level] for f, level in mine)
            p = 1.0 / (1.0 + 2.0 ** (-bits_of_pair))  # the match probability
            expected += p
            for pair in mine:
                weighted[pair] += p
        if expected <= 0:
            break
        guess = math.log2(max(expected, 0.5) / max(pairs - expected, 1.0))
        guess = max(start - prior_bits, min(start + prior_bits, guess))
        moved = 0.0
        for f, level in estimated:
            m = weighted.get((f, level), 0.0) / expected
            said = table[f][level]
            new = math.log2(max(m, 1e-6) / u[(f, level)])
            new = max(said - bits, min(said + bits, new))
            moved = max(moved, abs(new - weights[f][level]))
            weights[f][level] = new
        if moved < _SETTLED:
            break
    return Estimate(weights, guess, steps)


def _u(
    random_pairs: Sequence[Levels], exact: Mapping[str, float], estimated: set[tuple[str, str]]
) -> dict[tuple[str, str], float]:
    counts = Counter(pair for levels in random_pairs for pair in levels)
    n = max(1, len(random_pairs))
    u = {pair: max(counts.get(pair, 0), 0.5) / n for pair in estimated}
    for f, chance in exact.items():
        if (f, "exact") in u and chance > 0:
            u[(f, "exact")] = chance
    return u
