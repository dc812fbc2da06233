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
an address, a street line, a postcode and birth year, or a phone), never by comparing every
pair, and must agree on something of the person's own (the birth date or the first name,
unless one is left out): a household shares the rest.
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

from rapidfuzz.distance import JaroWinkler, Levenshtein

from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import NearDuplicates, SuggestionRules

__all__ = ["FieldEvidence", "Population", "Suggestion", "population_of", "score_pair", "suggest"]


@dataclass(frozen=True, slots=True)
class FieldEvidence:
    """How one field compares: ``level`` (exact, close, postcode, shared, differs) and the
    weight it adds."""

    field: str
    level: str
    weight: float
    a: str | None
    b: str | None


@dataclass(frozen=True, slots=True)
class Suggestion:
    """Two records that may be one person: the match probability and the evidence."""

    a: RecordKey
    b: RecordKey
    score: float
    evidence: tuple[FieldEvidence, ...]


def _fold(text: str | None) -> str:
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in folded if c.isalnum() or c.isspace()).split())


def _names(a: RecordData, b: RecordData, close: NearDuplicates) -> Iterator[tuple[str, str]]:
    """(field, level) of first and last name, trying them swapped too."""
    af, al, bf, bl = (
        fold_name(n or "") for n in (a.first_name, a.last_name, b.first_name, b.last_name)
    )

    def level(x: str, y: str, least: float, short: bool) -> str:
        if not x or not y:
            return "missing"
        if x == y:
            return "exact"
        return "close" if close._close(x, y, least, short) else "differs"

    straight = (
        level(af, bf, close.first_name_min, True),
        level(al, bl, close.last_name_min, False),
    )
    swapped = (level(af, bl, close.last_name_min, False), level(al, bf, close.first_name_min, True))
    rank = {"exact": 3, "close": 2, "missing": 1, "differs": 0}
    best = max(straight, swapped, key=lambda p: rank[p[0]] + rank[p[1]])
    yield "first_name", best[0]
    yield "last_name", best[1]


def _birth(a: RecordData, b: RecordData) -> str:
    if a.birth_date is None or b.birth_date is None:
        return "missing"
    if a.birth_date == b.birth_date:
        return "exact"
    x, y = a.birth_date, b.birth_date
    one_part = sum((x.year != y.year, x.month != y.month, x.day != y.day)) == 1
    swapped = x.year == y.year and x.month == y.day and x.day == y.month
    return "close" if one_part or swapped else "differs"


def _street(address: str) -> str:
    """An address line folded, without spaces (``auroraclose`` is ``aurora close``)."""
    return _fold(address.partition("|")[0]).replace(" ", "")


def _address(a: RecordData, b: RecordData) -> str:
    """``exact``; ``close`` (one postcode, lines close); ``street`` (lines close, postcodes
    not: a typed postcode is the likelier slip than the same line elsewhere); ``postcode``
    (the postcode alone); ``differs``."""
    if not a.address or not b.address:
        return "missing"
    post_a, post_b = a.address.partition("|")[2], b.address.partition("|")[2]
    line_a, line_b = _street(a.address), _street(b.address)
    same_line = line_a == line_b
    if same_line and post_a == post_b:
        return "exact"
    if not line_a or not line_b:
        return "postcode" if post_a and post_a == post_b else "differs"
    if post_a and post_a == post_b:
        spaced = _fold(a.address.partition("|")[0]), _fold(b.address.partition("|")[0])
        return "close" if JaroWinkler.similarity(*spaced) >= 0.88 else "postcode"
    # Elsewhere, only one house number (give or take a slip) on one street.
    near = same_line or JaroWinkler.similarity(line_a, line_b) >= 0.88
    number_a, number_b = _digits(line_a), _digits(line_b)
    slip = bool(number_a and number_b) and Levenshtein.distance(number_a, number_b) <= 1
    return "street" if near and slip else "differs"


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


Junk = Callable[[IdentifierKind, str], bool]
"""Whether a value is a placeholder (:meth:`~membergraph.identity.rules.Rules.is_junk`)."""


def _values(record: RecordData, kind: IdentifierKind, junk: Junk | None = None) -> set[str]:
    """A record's values of a kind, placeholders left out: they say nothing of anyone."""
    return {
        i.key for i in record.identifiers if i.kind is kind and not (junk and junk(kind, i.key))
    }


def _contact_levels(
    a: RecordData, b: RecordData, home: bool, junk: Junk | None
) -> Iterator[tuple[str, str, tuple[str, str]]]:
    """(field, level, the values shown) for phones and e-mails: ``differs`` when each
    contact has one the other lacks (two people, each with their own: twins, a couple),
    else ``shared`` (``household`` for a phone shared at one address: the household's
    line); nothing when neither applies."""
    for name, kind in (("phone", IdentifierKind.PHONE), ("email", IdentifierKind.EMAIL)):
        mine, theirs = _values(a, kind, junk), _values(b, kind, junk)
        only_mine, only_theirs = sorted(mine - theirs), sorted(theirs - mine)
        shared = sorted(mine & theirs)
        if only_mine and only_theirs:
            yield name, "differs", (only_mine[0], only_theirs[0])
        elif shared:
            # A phone shared at one address is the household's line: no news once the
            # address agrees (the fields are not independent there).
            level = "household" if name == "phone" and home else "shared"
            yield name, level, (shared[0], shared[0])


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
    """

    postcode_share: Mapping[str, float] = field(default_factory=dict)
    households: bool = False
    junk: Junk | None = None
    prior: float | None = None


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
            names = dict(_names(a, b, close))
            two += names["first_name"] == "differs" and _birth(a, b) == "differs"
    households = bool(pairs) and two / pairs >= rules.households_from
    prior = rules.prior + min(0.0, math.log2(rules.prior_contacts / max(1, len(contacts))))
    return Population(share, households, junk, prior)


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
    levels = [*_names(a, b, close), ("birth_date", _birth(a, b)), ("address", _address(a, b))]
    home = levels[-1][1] in ("exact", "close")
    if home and known.households:
        # A household shares its name, and twins a birth date: at one address, agreeing on
        # them is weak news (the fields are not independent there).
        levels = [(f, _HOUSEHOLD.get((f, level), level)) for f, level in levels]
    for field_, level, shown in _contact_levels(a, b, home, known.junk):
        levels.append((field_, level))
        said[field_] = shown
    share = known.postcode_share
    evidence = tuple(
        FieldEvidence(f, level, _weight(rules, f, level, a, share), *said[f]) for f, level in levels
    )
    prior = rules.prior if known.prior is None else known.prior
    bits = prior + sum(e.weight for e in evidence)
    return Suggestion(a.ref, b.ref, 1.0 / (1.0 + 2.0 ** (-bits)), evidence)


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


def _personal(a: RecordData, b: RecordData, close: NearDuplicates) -> bool:
    """Whether two contacts agree on something of the person's own: the birth date, or the
    first name (or the names swapped). A household (same last name, address and line) is
    no evidence of one person when both of those differ: a parent and a child, a couple."""
    if _birth(a, b) in ("exact", "close"):
        return True
    levels = dict(_names(a, b, close))
    # A first name left out is no sign of another person: the contact may be theirs.
    return levels["first_name"] in ("exact", "close", "missing")


def _blocks(records: Iterable[RecordData], max_block: int) -> set[tuple[RecordKey, RecordKey]]:
    """Candidate pairs: contacts sharing a birth date, a last name with a first initial, an
    address, a street line, a postcode and birth year, or a phone (a block bigger than
    ``max_block`` is skipped: too common)."""
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
            street, postcode = _street(r.address), r.address.partition("|")[2]
            if street:  # the line wherever the postcode was typed wrong
                by_key[("street", street)].append(r.ref)
            if postcode and r.birth_date is not None:
                by_key[("postcode", f"{postcode}|{r.birth_date.year}")].append(r.ref)
        for phone in _values(r, IdentifierKind.PHONE):
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
    skip = {tuple(sorted(pair)) for pair in apart}
    found = []
    for a, b in sorted(_blocks(contacts, rules.max_block)):
        if (a, b) in skip or not _personal(records[a], records[b], close):
            continue
        scored = score_pair(records[a], records[b], rules, close, population)
        if scored.score >= rules.min_score:
            found.append(scored)
    found.sort(key=lambda s: (-s.score, s.a, s.b))
    return found
