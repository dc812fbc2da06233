"""Identity quality on the demo generator's ground truth.

    python benchmarks/identity_quality.py --members 5000 --seed 7

Prints pairwise precision and recall over profile records and over all records, the number
of members that mix people, the largest mix, and whether any member holds two people's CRM
contacts. Recall is against what a perfect deterministic resolver could reach: pairs of
records of one person connected through identifier values that no other person carries.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson

from membergraph.connectors.files import FileConnector
from membergraph.connectors.sources import SOURCES
from membergraph.demo import write_demo_data
from membergraph.identity.engine import resolve
from membergraph.identity.load import collect_records, owner_key


def pairs(groups: dict[object, list[str]]) -> int:
    return sum(len(g) * (len(g) - 1) // 2 for g in groups.values())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_demo_data(folder, args.members, args.seed)
        truth_line = {}
        for raw in (folder / "truth.jsonl").read_bytes().splitlines():
            row = orjson.loads(raw)
            truth_line[(row["source"], row["id"])] = row["person"]
        lines = []
        record_person: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        for spec in SOURCES.values():
            conn = FileConnector(spec, folder, lambda line, s=spec.name: owner_key(s, line))
            conn.load()
            for line in conn.lines():
                lines.append((spec.name, line))
                key = owner_key(spec.name, line)
                record_person[(spec.name.value, key)][
                    truth_line[(spec.name.value, getattr(line, spec.id_field))]
                ] += 1
    records = collect_records(lines)
    started = time.perf_counter()
    result = resolve(records)
    elapsed = time.perf_counter() - started
    # A record's true person is the majority of its lines' (a shared computer has two).
    person_of = {ref: counts.most_common(1)[0][0] for ref, counts in record_person.items()}

    def score(keep) -> tuple[float, float, int, int]:
        by_member, by_person = defaultdict(list), defaultdict(list)
        for index, comp in enumerate(result.components):
            for ref in comp:
                if keep(ref):
                    by_member[index].append(ref)
                    by_person[person_of[ref]].append(ref)
        true_pos = 0
        mixed, largest = 0, 0
        for refs in by_member.values():
            people = Counter(person_of[r] for r in refs)
            true_pos += sum(n * (n - 1) // 2 for n in people.values())
            if len(people) > 1:
                mixed += 1
                largest = max(largest, len(people))
        predicted = pairs(by_member)
        reachable = reachable_pairs(by_person, keep)
        precision = true_pos / predicted if predicted else 1.0
        recall = true_pos / reachable if reachable else 1.0
        return precision, recall, mixed, largest

    # Which people carry each identifier value: a value on one person's records only is
    # what a perfect deterministic resolver could link on. What an agent typed is a claim,
    # not ownership: a mistyped card does not make the card someone else's.
    owners: dict[tuple[object, str], set[str]] = defaultdict(set)
    for ref, record in records.items():
        for ident in record.identifiers:
            if ident.via != "agent":
                owners[(ident.kind, ident.key)].add(person_of[ref])

    def reachable_pairs(by_person, keep) -> int:
        # Pairs of one person's records connected through values only that person carries.
        total = 0
        for refs in by_person.values():
            parent = {r: r for r in refs}

            def find(x, parent=parent):
                while parent[x] != x:
                    parent[x] = parent[parent[x]]
                    x = parent[x]
                return x

            seen = {}
            for r in refs:
                for ident in records[r].identifiers:
                    k = (ident.kind, ident.key)
                    if len(owners[k]) > 1:
                        continue
                    if k in seen:
                        parent[find(r)] = find(seen[k])
                    else:
                        seen[k] = r
            sizes = Counter(find(r) for r in refs)
            total += sum(n * (n - 1) // 2 for n in sizes.values())
        return total

    profile = score(lambda ref: records[ref].role == "profile")
    everything = score(lambda ref: True)
    crm_mix = sum(
        1 for comp in result.components if len({person_of[r] for r in comp if r[0] == "crm"}) > 1
    )
    print(
        f"people {args.members}, seed {args.seed}: {len(lines)} lines, {len(records)} records, "
        f"{len(result.components)} members, resolved in {elapsed:.2f} s"
    )
    print(f"{'scope':<10} {'precision':>10} {'recall':>8} {'mixed':>6} {'largest':>8}")
    for name, (p, r, mixed, largest) in (("profile", profile), ("all", everything)):
        print(f"{name:<10} {p:>10.4f} {r:>8.4f} {mixed:>6} {largest:>8}")
    print(f"members holding two people's CRM contacts: {crm_mix}")
    print(f"conflicts for stewards: {len(result.conflicts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
