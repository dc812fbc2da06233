"""Whether a profile's placeholder check agrees with resolution, value by value.

    python benchmarks/placeholder_agreement.py --data DIR [--data DIR ...]

For each folder of source files (the demo's, or the independent generator's): the folder
resolved into a fresh SQLite store (``membergraph resolve``), then every e-mail and phone
the records carry weighed as a profile weighs it (``placeholders.revealed_placeholders``,
reading the store) and as resolution does (the engine's status of the value: ``hub`` or
``blocked``). Prints how many values each holds a placeholder and how many they disagree
on, with up to ten of those. A disagreement is a value resolution links members on that a
profile hides as a placeholder, or the other way round.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from membergraph.identity.batch import resolve_folder
from membergraph.identity.engine import resolve
from membergraph.identity.placeholders import CONTACT_KINDS, revealed_placeholders
from membergraph.identity.rules import Rules
from membergraph.identity.store.sqlite import SqliteStore


async def agreement(data: Path) -> None:
    rules = Rules()
    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteStore(str(Path(tmp) / "store.db")) as store:
            await resolve_folder(data, Path(tmp) / "answer.jsonl", store, rules)
            status = resolve(await store.load_records(None), rules).value_status
            values = [v for v in status if v[0] in CONTACT_KINDS]
            revealed = await revealed_placeholders(store, rules, values)
    counts: Counter[tuple[bool, bool]] = Counter()
    differ = []
    for value in values:
        engine = status[value] in ("hub", "blocked")
        profile = value in revealed or rules.is_junk(*value)
        counts[(engine, profile)] += 1
        if engine != profile:
            differ.append((value[0].value, value[1], status[value], profile))
    print(
        f"{data}: {len(values):,} e-mails and phones; placeholders by resolution "
        f"{counts[(True, True)] + counts[(True, False)]:,}, by the profile check "
        f"{counts[(True, True)] + counts[(False, True)]:,}; disagree on {len(differ):,}"
    )
    for kind, key, engine_status, profile in differ[:10]:
        print(f"  {kind} {key}: resolution {engine_status}, profile placeholder {profile}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, action="append", required=True)
    for data in parser.parse_args().data:
        asyncio.run(agreement(data))


if __name__ == "__main__":
    main()
