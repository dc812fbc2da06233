"""Match suggestions: pairs of CRM contacts the rules did not merge, scored for stewards.

The rules merge only on strong evidence (a shared card or e-mail with the same person's
name and birth date). Weaker evidence (close names and one birth date with nothing shared,
or one address and phone) never merges on its own: it is scored here, Fellegi-Sunter style
as Splink does, and offered to stewards. Each field compared adds its agreement weight (in
bits: log2 of how much likelier the agreement is among matches than among non-matches) to
the prior; the score is the match probability those odds give.

Evidence of two people weighs against (``differs`` levels): a phone or e-mail each contact
has and the other lacks. Where the data's addresses hold households (:func:`population_of`),
a family name and a birth date agreed at one address weigh their ``household`` levels: a
household shares its name and landline, twins their birth date, so those agreements are not
independent evidence of one person there.

Candidates are found by blocking (pairs sharing a birth date, a last name and first initial,
an address, a street line, a postcode with a birth year, a family name or a house number,
or a phone), never by comparing every pair. Where addresses hold households, a candidate
must agree on something of the person's own (the birth date or the first name, unless one
is left out): a household shares the rest. How two contacts compare, field by field, is
:mod:`~membergraph.identity.comparisons`.

What the data says adjusts the table's weights and prior, as Splink estimates them from the
data set: a postcode or an exact name weighs by how rare it is (term frequency), and the
prior is the share of pairs the scores say are one person (:func:`estimated_prior`). The
rules may ask for the weights themselves to be estimated too (``estimate_weight_bits``:
:mod:`~membergraph.identity.suggestion_weights`); each field's evidence then shows the
estimated weight and the table's.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

from rapidfuzz.distance import JaroWinkler

from membergraph.identity.comparisons import (
    Junk,
    address_level,
    agree_on_own,
    birth_level,
    contact_levels,
    name_agreement,
    name_levels,
    street_of,
    values_of,
)
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.suggestion_rules import SuggestionRules
from membergraph.identity.suggestion_weights import Estimate, estimate, exact_chance

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


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """How one field compares: ``level`` (exact, close, postcode, shared, differs) and the
    weight it adds; ``rule_weight``: what the rules' table gave before the data's estimate
    changed it (None: not estimated, ``weight`` is the table's)."""

    field: str
    level: str
    weight: float
    a: str | None
    b: str | None
    rule_weight: float | None = None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Two records that may be one person: the match probability and the evidence."""

    a: RecordKey
    b: RecordKey
    score: float
    evidence: tuple[FieldEvidence, ...]


@dataclass(frozen=True, slots=True)
class Population:
    """What all the contacts say that weighs the agreement of two of them.

    Attributes:
        postcode_share: each postcode's share of the contacts (a common one is little news).
        households: whether contacts at one address are mostly households (retail data)
            rather than one person entered twice (FEBRL): then, at one address, the family
            name and a birth date weigh their ``household`` levels (a family shares the
            name, twins the birth date).
        junk: which phones and e-mails are placeholders: no evidence either way.
        prior: the prior for this many contacts (None: the rules' own).
        name_share: per name field, each folded name's share of the contacts that have
            one (a rare family name agreed on is stronger evidence than a common one).
        name_agree: per name field, the chance that two contacts picked at random agree
            on it exactly (the sum of the squared shares): what the table's weight assumes.
    """

    postcode_share: Mapping[str, float] = field(default_factory=dict)
    households: bool = False
    junk: Junk | None = None
    prior: float | None = None
    name_share: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    name_agree: Mapping[str, float] = field(default_factory=dict)

    def name_adjustment(self, field_: str, name: str, most: float) -> float:
        """Bits to add to an exact agreement on ``name``: log2(the average chance of an
        agreement / this name's share), at most ``most`` either way (Splink's term
        frequency adjustment); 0 when the population says nothing of the name."""
        share = self.name_share.get(field_, {}).get(name)
        agree = self.name_agree.get(field_)
        if not share or not agree:
            return 0.0
        return max(-most, min(most, math.log2(agree / share)))


def population_of(
    contacts: Sequence[RecordData],
    rules: SuggestionRules,
    close: NearDuplicates,
    junk: Junk | None = None,
) -> Population:
    """What ``contacts`` say (:class:`Population`). Households: of the pairs of contacts at
    one address, the share that are plainly two people (first names and birth dates both
    differ) is ``rules.households_from`` or more. The prior falls by log2(contacts /
    ``rules.prior_contacts``) bits when there are more contacts than that."""
    postcodes = Counter(r.address.partition("|")[2] for r in contacts if r.address)
    share = {code: n / len(contacts) for code, n in postcodes.items()}
    at: dict[str, list[RecordData]] = defaultdict(list)
    for r in contacts:
        if r.address:
            at[r.address].append(r)
    pairs = two = 0
    for group in at.values():
        if len(group) > rules.max_block:
            continue  # a care home, a store's address: no household
        for a, b in combinations(group, 2):
            pairs += 1
            first = name_agreement(a, b, close)["first_name"]
            two += first == "differs" and birth_level(a, b) == "differs"
    households = bool(pairs) and two / pairs >= rules.households_from
    prior = rules.prior + min(0.0, math.log2(rules.prior_contacts / max(1, len(contacts))))
    name_share, name_agree = _name_frequencies(contacts)
    return Population(share, households, junk, prior, name_share, name_agree)


def _name_frequencies(
    contacts: Sequence[RecordData],
) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per name field, each folded name's share of the contacts that have one, and the
    chance two of them agree (:class:`Population`)."""
    shares: dict[str, dict[str, float]] = {}
    agree: dict[str, float] = {}
    for field_, folded in (
        ("first_name", [fold_name(r.first_name or "") for r in contacts]),
        ("last_name", [fold_name(r.last_name or "") for r in contacts]),
    ):
        counts = Counter(n for n in folded if n)
        total = sum(counts.values())
        if total:
            shares[field_] = {n: c / total for n, c in counts.items()}
            agree[field_] = sum(share * share for share in shares[field_].values())
    return shares, agree


def score_pair(
    a: RecordData,
    b: RecordData,
    rules: SuggestionRules,
    close: NearDuplicates,
    population: Population | None = None,
) -> Suggestion:
    """The match probability of two contacts, with the evidence per field (``population``:
    what all the contacts say, when known)."""
    known = population or Population()
    said = {
        "first_name": (a.first_name, b.first_name),
        "last_name": (a.last_name, b.last_name),
        "birth_date": (
            a.birth_date.isoformat() if a.birth_date else None,
            b.birth_date.isoformat() if b.birth_date else None,
        ),
        "address": (a.address, b.address),
    }
    names = name_levels(a, b, close)
    levels = [(f, level) for f, level, _ in names]
    if levels[1][1] == "differs" and "similar" in rules.weights.get("last_name", {}):
        levels[1] = ("last_name", _similar_family_name(a, b, names))
    levels += [("birth_date", birth_level(a, b)), ("address", address_level(a, b))]
    home = levels[-1][1] in ("exact", "close")
    if home and known.households:
        # A household shares its name, and twins a birth date: at one address, agreeing on
        # them is weak news (the fields are not independent there).
        levels = [(f, _HOUSEHOLD.get((f, level), level)) for f, level in levels]
    for field_, level, shown in contact_levels(a, b, home, known.junk):
        levels.append((field_, level))
        said[field_] = shown
    share = known.postcode_share
    evidence = tuple(
        FieldEvidence(f, level, _weight(rules, f, level, a, share), *said[f]) for f, level in levels
    )
    if rules.name_frequency_bits:
        # An exact name weighs by how rare it is (term frequency, as Splink adjusts).
        most = rules.name_frequency_bits
        tuned = {
            f: known.name_adjustment(f, name, most) for f, level, name in names if level == "exact"
        }
        evidence = tuple(
            replace(e, weight=e.weight + tuned[e.field])
            if e.field in tuned and e.level == "exact"
            else e
            for e in evidence
        )
    prior = rules.prior if known.prior is None else known.prior
    bits = prior + sum(e.weight for e in evidence)
    return Suggestion(a.ref, b.ref, 1.0 / (1.0 + 2.0 ** (-bits)), evidence)


def _similar_family_name(a: RecordData, b: RecordData, names: list[tuple[str, str, str]]) -> str:
    """``similar`` when the family names compared (swapped if the first names were) are
    alike below what ``close`` asks (Jaro-Winkler ``_SIMILAR`` or more: ``webl``/``webb``,
    two slips in one name), else ``differs``."""
    mine = names[1][2]
    theirs = fold_name(
        (b.last_name if mine == fold_name(a.last_name or "") else b.first_name) or ""
    )
    return "similar" if JaroWinkler.similarity(mine, theirs) >= _SIMILAR else "differs"


_SIMILAR = 0.8  # Splink's name tiers are 0.92, 0.88 and 0.7; on febrl2 0.7 to 0.88 tie

_HOUSEHOLD = {("last_name", "exact"): "household", ("birth_date", "exact"): "household"}


def _weight(
    rules: SuggestionRules,
    field: str,
    level: str,
    a: RecordData,
    postcode_share: Mapping[str, float] | None,
) -> float:
    weight = rules.weights.get(field, {}).get(level, 0.0)
    if level == "postcode" and postcode_share and a.address:
        share = postcode_share.get(a.address.partition("|")[2], 0.0)
        if share > 0:  # a common postcode is little news (term frequency, as Splink)
            weight = max(0.0, min(weight, math.log2(rules.postcode_m / share)))
    return weight


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
