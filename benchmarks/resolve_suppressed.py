"""What honouring suppressions costs ``membergraph resolve``: the same folder resolved into
the store that holds it (a nightly re-run), with nothing suppressed and with some people
erased (their e-mails, phones and cards suppressed, as an erasure does).

    python benchmarks/resolve_suppressed.py --members 5000 --suppressed 10

With nothing suppressed the run is what it was (the suppressions are not read); with any,
every source is read one part per line identity and each part's identifiers are hashed
and looked up once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import tempfile
import time
from pathlib import Path

import orjson

from membergraph.demo import write_demo_data
from membergraph.identity.batch import resolve_folder
from membergraph.identity.normalize import IdentifierKind, normalize
from membergraph.identity.records import identifier_key
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import open_privacy
from membergraph.privacy.gate import suppressing
from membergraph.settings import Settings


def people(folder: Path, count: int) -> list[tuple[IdentifierKind, str]]:
    """The e-mails, phones and cards of the first ``count`` CRM contacts."""
    found: list[tuple[IdentifierKind, str]] = []
    with (folder / "crm.jsonl").open("rb") as handle:
        for line, _ in zip(handle, range(count), strict=False):
            contact = orjson.loads(line)
            raw = [(IdentifierKind.EMAIL, e) for e in contact.get("emails") or []]
            raw += [(IdentifierKind.PHONE, p) for p in contact.get("phones") or []]
            if contact.get("loyalty_id"):
                raw.append((IdentifierKind.LOYALTY_ID, contact["loyalty_id"]))
            for kind, value in raw:
                try:
                    found.append((kind, identifier_key(kind, normalize(kind, value, "US"))))
                except ValueError:
                    continue
    return found


async def timed(
    folder: Path, store: SqliteStore, out: Path, settings: Settings
) -> tuple[float, int]:
    began = time.perf_counter()
    privacy = await suppressing(store, settings)
    refuse = None if privacy is None else privacy.suppressor.refused
    result = await resolve_folder(folder, out, store, refuse=refuse)
    return time.perf_counter() - began, result.suppressed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--suppressed", type=int, default=10, help="people suppressed")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "data", Path(tmp) / "members.jsonl"
        write_demo_data(folder, args.members, args.seed)
        settings = Settings(privacy_secret="x" * 32)  # type: ignore[arg-type]
        async with SqliteStore(str(Path(tmp) / "store.db")) as store:
            await resolve_folder(folder, out, store)  # the first load
            plain, _ = await timed(folder, store, out, settings)
            privacy = await open_privacy(store, settings)
            await privacy.suppressor.suppress(people(folder, args.suppressed), "bench")
            screened, lines = await timed(folder, store, out, settings)
    print(
        f"people {args.members}: re-run {plain:.2f} s with nothing suppressed, "
        f"{screened:.2f} s with {args.suppressed} people suppressed ({lines} lines left out)"
    )


if __name__ == "__main__":
    asyncio.run(main())
