"""Does a restart over an already-loaded store cost the same whatever the data size?

    python benchmarks/restart.py                         # 500, 5,000 and 20,000 people
    python benchmarks/restart.py --members 500,5000,20000,77000 --cache /tmp/mg-demo

For each size: the demo data set is generated once (kept in ``--cache``, by default a
temporary folder), then ``membergraph serve --data DIR --store sqlite:///X.db`` is started on
127.0.0.1 over a fresh store to do the first load (timed until ``/readyz`` answers 200) and
stopped. It is then started again ``--restarts`` times over the same store and folder; each
time the benchmark measures the seconds from the process's start until ``/readyz`` answers
200 (and the CPU seconds the server spent until then, from ``/proc``: on a shared machine
they move less with the minute than the seconds do), and the server's resident memory (``VmRSS`` of the process and its children, from
``/proc``) right after ready, after ``--queries`` profile reads (``memberByIdentifier`` by the
e-mail of a real CRM contact, one at a time) and, unless ``--no-scores``, after one question
for the member's scores (``rfm`` and ``segments``, and ``segmentCounts``: read from the
metrics the store keeps, ranked by the database; the server's
``MEMBERGRAPH_REQUEST_TIMEOUT`` is raised to 300 s in case a question is slow).

Prints one row per size (the median over the restarts) and each size's ratios to the
smallest. Issue 18's target: a restart over 20,000 people takes at most 1.5 times the
seconds and 1.5 times the memory of one over 500.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from mixed_load import machine
from profile_query import QUERY as READ
from profile_query import free_port, unique_emails
from soak import rss_mb

SCORES = """query Scores($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id rfm { recency frequency monetary engagement } segments
  }
  segmentCounts { segment members }
}"""


@dataclass
class Start:
    seconds: float  # from the process's start to the first 200 from /readyz
    rss_ready: float  # MB
    cpu: float = 0.0  # CPU seconds the server spent until then (all its threads)
    rss_reads: float = 0.0
    rss_scores: float = 0.0
    scores_seconds: float = 0.0


@dataclass
class Row:
    people: int
    lines: int
    members: int
    first: Start
    restarts: list[Start]

    def median(self, field: str) -> float:
        return statistics.median(getattr(start, field) for start in self.restarts)


def demo_folder(cache: Path, people: int, seed: int) -> Path:
    """The demo data set of ``people``, generated once into ``cache``."""
    folder = cache / f"demo-{people}-seed{seed}"
    if not (folder / "truth.jsonl").exists():
        command = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out", str(folder)]
        subprocess.run(
            [*command, "--members", str(people), "--seed", str(seed)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return folder


def emails_of(folder: Path, count: int) -> list[str]:
    """E-mails of real CRM contacts, each typed on one contact only (not a placeholder), in
    the contacts' newest versions, spread over the file: the same ones every run."""
    emails = unique_emails(folder)
    step = max(1, len(emails) // count)
    return emails[::step][:count]


def line_count(folder: Path) -> int:
    return sum(
        path.read_bytes().count(b"\n")
        for path in folder.glob("*.jsonl")
        if path.name != "truth.jsonl"
    )


@contextlib.contextmanager
def served(folder: Path, store: Path, log: Path) -> Iterator[tuple[str, int, float]]:
    """``membergraph serve`` over ``folder`` and ``store``: (base URL, pid, seconds to ready)."""
    port = free_port()
    env = {**os.environ, "MEMBERGRAPH_HOST": "127.0.0.1", "MEMBERGRAPH_REQUEST_TIMEOUT": "300"}
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--data", str(folder)]
    command += ["--store", f"sqlite:///{store}", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        started = time.perf_counter()
        server = subprocess.Popen(
            [*command, "--no-open"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5) as probe:
            deadline = time.monotonic() + 1800
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"serve ended: {log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(base + "/readyz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not become ready")
                time.sleep(0.02)
        yield base, server.pid, time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system, every thread) ``pid`` has spent: on a shared machine
    the seconds to ready depend on the minute, these much less."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def graphql(client: httpx.Client, base: str, query: str, email: str) -> dict[str, object]:
    answer = client.post(base + "/graphql", json={"query": query, "variables": {"value": email}})
    payload = answer.json()
    if answer.status_code != 200 or payload.get("errors"):
        raise RuntimeError(f"{answer.status_code} {answer.text[:300]}")
    member = payload["data"]["memberByIdentifier"]
    if member is None:
        raise RuntimeError(f"no member for {email}")
    return member  # type: ignore[no-any-return]


def measure(
    people: int, cache: Path, work: Path, seed: int, restarts: int, queries: int, scores: bool
) -> Row:
    folder = demo_folder(cache, people, seed)
    emails = emails_of(folder, queries)
    store, log = work / f"restart-{people}.db", work / f"serve-{people}.log"
    for leftover in work.glob(f"restart-{people}.db*"):
        leftover.unlink()
    with served(folder, store, log) as (base, pid, seconds):
        first = Start(seconds, rss_mb(pid), cpu_seconds(pid))
        # Counting a large store on a busy machine can take longer than httpx's 5 s.
        members = int(httpx.get(base + "/readyz", timeout=120).json()["store"].get("members", 0))
    done = []
    for _ in range(restarts):
        with served(folder, store, log) as (base, pid, seconds), httpx.Client(timeout=600) as c:
            start = Start(seconds, rss_mb(pid), cpu_seconds(pid))
            for email in emails:
                graphql(c, base, READ, email)
            start.rss_reads = rss_mb(pid)
            if scores:
                asked = time.perf_counter()
                graphql(c, base, SCORES, emails[0])
                start.scores_seconds = time.perf_counter() - asked
                start.rss_scores = rss_mb(pid)
            done.append(start)
    return Row(people, line_count(folder), members, first, done)


def report(rows: list[Row], queries: int, scores: bool) -> None:
    head = (
        "| people | lines | members | first load s | first load CPU s | restart s"
        f" | restart CPU s | RSS ready MB | after {queries} reads MB |"
    )
    rule = "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    if scores:
        head += " after scores MB | scores s |"
        rule += " ---: | ---: |"
    print(head)
    print(rule)
    for row in rows:
        cells = [
            f"{row.people:,}",
            f"{row.lines:,}",
            f"{row.members:,}",
            f"{row.first.seconds:.2f}",
            f"{row.first.cpu:.2f}",
            f"{row.median('seconds'):.2f}",
            f"{row.median('cpu'):.2f}",
            f"{row.median('rss_ready'):.0f}",
            f"{row.median('rss_reads'):.0f}",
        ]
        if scores:
            cells += [f"{row.median('rss_scores'):.0f}", f"{row.median('scores_seconds'):.2f}"]
        print("| " + " | ".join(cells) + " |")
    small = rows[0]
    for large in rows[1:]:
        ratios = [
            f"{what} {large.median(field) / small.median(field):.2f}x"
            for field, what in (
                ("seconds", "restart seconds"),
                ("cpu", "restart CPU seconds"),
                ("rss_ready", "RSS at ready"),
                ("rss_reads", f"RSS after {queries} reads"),
            )
        ]
        print(f"{large.people:,} / {small.people:,} people: " + ", ".join(ratios))
    print("issue 18's target: at most 1.5x for 20,000 people against 500")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", default="500,5000,20000", help="sizes, comma-separated")
    parser.add_argument("--cache", type=Path, help="folder keeping the generated data sets")
    parser.add_argument("--restarts", type=int, default=3, help="restarts per size (median)")
    parser.add_argument("--queries", type=int, default=200, help="profile reads after ready")
    parser.add_argument("--no-scores", action="store_true", help="skip the scores question")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.members.split(","))
    scores = not args.no_scores
    print(
        f"machine: {machine()}; restarts per size: {args.restarts}, {args.queries} profile "
        f"reads{', then one scores question' if scores else ''}, 1 uvicorn worker; load"
        f" average (1/5/15 min) {load_average()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp) / "data"
        cache.mkdir(parents=True, exist_ok=True)
        rows = []
        for people in sizes:
            rows.append(
                measure(people, cache, Path(tmp), args.seed, args.restarts, args.queries, scores)
            )
            first = rows[-1].first
            print(
                f"{people:,} people: first load {first.seconds:.2f} s ({first.cpu:.2f} s CPU);"
                " restarts "
                + ", ".join(f"{s.seconds:.2f} s / {s.rss_ready:.0f} MB" for s in rows[-1].restarts)
                + f"; load average {load_average()}",
                flush=True,
            )
    report(rows, args.queries, scores)
    print(f"load average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
