"""One steward accepts a suggestion while another rejects it, in two processes over one
store: the outcome is one of the two orders, on every store adapter (an accept after a
rejection is refused naming it, as a link of other records of the two members is). The reject once read
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

        # One order or the other: the accept stands and the reject was refused as the pair
        # was one member already, or the reject stands and the accept was refused naming it
        after = await one.assignments([SOPHIE, SOPHI])
        held = await one.cannot_links([SOPHIE, SOPHI])
        refused = [a for a in answers if isinstance(a, BaseException)]
        assert len(refused) == 1 and isinstance(refused[0], StewardError), answers
        if after[SOPHIE] == after[SOPHI]:
            assert (refused[0].code, held) == ("ALREADY_MERGED", []), answers
        else:
            assert (refused[0].code, len(held)) == ("WOULD_LIFT_REJECTION", 1), answers


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_reject_landing_during_an_accept_stands_and_the_accept_is_refused(
    kind: str, tmp_path: Path
) -> None:
    # user31b: a steward rejected a pair on one gateway and another, whose page still
    # listed it, accepted it 15 ms later on another: the accept lifted the rejection unsaid.
    async with two_processes(kind, tmp_path) as (one, two):
        await IdentityService(one).ingest(
            [crm("C-SOPHIE", first="Sophie"), crm("C-SOPHI", first="Sophi")]
        )
        # The rejection commits after the accept read the pair, before it writes
        write, rejected = one.apply, []

        async def after_the_rejection(change):  # type: ignore[no-untyped-def]
            if not rejected:
                rejected.append(
                    await reject_suggestion(IdentityService(two), SOPHIE, SOPHI, "two", "s-2")
                )
            return await write(change)

        one.apply = after_the_rejection  # type: ignore[method-assign]
        with pytest.raises(StewardError) as refused:
            await accept_suggestion(IdentityService(one), SOPHIE, SOPHI, "one", "s-1")

        # The rejection stands, and the accept was refused naming it
        assert refused.value.code == "WOULD_LIFT_REJECTION"
        assert "by s-2" in str(refused.value)
        assert len(rejected) == 1
        after = await one.assignments([SOPHIE, SOPHI])
        assert after[SOPHIE] != after[SOPHI]
        assert len(await one.cannot_links([SOPHIE, SOPHI])) == 1
