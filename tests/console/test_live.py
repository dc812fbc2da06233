"""The member on screen follows ``memberChanged`` (in a real headless Chromium): a fact that
arrives while a steward prepares a split shows at once, and the work in hand survives it; a
gateway restarted under the page is followed again, without a reload, from the last change
the page saw: the changes missed meanwhile are named and shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from membergraph.app import create_app
from tests.api.test_call_center_story import ANN, _tx
from tests.console.support import ANNS, STEWARD, Api, find, preview_split_of_ann, settings_for
from tests.support.browser import NEEDS_CHROMIUM
from tests.support.http import free_port, serving

pytestmark = NEEDS_CHROMIUM


def test_a_purchase_arriving_keeps_the_stewards_picks_and_preview(
    server: str, api: Api, console: Any
) -> None:
    # Given a steward who picked Ann's records on the crossed member, previewed the split and
    # started to say why
    crossed = api.cross()
    page = console(server, STEWARD)
    preview_split_of_ann(page, crossed)

    # When a purchase on Ann's card arrives from the till
    api.ingest("transactions", _tx("T-A1", "LD11110001"))

    # Then the page says what happened, from where, and shows it without a reload
    page.wait_for_selector("#live:not([hidden])")
    assert "PURCHASE_RECORDED from TRANSACTIONS T-A1" in page.inner_text("#live")
    card = "#records tbody tr[data-key='loyalty:LD11110001']"
    page.wait_for_selector(f"{card} >> text=2 purchase(s), 20 points")
    # and keeps the steward's work: the picks, the preview (made again: Ann's side now holds
    # both purchases) and the reason typed so far
    picked = page.locator(".pick-record:checked").evaluate_all(
        "boxes => boxes.map((b) => b.closest('tr').dataset.key)"
    )
    assert sorted(picked) == sorted(ANNS)
    page.wait_for_selector("#preview-members >> text=2 purchase(s)")
    assert page.locator("#preview").is_visible()
    assert page.input_value("#reason") == "two people"

    # And Confirm does what the preview shows
    page.click("#confirm")
    page.wait_for_selector("#result:not([hidden])")
    ann = api.member_of("C-ANN")
    assert {r["key"] for r in ann["records"]} == set(ANNS)
    assert ann["id"] != api.member_of("C-BOB")["id"]
    page.watch.only_here(page)


def test_the_page_resumes_after_a_restart_and_shows_what_it_missed(
    tmp_path: Path, console: Any
) -> None:
    # Given Ann on screen, followed live
    settings, port = (
        settings_for(tmp_path, crm=[ANN], transactions=[_tx("T-A0", "LD11110001")]),
        free_port(),
    )
    card = "#records tbody tr[data-key='loyalty:LD11110001']"
    with serving(create_app(settings), port) as address:
        page = console(address, STEWARD)
        find(page, "CRM_ID", "C-ANN")
        page.wait_for_selector(f"{card} >> text=1 purchase(s), 10 points")
    # When the gateway stops under the page, and a purchase arrives meanwhile (through
    # another gateway process over the same store)
    page.wait_for_selector("#live >> text=Live updates lost")
    with serving(create_app(settings)) as other:
        api = Api(other)
        api.ingest("transactions", _tx("T-A1", "LD11110001"))
        api.client.close()
    # Then the page, back on its gateway, resumes from the last change it saw: it names the
    # purchase it missed and shows it, not reloaded
    with serving(create_app(settings), port) as again:
        page.wait_for_selector("#live >> text=Missed while down")
        assert "PURCHASE_RECORDED from TRANSACTIONS T-A1" in page.inner_text("#live")
        page.wait_for_selector(f"{card} >> text=2 purchase(s), 20 points")
        # and goes on following live: a purchase made now shows too
        api = Api(again)
        api.ingest("transactions", _tx("T-A2", "LD11110001"))
        api.client.close()
        page.wait_for_selector(f"{card} >> text=3 purchase(s), 30 points")
        assert "Changed just now: PURCHASE_RECORDED from TRANSACTIONS T-A2" in page.inner_text(
            "#live"
        )
        assert len(page.watch.sockets) >= 2
        page.watch.only_here(page)


def test_a_purchase_that_moves_the_tier_is_named_with_the_tier_it_reached(
    server: str, api: Api, console: Any
) -> None:
    # Given Ann on screen, followed live (BRONZE: one purchase of 10.00)
    page = console(server, STEWARD)
    find(page, "CRM_ID", "C-ANN")

    # When a purchase from the till lifts her spend past SILVER's 500.00: one update, two
    # changes (the purchase, then the tier it moved)
    api.ingest("transactions", {**_tx("T-A1", "LD11110001"), "amount_cents": 60_000})

    # Then the banner names both, readably: the purchase with its source line, the tier with
    # the tier reached, no empty "from — —"
    page.wait_for_selector("#summary >> text=SILVER")
    page.wait_for_selector("#live >> text=TIER_CHANGED")
    live = page.inner_text("#live")
    assert "PURCHASE_RECORDED from TRANSACTIONS T-A1" in live
    assert "TIER_CHANGED: now SILVER" in live and "—" not in live
    page.watch.only_here(page)
