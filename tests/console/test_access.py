"""The steward console for every person and every key: each control reached by the keyboard
and named for a screen reader, the keyboard following a change through, and personal data
shown exactly as the API answers the key (in a real headless Chromium)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.support import AGENT, STEWARD, Api, find
from tests.support.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

# Every control a person can reach: numbered, so the walk below can say which it reached.
CONTROLS = """() => [...document.querySelectorAll(
    "a[href], button, input, select, textarea, [tabindex]")]
  .filter((e) => e.checkVisibility() && e.tabIndex >= 0 && !e.disabled)
  .map((e, i) => { e.dataset.stop = String(i); return String(i); })"""
HERE = "(document.activeElement || document.body).dataset.stop || null"


def _tab_round(page: Any, first: str, limit: int = 200) -> list[str]:
    """The controls Tab reaches, from ``first`` round to it again."""
    page.focus(first)
    reached = [page.evaluate(HERE)]
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate(HERE)
        if here == reached[0]:
            break
        if here is not None:  # None: past the page's end, in the browser's own controls
            reached.append(here)
    return reached


def _unnamed(page: Any) -> list[str]:
    """Focusable nodes of Chromium's own accessibility tree that have no accessible name."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    session.detach()
    found = []
    for node in nodes:
        props = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
        role = node.get("role", {}).get("value")
        named = (node.get("name") or {}).get("value", "").strip()
        if (
            props.get("focusable")
            and not node.get("ignored")
            and role != "RootWebArea"
            and not named
        ):
            found.append(f"{role} {node.get('backendDOMNodeId')}")
    return found


def _focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.tagName"))


def test_every_control_is_reached_and_named_and_the_keyboard_follows_a_change(
    server: str, api: Api, console: Any
) -> None:
    crossed = api.cross()
    page = console(server, STEWARD)
    find(page, "MEMBER", crossed)
    page.wait_for_selector("#links tbody tr")

    # Every control on the member view is reached by Tab, in one round, and has a name
    controls = page.evaluate(CONTROLS)
    assert len(controls) >= 15  # search, views, picks, link form, history's Undo, graph
    assert set(_tab_round(page, "#kind")) == set(controls)
    assert _unnamed(page) == []

    # When a steward, keyboard only, picks Ann's records and previews their split
    for key in ("C-ANN", "loyalty:LD11110001", "I-ANN-1"):
        page.focus(f"#records tbody tr[data-key='{key}'] .pick-record")
        page.keyboard.press("Space")
    page.focus("#preview-split")
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview:not([hidden]) .member-card")
    assert _focused(page) == "reason"  # the preview asks why at once
    # then cancels: the keyboard is back where it was
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert _focused(page) == "cancel"
    page.keyboard.press("Enter")
    assert page.locator("#preview").is_hidden() and _focused(page) == "preview-split"

    # and previews again, says why and confirms
    page.keyboard.press("Enter")
    page.wait_for_selector("#preview:not([hidden]) .member-card")
    page.keyboard.type("two people: Ann's call was put on Bob's account")
    page.keyboard.press("Tab")
    assert _focused(page) == "confirm"
    page.keyboard.press("Enter")
    page.wait_for_selector("#result:not([hidden]) #undo:not([hidden])")
    # Then the keyboard is on the result, read out, and its Undo is the next stop
    page.wait_for_function("document.activeElement.id === 'result'")
    page.keyboard.press("Tab")
    assert _focused(page) == "undo"
    assert api.member_of("C-ANN")["id"] != api.member_of("C-BOB")["id"]
    assert _unnamed(page) == []
    page.watch.only_here(page)


IDENTIFIERS = """query ($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) {
  identifiers { kind value } profile { firstName lastName } } }"""
ANNS = ("ann.lee@example.org", "+14155550111", "Lee")  # her e-mail, phone and last name


@pytest.mark.parametrize(
    "key", [pytest.param(STEWARD, id="pii-read"), pytest.param(AGENT, id="no-pii-read")]
)
def test_personal_data_is_shown_exactly_as_the_api_answers_the_key(
    server: str, console: Any, key: str
) -> None:
    # Given what the API answers this key about Ann
    asked = Api(server, key)
    answer = asked(IDENTIFIERS, v="C-ANN")["memberByIdentifier"]
    asked.client.close()

    # When the console shows her to the same key
    page = console(server, key)
    find(page, "CRM_ID", "C-ANN")
    page.wait_for_selector("#links tbody tr")
    shown = page.locator("#identifiers tbody tr").evaluate_all(
        "rows => rows.map((r) => [r.cells[0].textContent, r.cells[1].textContent])"
    )

    # Then her identifiers are those, as written there (masked or not), and nothing on the
    # page (text, attributes, the graph's titles) holds more than the answer did
    assert sorted(map(tuple, shown)) == sorted(
        (i["kind"], i["value"]) for i in answer["identifiers"]
    )
    html = page.content()
    given = {i["value"] for i in answer["identifiers"]} | {answer["profile"]["lastName"]}
    for value in ANNS:
        assert (value in html) == (value in given), value
    assert ("+14155550111" in given) == (key == STEWARD)  # the API masks for one key only
    page.watch.only_here(page)
