"""Match suggestions: pairs of CRM contacts the rules did not merge, scored for stewards.

The rules merge only on strong evidence (a shared card or e-mail with the same person's
name and birth date). Weaker evidence (close names and one birth date with nothing shared,
or one address and phone) never merges on its own: it is scored, Fellegi-Sunter style as
Splink does (:mod:`~membergraph.identity.suggestion_scores`: the evidence field by field and
the match probability it gives), and offered to stewards.

Candidates are found by blocking (pairs sharing a birth date, a last name and first initial,
an address, a street line, a postcode with a birth year, a family name or a house number,
or a phone), never by comparing every pair. Where addresses hold households, a candidate
must agree on something of the person's own (the birth date or the first name, unless one
is left out): a household shares the rest.

What the data says adjusts the table's prior, as Splink estimates it from the data set: the
prior is the share of pairs the scores say are one person (:func:`estimated_prior`). Among
enough contacts the weights themselves are estimated too (``estimate_weight_bits``, on by
default: :mod:`~membergraph.identity.suggestion_weights`); each field's evidence then shows
the estimated weight and the table's.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import combinations

from membergraph.identity.comparisons import Junk, agree_on_own, street_of, values_of
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.suggestion_rules import SuggestionRules
from membergraph.identity.suggestion_scores import (
    FieldEvidence,
    Population,
    Suggestion,
    population_of,
    score_pair,
)
from membergraph.identity.suggestion_weights import Estimate, estimate, exact_chance

# A pair's score and its types are suggestion_scores' own, offered here with the rest.
__all__ = [
    "FieldEvidence",
    "Population",
    "Suggestion",
    "estimated_prior",
    "population_of",
    "score_pair",
    "suggest",
    "with_prior",
]


def _blocks(records: Iterable[RecordData], max_block: int) -> set[tuple[RecordKey, RecordKey]]:
    """Candidate pairs: contacts sharing a birth date, a last name with a first initial, an
    address, a street line, a postcode with a birth year, a family name or a house number,
    or a phone (a block bigger than ``max_block`` is skipped: too common)."""
    by_key: dict[tuple[str, str], list[RecordKey]] = defaultdict(list)
    for r in records:
        first, last = fold_name(r.first_name or ""), fold_name(r.last_name or "")
        if r.birth_date is not None:
            by_key[("birth", r.birth_date.isoformat())].append(r.ref)
        if last and first:
            by_key[("name", f"{last}|{first[0]}")].append(r.ref)
            by_key[("name", f"{first}|{last[0]}")].append(r.ref)  # swapped names
        if r.address:
            by_key[("address", r.address)].append(r.ref)
            street, postcode = street_of(r.address), r.address.partition("|")[2]
            if street:  # the line wherever the postcode was typed wrong
                by_key[("street", street)].append(r.ref)
            if postcode and r.birth_date is not None:
                by_key[("postcode", f"{postcode}|{r.birth_date.year}")].append(r.ref)
            if postcode:
                # One postcode and a family name or a house number: the first name, birth
                # date and street line may all be retyped. (A first name with a postcode
                # would be as useful on FEBRL, but on retail data a few big postcodes make
                # it a block per common first name: twice the pairs to score.)
                if last:
                    by_key[("postcode", f"{postcode}|{last}")].append(r.ref)
                number = "".join(c for c in street if c.isdigit())
                if number:
                    by_key[("postcode", f"{postcode}|#{number}")].append(r.ref)
        for phone in values_of(r, IdentifierKind.PHONE):
            by_key[("phone", phone)].append(r.ref)
    pairs: set[tuple[RecordKey, RecordKey]] = set()
    for refs in by_key.values():
        if 1 < len(refs) <= max_block:
            pairs.update(combinations(sorted(set(refs)), 2))
    return pairs


def suggest(
    records: Mapping[RecordKey, RecordData],
    rules: SuggestionRules,
    close: NearDuplicates,
    apart: Iterable[tuple[RecordKey, RecordKey]] = (),
    junk: Junk | None = None,
) -> list[Suggestion]:
    """Scored pairs of CRM contacts at ``rules.min_score`` or more, best first, leaving out
    the pairs ``apart`` names (already one member, or kept apart by a steward); ``junk``
    says which phones and e-mails are placeholders, which are no evidence either way."""
    contacts = [r for r in records.values() if r.source == "crm"]
    population = population_of(contacts, rules, close, junk)
    # Without households (one address, one person entered several times: FEBRL), two
    # contacts agreeing on neither birth date nor first name are still scored: the score,
    # not a gate written for families, decides.
    candidates = [
        score_pair(records[a], records[b], rules, close, population)
        for a, b in sorted(_blocks(contacts, rules.max_block))
        if not population.households or agree_on_own(records[a], records[b], close)
    ]
    prior = estimated_prior(candidates, len(contacts), rules, population.prior)
    if rules.estimate_weight_bits and len(contacts) >= rules.estimate_prior_from and candidates:
        estimated = estimated_weights(contacts, candidates, rules, close, population)
        candidates = [with_weights(s, estimated.weights, rules) for s in candidates]
        prior = estimated.prior
    skip = {tuple(sorted(pair)) for pair in apart}
    found = [
        with_prior(s, prior)
        for s in candidates
        if (s.a, s.b) not in skip and with_prior(s, prior).score >= rules.min_score
    ]
    found.sort(key=lambda s: (-s.score, s.a, s.b))
    return found


def _bits(s: Suggestion) -> float:
    return sum(e.weight for e in s.evidence)


def with_prior(s: Suggestion, prior: float) -> Suggestion:
    """``s`` scored with another prior."""
    return replace(s, score=1.0 / (1.0 + 2.0 ** (-(prior + _bits(s)))))


def estimated_prior(
    candidates: Sequence[Suggestion], contacts: int, rules: SuggestionRules, prior: float | None
) -> float:
    """The prior the data says: the log2 odds that two contacts are one person, with the
    expected number of such pairs the scores of ``candidates`` give under it (the
    expectation-maximisation of the prior alone, the agreement weights kept: Splink
    estimates it from the data too). Among fewer than ``rules.estimate_prior_from``
    contacts, or with none to estimate, the rules' prior; else within
    ``rules.estimate_prior_bits`` of it."""
    start = rules.prior if prior is None else prior
    pairs = contacts * (contacts - 1) / 2
    if contacts < rules.estimate_prior_from or not rules.estimate_prior_bits or not candidates:
        return start
    weights = [_bits(s) for s in candidates]
    estimate = start
    for _ in range(_EM_STEPS):
        expected = sum(1.0 / (1.0 + 2.0 ** (-(estimate + w))) for w in weights)
        estimate = math.log2(max(expected, 0.5) / max(pairs - expected, 1.0))
    most = rules.estimate_prior_bits
    return max(start - most, min(start + most, estimate))


_EM_STEPS = 8  # the prior settles within 0.01 bit in two or three on FEBRL and the demo


def estimated_weights(
    contacts: Sequence[RecordData],
    candidates: Sequence[Suggestion],
    rules: SuggestionRules,
    close: NearDuplicates,
    population: Population,
) -> Estimate:
    """The weights and prior the data says (:func:`~membergraph.identity.suggestion_weights.
    estimate`): m by expectation-maximisation on ``candidates``, u on random pairs of
    ``contacts`` (a fixed draw: the same contacts give the same weights)."""
    table = rules.weights
    pairs = len(contacts) * (len(contacts) - 1) // 2
    draw = random.Random(len(contacts))
    sample = []
    for _ in range(min(_U_PAIRS, pairs)):
        i, j = draw.sample(range(len(contacts)), 2)
        scored = score_pair(contacts[i], contacts[j], rules, close, population)
        sample.append([(e.field, e.level) for e in scored.evidence])
    rows = [([(e.field, e.level) for e in s.evidence], _bits(s)) for s in candidates]
    exact = {
        "first_name": exact_chance([fold_name(r.first_name or "") for r in contacts]),
        "last_name": exact_chance([fold_name(r.last_name or "") for r in contacts]),
        "birth_date": exact_chance([str(r.birth_date or "") for r in contacts]),
        "address": exact_chance(
            [
                f"{street_of(r.address)}|{r.address.partition('|')[2]}" if r.address else ""
                for r in contacts
            ]
        ),
    }
    start = rules.prior if population.prior is None else population.prior
    return estimate(
        rows,
        sample,
        exact,
        pairs,
        table,
        start,
        rules.estimate_weight_bits,
        rules.estimate_prior_bits,
    )


_U_PAIRS = 10_000  # random pairs on which u is counted


def with_weights(
    s: Suggestion, weights: Mapping[str, Mapping[str, float]], rules: SuggestionRules
) -> Suggestion:
    """``s`` with each field's weight moved as far as ``weights`` moves the table's (a term
    frequency adjustment kept), the table's weight kept in ``rule_weight``."""
    evidence = []
    for e in s.evidence:
        said = rules.weights.get(e.field, {}).get(e.level)
        now = weights.get(e.field, {}).get(e.level)
        if said is None or now is None or now == said:
            evidence.append(e)
        else:
            evidence.append(replace(e, weight=e.weight + now - said, rule_weight=e.weight))
    return replace(s, evidence=tuple(evidence))
