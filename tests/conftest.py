"""Shared fixtures: a small demo data set and a gateway served over the Starlette test client."""

from __future__ import annotations

import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings

DEMO_PEOPLE = 150

# Property tests: 100 sequences each by default; HYPOTHESIS_PROFILE=thorough runs 2,000.
# No per-example deadline: on a shared or slow CI machine an example's time says nothing
# about the property, and a deadline only turns load into flaky failures. "too_slow" is a
# health check of the same kind.
_PATIENT = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
hypothesis_settings.register_profile("default", max_examples=100, **_PATIENT)
hypothesis_settings.register_profile("thorough", max_examples=2000, **_PATIENT)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def demo_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo data set written once per session (never modified: copy it to write)."""
    folder = tmp_path_factory.mktemp("demo")
    write_demo_data(folder, DEMO_PEOPLE, seed=11)
    return folder


@pytest.fixture
def data_dir(demo_source: Path, tmp_path: Path) -> Path:
    """A writable copy of the demo data set."""
    folder = tmp_path / "data"
    shutil.copytree(demo_source, folder)
    return folder


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        data=data_dir, store=f"sqlite:///{tmp_path / 'identity.db'}", cache_dir=tmp_path / "cache"
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The gateway over HTTP, started through its real lifespan."""
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


# The personalization service's profile (benchmarks/profile_query.py).
PROFILE = """query Profile($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id
    profile { firstName lastName emails { value } phones { value } }
    loyalty { pointsBalance tier lifetimeSpendCents }
    transactions(first: 5) { edges { node { occurredAt amountCents status } } }
  }
}"""


def gql(client: TestClient, query: str, **variables: object) -> dict[str, object]:
    """POST a GraphQL query; return the decoded JSON answer."""
    response = client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def contact_emails(data: Path, count: int) -> list[str]:
    """The first e-mail of the first ``count`` contacts of a folder that have one no other
    contact gives and no card's purchase carries, each contact's newest version read (the demo exports some contacts' older version too, and an
    e-mail a newer version dropped finds no one; its broken lines skipped)."""
    newest: dict[object, dict[str, object]] = {}
    with (data / "crm.jsonl").open("rb") as lines:
        for line in lines:
            try:
                contact = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(contact, dict):
                continue
            held = newest.get(contact.get("contact_id"))
            if held is None or str(contact.get("updated_at")) > str(held.get("updated_at")):
                newest[contact.get("contact_id")] = contact
    emails = [str(c["emails"][0]) for c in newest.values() if c.get("emails")]  # type: ignore[index]
    # One typed on two contacts (a household's, a shared placeholder) may find no one; so
    # may one typed on a purchase of a card (the card's account may be another member's,
    # who holds it alike: AMBIGUOUS_IDENTIFIER).
    typed = Counter(e.strip().lower() for c in newest.values() for e in c.get("emails") or ())  # type: ignore[attr-defined]
    on_cards = set()
    with (data / "transactions.jsonl").open("rb") as lines:
        for line in lines:
            try:
                sale = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(sale, dict) and sale.get("loyalty_id") and sale.get("email"):
                on_cards.add(str(sale["email"]).strip().lower())
    once = [e for e in emails if typed[e.strip().lower()] == 1]
    return [e for e in once if e.strip().lower() not in on_cards][:count]


def current_contacts(path: Path) -> list[dict[str, object]]:
    """A CRM file's contacts as its API lists them: each contact's newest version once (the
    demo exports some contacts' older version too)."""
    newest: dict[object, dict[str, object]] = {}
    for contact in read_jsonl(path):
        held = newest.get(contact.get("contact_id"))
        if held is None or str(contact.get("updated_at")) > str(held.get("updated_at")):
            newest[contact.get("contact_id")] = contact
    return list(newest.values())


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the run with pytest's own status once everything is reported.

    One full run in about five on this machine (2026-12-03) passed every test and then died
    with SIGSEGV in the interpreter's teardown (exit 139), after the summary: a C
    extension's thread outliving the interpreter. The cause is not found yet; the result is
    decided and printed by then, so the run ends here rather than let the teardown decide it.
    """
    if _EXIT_STATUS and os.environ.get("MEMBERGRAPH_TEST_FULL_TEARDOWN") != "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[-1])
