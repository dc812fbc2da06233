"""Identity quality on the demo generator's ground truth, for each generator profile.

    python benchmarks/identity_quality.py                       # both profiles, 5,000 and 20,000
    python benchmarks/identity_quality.py --members 5000 --profile holdout --seed 7

Truth is per line (``truth.jsonl``), so a record may hold several people's lines (an online
"customer" keyed by a till placeholder, a family computer): the unit scored is a record's
lines of one person. For each profile and size it prints pairwise precision over profile
records (CRM contacts, cards, online customers) and over all records, each with its ceiling
``(max)`` (two people's lines in one record, a family's shared online account or computer,
are a false pair whatever a resolver does: no resolver cuts a record) and the precision of
the engine's merges alone (``merge P``: pairs of units in two different records), achievable
recall (of
the pairs of one person's units connected through identifier values no other person
carries, the share the engine put together; ``recall+`` the same with the lines of records
the engine finds nobody's counted, each record's lines of one person alone: lines a
resolver left to no one though values only their person carries name her), the largest member's number of people, the
members holding two people's CRM contacts, and the lines no member holds (a purchase whose
only identifier is a placeholder, or keyed by a value the data shows to be one; a family
computer logged in as two members). Last, what ``matchSuggestions`` lists at the rules'
threshold (``sugg``: pairs of members) with its pairwise precision and recall against the
pairs of members holding one person's CRM contacts.

``holdout`` is the profile the engine was not tuned on; ``default`` is the demo's.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from membergraph.connectors.sources import SOURCES
from membergraph.demo import PROFILES, write_demo_data
from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.folder_scan import scan_folder
from membergraph.identity.load import collect_records, owner_key
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import load_rules
from membergraph.identity.suggestions import suggest

Unit = tuple[RecordKey, str]  # a record's lines of one person
RULES = load_rules(
    Path(os.environ["MEMBERGRAPH_RULES"]) if "MEMBERGRAPH_RULES" in os.environ else None
)


@dataclass
class Scores:
    precision: float
    recall: float
    largest: int  # most people in one member
    merges: float  # precision of the engine's merges: pairs of units in two records
    ceiling: float  # the best precision any resolver can reach: a record is never cut


@dataclass
class Suggested:
    """``matchSuggestions`` at the rules' threshold, as member pairs: how many, and their
    pairwise precision and recall against the pairs of members holding one person's CRM
    contacts (what the rules left apart)."""

    count: int
    precision: float
    recall: float


@dataclass
class Run:
    profile: str
    people: int
    lines: int
    records: int
    members: int
    unattributed: int
    seconds: float
    profiles: Scores
    everything: Scores
    crm_mix: int
    suggested: Suggested
    recall_all: float  # recall with the lines of nobody's records counted, each unit alone


def pairs(count: int) -> int:
    return count * (count - 1) // 2


def measure(people: int, seed: int, profile: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_demo_data(folder, people, seed, profile)
        person_of_line = {}
        for raw in (folder / "truth.jsonl").read_bytes().splitlines():
            row = orjson.loads(raw)
            person_of_line[(row["source"], row["id"])] = row["person"]
        lines, units = [], Counter[Unit]()
        unattributed = 0
        for source, spec in SOURCES.items():
            for raw in (folder / spec.file_name).read_bytes().splitlines():
                line = spec.model.model_validate_json(raw)
                person = person_of_line[(source.value, str(getattr(line, spec.id_field)))]
                key = owner_key(source, line)
                if key is None:
                    unattributed += 1
                    continue
                lines.append((source, line))
                units[((source.value, key), person)] += 1
        # The records as ``membergraph resolve`` reads them: each line id's winning version
        # (a CRM contact's older versions adding their values), read in this process.
        records = scan_folder(folder, workers=1).records
    total = len(lines) + unattributed
    # What the lines say, every version of each: what a resolver could reach (recall).
    said = collect_records(lines)
    started = time.perf_counter()
    result = resolve(records, RULES)
    seconds = time.perf_counter() - started
    # Records the engine finds to be nobody's (a hub-keyed purchase, a shared device).
    nobodys = set(result.unattributed)
    unattributed += sum(n for (ref, _), n in units.items() if ref in nobodys)
    # Recall over every line a record holds: a nobody's record's lines of one person that
    # values only she carries join to her other lines are missed pairs too.
    recall_all = score(result, said, list(units), lambda ref: True, alone=nobodys).recall
    units = Counter({u: n for u, n in units.items() if u[0] not in nobodys})
    profile_records = {ref for ref, r in records.items() if r.role == "profile"}
    scores = [
        score(result, said, list(units), keep)
        for keep in (lambda ref: ref in profile_records, lambda ref: True)
    ]
    people_of: dict[RecordKey, list[str]] = defaultdict(list)
    for ref, person in units:
        people_of[ref].append(person)
    crm_mix = sum(
        1
        for comp in result.components
        if len({p for ref in comp if ref[0] == "crm" for p in people_of[ref]}) > 1
    )
    return Run(
        profile,
        people,
        total,
        len(records),
        len(result.components),
        unattributed,
        seconds,
        scores[0],
        scores[1],
        crm_mix,
        suggestions(result, records, people_of),
        recall_all,
    )


def suggestions(
    result: Resolution,
    records: dict[RecordKey, RecordData],
    people_of: dict[RecordKey, list[str]],
) -> Suggested:
    """What ``matchSuggestions`` lists at the rules' threshold (the best pair of contacts
    per pair of members, as :func:`~membergraph.identity.steward_suggestions.match_suggestions`
    keeps), scored against the truth of the CRM lines."""
    member_of = {ref: i for i, comp in enumerate(result.components) for ref in comp}
    contacts = {ref: r for ref, r in records.items() if r.source == "crm" and ref in member_of}
    listed: dict[frozenset[int], bool] = {}
    for s in suggest(contacts, RULES.suggestions, RULES.near_duplicates, junk=RULES.is_junk):
        pair = frozenset((member_of[s.a], member_of[s.b]))
        if len(pair) == 2 and pair not in listed:  # best first, as the API lists them
            listed[pair] = people_of[s.a] == people_of[s.b]
    members_of_person: dict[str, set[int]] = defaultdict(set)
    for ref in contacts:
        for person in people_of[ref]:
            members_of_person[person].add(member_of[ref])
    apart = {
        frozenset((x, y))
        for held in members_of_person.values()
        for x in held
        for y in held
        if x < y
    }
    right = sum(listed.values())
    precision = right / len(listed) if listed else 1.0
    recall = len(apart & {pair for pair, ok in listed.items() if ok}) / len(apart) if apart else 1.0
    return Suggested(len(listed), precision, recall)


def score(
    result: Resolution,
    records: dict[RecordKey, RecordData],
    units: list[Unit],
    keep: Callable[[RecordKey], bool],
    alone: set[RecordKey] | frozenset[RecordKey] = frozenset(),
) -> Scores:
    member_of: dict[RecordKey, object] = {
        ref: i for i, comp in enumerate(result.components) for ref in comp
    }
    member_of.update({ref: ("nobody's", ref) for ref in alone})
    kept = [u for u in units if keep(u[0])]
    in_member: dict[object, Counter[str]] = defaultdict(Counter)
    for ref, person in kept:
        in_member[member_of[ref]][person] += 1
    together = sum(pairs(n) for people in in_member.values() for n in people.values())
    predicted = sum(pairs(sum(people.values())) for people in in_member.values())
    # Two people's lines in one record (a family's shared online account, a family computer)
    # are apart in no resolution: those pairs are false whatever the engine does.
    people_in: Counter[RecordKey] = Counter(ref for ref, _ in kept)
    within = sum(pairs(n) for n in people_in.values())
    largest = max((len(people) for people in in_member.values()), default=0)
    # Values only one person carries: what a perfect deterministic resolver links on. What
    # an agent typed is a claim, not ownership: a mistyped card is not someone else's.
    owners: dict[tuple[object, str], set[str]] = defaultdict(set)
    for ref, person in kept:
        for ident in records[ref].identifiers:
            if ident.via != "agent":
                owners[(ident.kind, ident.key)].add(person)
    reachable = found = 0
    by_person: dict[str, list[RecordKey]] = defaultdict(list)
    for ref, person in kept:
        by_person[person].append(ref)
    for refs in by_person.values():
        parent = {r: r for r in refs}

        def find(x: RecordKey, parent: dict[RecordKey, RecordKey] = parent) -> RecordKey:
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        seen: dict[tuple[object, str], RecordKey] = {}
        for r in refs:
            for ident in records[r].identifiers:
                value = (ident.kind, ident.key)
                if len(owners[value]) > 1:
                    continue
                if value in seen:
                    parent[find(r)] = find(seen[value])
                else:
                    seen[value] = r
        sizes = Counter(find(r) for r in refs)
        reachable += sum(pairs(n) for n in sizes.values())
        # Of those, the pairs the engine put in one member.
        found += sum(pairs(n) for n in Counter((find(r), member_of[r]) for r in refs).values())
    precision = together / predicted if predicted else 1.0
    recall = found / reachable if reachable else 1.0
    merges = together / (predicted - within) if predicted > within else 1.0
    ceiling = 1 - within / predicted if predicted else 1.0
    return Scores(precision, recall, largest, merges, ceiling)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", nargs="+", choices=sorted(PROFILES), default=sorted(PROFILES))
    args = parser.parse_args()
    print(f"{platform.python_implementation()} {platform.python_version()}, seed {args.seed}")
    head = (
        f"{'profile':<8} {'people':>6} {'lines':>7} {'members':>7} {'prof P':>7} {'(max)':>7}"
        f" {'merge P':>7} {'all P':>7} {'(max)':>7} {'merge P':>7} {'recall':>7} {'recall+':>7}"
        f" {'largest':>7}"
        f" {'crm mix':>7} {'unattr':>6} {'resolve':>7} {'sugg':>5} {'sugg P':>6} {'sugg R':>6}"
    )
    print(head)
    for profile in args.profile:
        for people in args.members:
            r = measure(people, args.seed, profile)
            print(
                f"{r.profile:<8} {r.people:>6} {r.lines:>7} {r.members:>7}"
                f" {r.profiles.precision:>7.4f} {r.profiles.ceiling:>7.4f}"
                f" {r.profiles.merges:>7.4f} {r.everything.precision:>7.4f}"
                f" {r.everything.ceiling:>7.4f} {r.everything.merges:>7.4f}"
                f" {r.everything.recall:>7.4f} {r.recall_all:>7.4f}"
                f" {r.everything.largest:>7} {r.crm_mix:>7}"
                f" {r.unattributed:>6} {r.seconds:>6.2f}s {r.suggested.count:>5}"
                f" {r.suggested.precision:>6.3f} {r.suggested.recall:>6.3f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
