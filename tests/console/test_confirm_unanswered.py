"""A Confirm that gets no answer (in a real headless Chromium, over a real gateway): the page
says the change may or may not have been made, then, once the gateway answers, reads the
member and says which; sent again, the change is made once."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from membergraph.app import create_app
from tests.api.test_call_center_story import ANN, BOB, CALL, _tx
from tests.console.support import ANNS, STEWARD, Api, preview_split_of_ann, settings_for
from tests.support.browser import NEEDS_CHROMIUM
from tests.support.http import free_port, serving

pytestmark = NEEDS_CHROMIUM
UNSURE = "The split may or may not have been made"
HISTORY = """query ($id: ID!) { member(id: $id) { identityHistory { kind rule } } }"""


def _splits(api: Api, member: str) -> int:
    history = api(HISTORY, id=member)["member"]["identityHistory"]
    return sum(e["kind"] == "steward" and e["rule"] == "split" for e in history)


def test_a_confirm_sent_while_the_gateway_is_down_is_said_not_made(
    tmp_path: Path, console: Any
) -> None:
    # Given a steward's split previewed on the member an agent crossed
    settings = settings_for(
        tmp_path, crm=[ANN, BOB], transactions=[_tx("T-A0", "LD11110001")], call_center=[CALL]
    )
    port = free_port()
    with serving(create_app(settings), port) as address:
        agent = Api(address)
        crossed = agent.cross()
        agent.client.close()
        page = console(address, STEWARD)
        preview_split_of_ann(page, crossed)
    # When the gateway is gone as she presses Confirm
    page.wait_for_selector("#live >> text=Live updates lost")
    page.click("#confirm")
    # Then the page says the split may or may not have been made, not only that it failed
    page.wait_for_selector(f"#message >> text={UNSURE}")
    assert "could not be reached" in page.inner_text("#message")
    with serving(create_app(settings), port) as again:
        # and once the gateway answers, says which: not made; the preview stays to send again
        page.wait_for_selector("#message >> text=The split was not made")
        assert UNSURE not in page.inner_text("#message")
        assert page.locator("#preview").is_visible()
        api = Api(again)
        assert api.member_of("C-ANN")["id"] == api.member_of("C-BOB")["id"]
        page.click("#confirm")
        page.wait_for_selector("#result:not([hidden]) >> text=split done")
        ann = api.member_of("C-ANN")
        assert {r["key"] for r in ann["records"]} == set(ANNS)
        assert ann["id"] != api.member_of("C-BOB")["id"]
        api.client.close()
        page.watch.only_here(page)


def test_a_confirm_whose_answer_is_lost_is_said_made(server: str, api: Api, console: Any) -> None:
    # Given a steward's split previewed on the member an agent crossed
    crossed = api.cross()
    page = console(server, STEWARD)
    preview_split_of_ann(page, crossed)

    # When Confirm reaches the gateway, which makes the split, and its answer is lost on the
    # way back (a connection reset, a client's timeout)
    def lose_the_answer(route: Any) -> None:
        body = route.request.post_data or ""
        if "splitMember" in body and "dryRun: false" in body:
            # (as the browser sends it: its HTTP Basic key, which route.fetch does not add)
            basic = base64.b64encode(f"steward:{STEWARD}".encode()).decode()
            made = route.fetch(headers={**route.request.headers, "authorization": f"Basic {basic}"})
            assert made.status == 200 and "errors" not in made.json()  # the gateway made it
            route.abort("connectionreset")  # the page never hears it
        else:
            route.fallback()

    page.route("**/graphql", lose_the_answer)
    page.click("#confirm")
    page.wait_for_selector(f"#message >> text={UNSURE}")
    page.unroute("**/graphql", lose_the_answer)
    # Then the page reads the member and says the split was made, naming its event
    page.wait_for_selector("#result:not([hidden]) >> text=split made after all")
    assert "event" in page.inner_text("#result-what")
    assert UNSURE not in page.inner_text("#message")
    assert page.locator("#preview").is_hidden()
    ann = api.member_of("C-ANN")
    assert {r["key"] for r in ann["records"]} == set(ANNS)
    assert ann["id"] != api.member_of("C-BOB")["id"]
    assert _splits(api, ann["id"]) == 1  # made once
    page.watch.only_here(page)
