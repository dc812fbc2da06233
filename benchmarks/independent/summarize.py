"""One table of the headline figures of every evaluation in a results folder.

Usage: python summarize.py RESULTS_DIR [RESULTS_DIR ...]  (the folders run_all.sh writes)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = [
    ("profile precision", lambda r: pct(r["profile_precision"])),
    ("all-record precision", lambda r: pct(r["line_precision"])),
    ("all-record precision, shared-visitor events aside",
     lambda r: pct(r["line_precision_without_shared_visitors"])),
    ("achievable recall, profiles", lambda r: pct(r["recall"]["exact"]["profile_recall"])),
    ("achievable recall, profiles (+ name/birth-only CRM pairs)",
     lambda r: pct(r["recall"]["exact_or_profile"]["profile_recall"])),
    ("achievable recall, lines", lambda r: pct(r["recall"]["exact"]["line_recall"])),
    ("largest member: people", lambda r: f"{r['largest_member']['people']:,}"),
    ("CRM mix members", lambda r: f"{r['crm_mix_members']:,}"),
    ("members with more than 4 people", lambda r: f"{r['members_over_4_people']:,}"),
    ("unattributed line keys", lambda r: f"{r['unattributed_keys']:,}"),
    ("of them with an identifier of their own person",
     lambda r: f"{r['unattributed_by_truth'].get('had an identifier of its own person', 0):,}"),
    ("malformed lines", lambda r: f"{r['error_lines']:,}"),
    ("members", lambda r: f"{r['members']:,}"),
    ("resolve seconds", lambda r: f"{r['resolve_seconds']:.0f}" if r.get("resolve_seconds") else "-"),
]


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def main() -> None:
    runs = []
    for folder in sys.argv[1:]:
        for j in sorted(Path(folder).glob("*.json")):
            runs.append((f"{Path(folder).name}/{j.stem}", json.loads(j.read_text())))
    print("| figure | " + " | ".join(name for name, _ in runs) + " |")
    print("| --- | " + " | ".join("---:" for _ in runs) + " |")
    for label, f in ROWS:
        print(f"| {label} | " + " | ".join(f(r) for _, r in runs) + " |")


if __name__ == "__main__":
    main()
