"""How two CRM contacts score as one person: the evidence field by field and the match
probability it gives (:func:`score_pair`), weighed by what all the contacts say
(:class:`Population`, :func:`population_of`).

The score is Fellegi-Sunter's, as Splink computes it: each field compared adds its agreement
weight (in bits: log2 of how much likelier the agreement is among matches than among
non-matches) to the prior; the score is the match probability those odds give. How two
contacts compare, field by field, is :mod:`~membergraph.identity.comparisons`; the weights
are the rules' table (:mod:`~membergraph.identity.suggestion_rules`).

Evidence of two people weighs against (``differs`` levels): a phone or e-mail each contact
has and the other lacks. Where the data's addresses hold households (:func:`population_of`),
a family name and a birth date agreed at one address weigh their ``household`` levels: a
household shares its name and landline, twins their birth date, so those agreements are not
independent evidence of one person there. A postcode or an exact name weighs by how rare it
is among the contacts (term frequency).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

from rapidfuzz.distance import JaroWinkler

from membergraph.identity.comparisons import (
    Junk,
    address_level,
    birth_level,
    contact_levels,
    name_agreement,
    name_levels,
    values_of,
)
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.suggestion_rules import SuggestionRules
from membergraph.identity.surname_forms import generation

__all__ = [
    "FieldEvidence",
    "Population",
    "Suggestion",
    "population_of",
    "score_pair",
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
    swapped: bool = False
    """A name compared across: first and last names typed the wrong way round on one of the
    two, so ``a`` and ``b`` are the names that were compared (one a first name, the other a
    last name)."""


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
        crowded: the phones, e-mails and cards carried by contacts of many different first
            names (``rules.crowded_names`` or more): a family's, a store's. Sharing such a
            phone or e-mail weighs the ``crowded`` level; such an e-mail or card says
            nothing of one person against a generational suffix.
    """

    postcode_share: Mapping[str, float] = field(default_factory=dict)
    households: bool = False
    junk: Junk | None = None
    prior: float | None = None
    name_share: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    name_agree: Mapping[str, float] = field(default_factory=dict)
    crowded: frozenset[tuple[IdentifierKind, str]] = frozenset()

    def is_crowded(self, kind: IdentifierKind, value: str) -> bool:
        return (kind, value) in self.crowded

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
    one address, the share that are plainly two people (first names differ, and birth dates
    differ or one is left out) is ``rules.households_from`` or more. The prior falls by
    log2(contacts / ``rules.prior_contacts``) bits when there are more contacts than that."""
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
            # A birth date left out is no sign of one person: most retail contacts lack one.
            two += first == "differs" and birth_level(a, b) in ("differs", "missing")
    households = bool(pairs) and two / pairs >= rules.households_from
    prior = rules.prior + min(0.0, math.log2(rules.prior_contacts / max(1, len(contacts))))
    name_share, name_agree = _name_frequencies(contacts)
    crowded = _crowded_values(contacts, rules.crowded_names, junk)
    return Population(share, households, junk, prior, name_share, name_agree, crowded)


def _crowded_values(
    contacts: Sequence[RecordData], least: int, junk: Junk | None
) -> frozenset[tuple[IdentifierKind, str]]:
    """The phones, e-mails and cards on contacts of ``least`` different first names or more
    (one person's duplicates mostly keep her first name; a family's line does not)."""
    if not least:
        return frozenset()
    names: dict[tuple[IdentifierKind, str], set[str]] = defaultdict(set)
    for r in contacts:
        first = fold_name(r.first_name or "")
        if not first:
            continue
        for kind in _CARRIED:
            for value in values_of(r, kind, junk):
                names[(kind, value)].add(first)
    return frozenset(key for key, firsts in names.items() if len(firsts) >= least)


_CARRIED = (IdentifierKind.PHONE, IdentifierKind.EMAIL, IdentifierKind.LOYALTY_ID)


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
    swapped = _crossed(a, b, names)
    if swapped:
        said.update(_names_compared(a, names))
    levels = [(f, level) for f, level, *_ in names]
    if levels[1][1] == "differs" and "similar" in rules.weights.get("last_name", {}):
        levels[1] = ("last_name", _similar_family_name(a, b, names))
    elif (
        levels[1][1] not in ("differs", "missing")
        and "generation" in rules.weights.get("last_name", {})
        and _generations_differ(a, b, names)
        and not (_share_their_own(a, b, known) and birth_level(a, b) != "differs")
    ):
        levels[1] = ("last_name", "generation")  # Johnson / Johnson Jr.: father and son
    levels += [("birth_date", birth_level(a, b)), ("address", address_level(a, b))]
    home = levels[-1][1] in ("exact", "close")
    if home and known.households:
        # A household shares its name, and twins a birth date: at one address, agreeing on
        # them is weak news (the fields are not independent there).
        levels = [(f, _HOUSEHOLD.get((f, level), level)) for f, level in levels]
    crowded = known.is_crowded if known.crowded else None
    for field_, level, shown in contact_levels(a, b, home, known.junk, crowded):
        levels.append((field_, level))
        said[field_] = shown
    share = known.postcode_share
    evidence = tuple(
        FieldEvidence(
            f, level, _weight(rules, f, level, a, share), *said[f], swapped=swapped and f in NAMES
        )
        for f, level in levels
    )
    if rules.name_frequency_bits:
        # An exact name weighs by how rare it is (term frequency, as Splink adjusts).
        most = rules.name_frequency_bits
        tuned = {
            f: known.name_adjustment(f, name, most)
            for f, level, name, _ in names
            if level == "exact"
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


NAMES = ("first_name", "last_name")


def _crossed(a: RecordData, b: RecordData, names: list[tuple[str, str, str, str]]) -> bool:
    """Whether :func:`name_levels` compared the names across (a's last name with b's first
    name, a's first with b's last): its first name's comparison is not first with first."""
    _, _, mine, theirs = names[0]
    return mine != fold_name(a.first_name or "") or theirs != (b.first_name or "")


def _names_compared(
    a: RecordData, names: list[tuple[str, str, str, str]]
) -> dict[str, tuple[str | None, str | None]]:
    """Each name field's values as compared across, as written: which of a's names (its
    first or its last) met which of b's."""
    said: dict[str, tuple[str | None, str | None]] = {}
    for field_, _, mine, theirs in names:
        own = a.first_name if mine == fold_name(a.first_name or "") else a.last_name
        said[field_] = (own, theirs or None)
    return said


def _similar_family_name(
    a: RecordData, b: RecordData, names: list[tuple[str, str, str, str]]
) -> str:
    """``similar`` when the family names compared (a's first name, if a's were swapped) are
    alike below what ``close`` asks (Jaro-Winkler ``_SIMILAR`` or more: ``webl``/``webb``,
    two slips in one name), else ``differs``."""
    mine, theirs = names[1][2], fold_name(names[1][3])
    return "similar" if JaroWinkler.similarity(mine, theirs) >= _SIMILAR else "differs"


def _generations_differ(
    a: RecordData, b: RecordData, names: list[tuple[str, str, str, str]]
) -> bool:
    """Whether the family names compared carry different generational suffixes (``Jr.`` on
    one only): a father and his son of one name."""
    mine = a.last_name if names[1][2] == fold_name(a.last_name or "") else a.first_name
    return generation(mine or "")[1] != generation(names[1][3])[1]


def _share_their_own(a: RecordData, b: RecordData, known: Population) -> bool:
    """Whether two contacts share an e-mail or a card that is no family's or store's (not
    a placeholder, not ``crowded``): one person's, so a suffix on one only is a form's, not
    another generation's, unless their birth dates say two (a father who gave his e-mail
    for his son)."""
    for kind in (IdentifierKind.EMAIL, IdentifierKind.LOYALTY_ID):
        shared = values_of(a, kind, known.junk) & values_of(b, kind, known.junk)
        if any(not known.is_crowded(kind, value) for value in shared):
            return True
    return False


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
