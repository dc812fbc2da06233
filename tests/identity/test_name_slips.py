"""A card holder's name in the e-mail given with her card, though her contact spells it with
a slip (rules.card_emails_name_slips)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.name_slips import names_one_of_with_slips
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, world

CARD = "LD70000001"


@pytest.mark.parametrize(
    ("email", "words", "named"),
    [
        pytest.param("patriciaanderson46@yahoo.com", ["patriia", "andeerson"], True, id="added"),
        pytest.param("lrodriguez@icloud.com", ["luis", "rodtiguez"], True, id="hit-wrong"),
        pytest.param("karenthompson01@icloud.com", ["karrn", "thomspon"], True, id="swapped"),
        pytest.param("tsmith@gmail.com", ["timothy", "smih"], True, id="short-one-missed"),
        pytest.param("mary969@icloud.com", ["mray", "smith"], True, id="short-swapped"),
        pytest.param("kwilson@acme.com", ["katherine", "wilson"], True, id="as-written"),
        pytest.param("store64602@shop.com", ["tori", "johnson"], False, id="short-hit-wrong"),
        pytest.param("jennifer33@yahoo.com", ["katherine", "wilson"], False, id="another-name"),
        pytest.param("kig@yahoo.com", ["anthony", "kig"], True, id="three-letters-as-written"),
        pytest.param("kinga@icloud.com", ["anthony", "kig"], False, id="three-letters-slipped"),
    ],
)
def test_a_name_word_is_in_an_address_with_one_slip(
    email: str, words: list[str], named: bool
) -> None:
    assert names_one_of_with_slips(email, words) is named


@pytest.mark.parametrize(
    ("channel", "rules", "joined"),
    [
        # At a till (where a cashier's card may carry a guest's e-receipt address) the
        # address is hers by her name in it, slip aside ...
        pytest.param("store", Rules(), True, id="her-name-with-a-slip"),
        pytest.param("store", Rules(card_emails_name_slips=False), False, id="the-rule-off"),
        # ... her card's web order gives it: hers whatever it names (card_web_email_days)
        pytest.param("online", Rules(card_emails_name_slips=False), True, id="on-the-web"),
        pytest.param(
            "online",
            Rules(card_emails_name_slips=False, card_web_email_days=0),
            False,
            id="on-the-web-read-as-at-a-till",
        ),
    ],
)
def test_her_address_given_once_with_her_card_joins_her_orders(
    channel: str, rules: Rules, joined: bool
) -> None:
    # Given Patricia Anderson's contact, spelt "Patriia Andeerson" by a clerk, with an address
    # of her own on file, one purchase on her card under her other address (at a till, or
    # online), and her card-less online orders under it
    given = "patriciaanderson46@yahoo.com"
    patricia = crm(
        "C0000001", first="Patriia", last="Andeerson", emails=["pa.work@acme.com"], card=CARD
    )
    on_card = purchase(card=CARD, email=given, channel=channel, tid="T1")
    orders = purchase(email=given, channel="online", tid="T2")
    result = resolve(world(patricia, on_card, orders), rules)
    member = next(c for c in result.components if patricia.ref in c)
    # Then her card-less orders are hers: the address names her, slip aside
    assert on_card.ref in member
    assert (orders.ref in member) is joined
