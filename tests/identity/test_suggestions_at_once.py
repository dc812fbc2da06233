"""One steward accepts a suggestion while another rejects it, in two processes over one
store: the outcome is one of the two orders, on every store adapter. The reject once read
whether the pair was one member before reading the versions its write is checked against:
an accept landing between the two went unseen, both stewards were told it worked, and the
accepted pair ended apart under a cannot-link."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from membergraph.identity.service import IdentityService
from membergraph.identity.steward_request import StewardError
from membergraph.identity.steward_suggestions import accept_suggestion, reject_suggestion
from tests.identity.builders import crm
from tests.support.stores import ADAPTERS, after_first_read, two_processes

SOPHIE, SOPHI = ("crm", "C-SOPHIE"), ("crm", "C-SOPHI")


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_an_accept_landing_during_a_reject_is_never_parted_by_it(
    kind: str, tmp_path: Path
) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        await IdentityService(one).ingest(
            [crm("C-SOPHIE", first="Sophie"), crm("C-SOPHI", first="Sophi")]
        )
        accepted = asyncio.Event()
        # The rejecting process's first read of the pair's members: the accept lands now
        after_first_read(two, "assignments", accepted.wait)

        async def accept() -> list[str]:
            try:
                return await accept_suggestion(IdentityService(one), SOPHIE, SOPHI, "one", "s-1")
            finally:
                accepted.set()

        answers = await asyncio.gather(
            accept(),
            reject_suggestion(IdentityService(two), SOPHIE, SOPHI, "two people", "s-2"),
            return_exceptions=True,
        )

        # The accept stands: the reject came first (the link lifted its cannot-link) or was
        # refused as the pair was one member already
        after = await one.assignments([SOPHIE, SOPHI])
        assert after[SOPHIE] == after[SOPHI], answers
        assert await one.cannot_links([SOPHIE, SOPHI]) == []
        refused = [a for a in answers if isinstance(a, BaseException)]
        assert refused == [] or (
            len(refused) == 1
            and isinstance(refused[0], StewardError)
            and refused[0].code == "ALREADY_MERGED"
        ), answers
